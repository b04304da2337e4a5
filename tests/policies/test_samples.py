"""Every rule has sample posts that must be refused and samples that must be accepted
(fail2ban's samples test): `tests/samples/<rule>/must-refuse/<case>/` and `.../must-accept/`.

A rule without both kinds of sample fails here, so no rule ships untested. A sample may carry a
`context.toml` to set what the daemon would have established or the school configured:
`valid_signers`, `approvals_required`, `approval_problems`, `allow_initials`,
`allow_first_names`, `school_contact_details`, `allow_domains`, `deny_domains`,
`no_consent_register`, `faces`. Every sample is judged against the invented roster and consent register
in `tests/samples/roster.csv` and `consent.csv`.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.posts.face_detection import face_detector
from daemon.posts.reading import read_submission
from policies.consent_register import parse_consent_register
from policies.findings import ApprovalEvidence, LinkRules, NameRules, PolicyContext
from policies.pipeline import RULES
from policies.roster import parse_roster

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ROSTER = parse_roster((SAMPLES / "roster.csv").read_text(encoding="utf-8"))
CONSENT = parse_consent_register((SAMPLES / "consent.csv").read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
PARSER = "submission-format"
RULE_IDS = [rule.id for rule in RULES] + [PARSER]


def context_for(case: Path) -> PolicyContext:
    overrides = {}
    if (case / "context.toml").exists():
        overrides = tomllib.loads((case / "context.toml").read_text())
    return PolicyContext(
        now=NOW, time_zone="Europe/London", enabled_platforms=("x", "facebook"),
        max_images={"x": 4, "facebook": 10}, max_text_length={"x": 280, "facebook": 63206},
        max_media_bytes=10 * 1024 * 1024, grace_minutes=60,
        approvals_required=overrides.get("approvals_required", 1),
        approval=ApprovalEvidence(tuple(overrides.get("valid_signers", ["Deputy Head"])),
                                  tuple(overrides.get("approval_problems", []))),
        roster=ROSTER,
        names=NameRules(allow_initials=overrides.get("allow_initials", True),
                        allow_first_names=overrides.get("allow_first_names", True)),
        school_contact_details=tuple(overrides.get("school_contact_details", [])),
        links=LinkRules(tuple(overrides.get("allow_domains", [])),
                        tuple(overrides.get("deny_domains", []))),
        consent=None if overrides.get("no_consent_register") else CONSENT,
        faces=overrides.get("faces", "refuse"), face_detector=face_detector())


def findings_for(rule_id: str, case: Path):
    submission = read_submission(case, "Europe/London", 256 * 1024)
    if rule_id == PARSER:
        return list(submission.problems)
    assert not submission.problems, f"{case}: the sample itself does not parse"
    rule = next(rule for rule in RULES if rule.id == rule_id)
    return rule.check(submission, context_for(case))


def cases(kind: str):
    return [pytest.param(rule_id, case, id=f"{rule_id}/{case.name}")
            for rule_id in RULE_IDS
            for case in sorted((SAMPLES / rule_id / kind).glob("*")) if case.is_dir()]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_has_samples_of_both_kinds(rule_id):
    for kind in ("must-refuse", "must-accept"):
        folder = SAMPLES / rule_id / kind
        assert folder.is_dir() and any(folder.iterdir()), f"{rule_id} has no {kind} samples"


@pytest.mark.parametrize("rule_id, case", cases("must-refuse"))
def test_refuses_its_must_refuse_samples(rule_id, case):
    findings = findings_for(rule_id, case)
    assert findings, f"{rule_id} accepted {case.name}"
    for finding in findings:
        assert finding.problem and finding.fix and finding.clause.text


@pytest.mark.parametrize("rule_id, case", cases("must-accept"))
def test_accepts_its_must_accept_samples(rule_id, case):
    assert findings_for(rule_id, case) == []
