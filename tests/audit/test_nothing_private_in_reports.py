"""What the audit log never holds stays out of everything read from it: a post refused for
naming a pupil and an abusive reply that was acted on leave no name and no abuse in `audit
show`, `audit export --csv` or `audit report --html`."""

from __future__ import annotations

import shutil
from pathlib import Path

from daemon.cli.main import main
from tests.daemon.test_moderation import ABUSE, event, moderated_steward, school_post, wait

ROSTER = Path(__file__).resolve().parent.parent / "samples" / "roster.csv"


def test_no_pupil_name_or_abusive_text_reaches_any_audit_output(tmp_path, capsys):
    steward = moderated_steward(tmp_path)
    try:
        shutil.copy(ROSTER, steward.state_dir / "roster.csv")
        steward.post("star-of-the-week", "Star of the week: Mary Jane McDonald in Year 3!")
        steward.wait_for_refusal("star-of-the-week")
        school_post(steward)
        event(steward, kind="x.reply", user_id="3100000000000000077", text=ABUSE)
        wait(steward, lambda: steward.events_named("incident.recorded"))
    finally:
        steward.stop()
    state = str(steward.state_dir)
    report = tmp_path / "report.html"
    outputs = []
    for arguments in (["audit", "show"], ["audit", "export", "--csv"],
                      ["audit", "report", "--html", str(report)], ["incidents", "export",
                                                                    "--csv"]):
        capsys.readouterr()
        assert main([*arguments, "--state-dir", state]) == 0
        outputs.append(capsys.readouterr().out)
    outputs.append(report.read_text())
    everything = "\n".join(outputs)
    assert "star-of-the-week" in everything and "incident.recorded" in everything
    for private in ("McDonald", "Mary Jane", "hurt you", "find you after school"):
        assert private not in everything
