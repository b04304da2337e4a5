"""A school's own policy, end to end: the daemon refuses a post citing the school's clause (its
id in the audit log, its words in the refusal), and records acceptance under the school's ids."""

from __future__ import annotations

import shutil
from pathlib import Path

from config.settings import ClauseSettings, PolicySettings
from policies.clauses import DEFAULT_RULES
from tests.daemon.harness import StewardUnderTest

SAMPLE_ROSTER = Path(__file__).resolve().parent.parent / "samples" / "roster.csv"
OAKFIELD = PolicySettings(
    clauses=[ClauseSettings(id="oakfield.names", title="Children are never named in full",
                            text="We never publish a child's first name with their surname.",
                            source="Oakfield Primary School online safety policy, 4.2"),
             ClauseSettings(id="oakfield.leaders", title="Leaders approve every post",
                            text="Every post is approved by a member of the leadership team.",
                            source="Oakfield Primary School online safety policy, 3.1")],
    rules={rule: "oakfield.leaders" for rule in DEFAULT_RULES} | {"pupil-names": "oakfield.names"})


def oakfield_steward(tmp_path: Path) -> StewardUnderTest:
    steward = StewardUnderTest(tmp_path)
    steward.settings = steward.settings.model_copy(update={"policy": OAKFIELD})
    steward.start()
    return steward


def test_a_refusal_cites_the_school_s_own_clause(tmp_path):
    steward = oakfield_steward(tmp_path)
    try:
        shutil.copy(SAMPLE_ROSTER, steward.state_dir / "roster.csv")
        steward.post("star-of-the-week", "Star of the week: #MaryJaneMcDonald!")
        report = steward.wait_for_refusal("star-of-the-week")
        [refusal] = steward.events_named("submission.refused")
    finally:
        steward.stop()
    assert ('Policy: Oakfield Primary School online safety policy, 4.2: "We never publish a '
            'child\'s first name with their surname."') in report
    assert "St Mary" not in report and "Twitter" not in report
    assert refusal["rules"] == ["pupil-names"] and refusal["clauses"] == ["oakfield.names"]


def test_an_accepted_post_is_recorded_under_the_school_s_clause(tmp_path):
    steward = oakfield_steward(tmp_path)
    try:
        steward.post("welcome", "Welcome back, everyone!", publish_at=steward.soon(60))
        assert steward.service.wait_until(lambda: steward.events_named("submission.accepted"),
                                          10)
        [accepted] = steward.events_named("submission.accepted")
    finally:
        steward.stop()
    assert accepted["clause"] == "oakfield.leaders"
