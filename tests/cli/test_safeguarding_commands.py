"""The designated safeguarding lead's commands: `moderate queue` lists what waits for review
without the abusive words (unless asked, and then escaped), `incidents show` gives one
incident's message, evidence (checked against its recorded SHA-256) and actions, and
`incidents close` records the outcome in the incident log and, with who and when, in the
audit log, refusing an outcome that would put a child's name or the abuse there."""

from __future__ import annotations

import csv
import grp
import io
import json
import os
import pwd
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.domain import Reply
from daemon.audit.chain import AuditLog
from daemon.cli.main import main
from daemon.moderation.evidence import EvidenceStore
from daemon.runtime.clock import FixedClock
from daemon.runtime.store import Store, StoredIncident
from daemon.runtime.unit import ServiceUnit, run_as_service
from policies.moderation import Verdict
from tests.store.reader import as_a_reader_who_cannot_write

ROSTER = Path(__file__).resolve().parent.parent / "samples" / "roster.csv"
ABUSE = "I will find you after school and hurt you"
INSULT = "what a bunch of muppets"
FORGED = "ok\n2026-11-23 09:00  R99  x  @someone  allow 0.00"  # a newline forging a line
HANDLE = "Angry\x1b[2JAccount\u202e"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def reply(reply_id: str, text: str, handle: str = "AnAngryAccount") -> Reply:
    return Reply(platform="x", reply_id=reply_id, author_id="3100000000000000001",
                 author_handle=handle, text=text, in_reply_to="1900000000000000001",
                 created_at=datetime(2026, 11, 23, 8, 58, tzinfo=UTC),
                 url=f"https://x.com/i/web/status/{reply_id}", raw={"id": reply_id})


@pytest.fixture
def state(tmp_path) -> Path:
    return make_state(tmp_path)


def make_state(root: Path) -> Path:
    """A state directory as moderation leaves it: one reply acted on (incident
    INC-2026-0001, with its evidence), two waiting for review, one allowed."""
    state = root / "state"
    state.mkdir()
    store = Store(state / "steward.sqlite3")
    evidence = EvidenceStore(state / "evidence")
    acted = reply("2000000000000000001", ABUSE)
    verdict = Verdict("act", 0.97, ("threat-or-violence",))
    path, digest = evidence.save(acted, verdict, NOW)
    number = store.add_reply(platform="x", reply_id=acted.reply_id, author_id=acted.author_id,
                             author_handle=acted.author_handle, in_reply_to=acted.in_reply_to,
                             url=acted.url, verdict="act", score=0.97,
                             reasons=["threat-or-violence"], status="acted", text=ABUSE,
                             now=NOW)
    assert number is not None
    store.add_incident(StoredIncident(
        number="INC-2026-0001", occurred_at=NOW, platform="x", nature="threat-or-violence",
        action_taken="reply hidden; author muted; not blocked: blocking by API needs X's "
                     "Enterprise plan (block by hand if needed; see below)",
        reported_to="head teacher, e-safety lead",
        outcome="open", evidence_sha256=digest, evidence_path=str(path), reply=number))
    for reply_id, text, handle, status in (
            ("2000000000000000002", INSULT, "Grumbler", "review"),
            ("2000000000000000003", FORGED, HANDLE, "review"),
            ("2000000000000000004", "Lovely assembly!", "AParent", "allowed")):
        store.add_reply(platform="x", reply_id=reply_id, author_id="3100000000000000002",
                        author_handle=handle, in_reply_to="1900000000000000001",
                        url=f"https://x.com/i/web/status/{reply_id}",
                        verdict="review" if status == "review" else "allow", score=0.55,
                        reasons=["insult"] if status == "review" else [], status=status,
                        text=text if status == "review" else None, now=NOW)
    store.close()
    audit = AuditLog(state / "audit.jsonl", FixedClock(NOW))
    audit.record("incident.recorded", clause="loughton.incident-log", incident="INC-2026-0001",
                 platform="x", reply=f"R{number}", nature="threat-or-violence",
                 action_taken="reply hidden; author muted", reported_to="head teacher",
                 channel="smtp", evidence_sha256=digest)
    audit.close()
    return state


def run(capsys, *arguments) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- moderate queue ----------------------------------------------------------------------------

def test_the_queue_lists_what_waits_for_review_without_the_words(state, capsys):
    code, out, _ = run(capsys, "moderate", "queue", "--state-dir", str(state))
    assert code == 0
    assert out.startswith("2 replies wait for a moderator's decision, oldest first:")
    [first] = [line for line in out.splitlines() if line.startswith("R2 ")]
    assert "x " in first and "2026-11-23 09:00" in first and "Grumbler" in first
    assert "review 0.55 (insult); sent for review" in first
    assert INSULT not in out and "muppets" not in out and ABUSE not in out
    assert "R1 " not in out and "R4 " not in out  # acted on; allowed
    assert "--show-text" in out


def test_the_queue_shows_the_texts_only_when_asked_and_then_escaped(state, capsys):
    code, out, _ = run(capsys, "moderate", "queue", "--show-text", "--state-dir", str(state))
    assert code == 0
    assert f"> {INSULT}" in out
    assert "        > ok\n        > 2026-11-23 09:00  R99" in out  # each line of it quoted
    assert not [line for line in out.splitlines() if line.startswith("2026-11-23")]
    assert "Angry\\x1b[2JAccount\\u202e" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_the_queue_of_a_fresh_install_is_empty(tmp_path, capsys):
    code, out, _ = run(capsys, "moderate", "queue", "--state-dir", str(tmp_path))
    assert (code, out) == (0, "Nothing waits for review.\n")


def test_a_reply_held_by_the_hourly_cap_says_so(state, capsys):
    store = Store(state / "steward.sqlite3")
    store.update_reply(2, "review", NOW, decision="cap")
    store.close()
    _, out, _ = run(capsys, "moderate", "queue", "--state-dir", str(state))
    assert "held: the hourly cap was reached" in out


# -- incidents show ----------------------------------------------------------------------------

def test_an_incident_shows_its_message_author_evidence_and_actions(state, capsys):
    code, out, _ = run(capsys, "incidents", "show", "inc-2026-0001", "--state-dir", str(state))
    assert code == 0
    assert out.startswith("Incident INC-2026-0001\n")
    assert "  outcome:      open" in out
    assert f"  > {ABUSE}" in out
    assert "author:       AnAngryAccount (id 3100000000000000001)" in out
    assert "link:         https://x.com/i/web/status/2000000000000000001" in out
    assert "posted:       2026-11-23 08:58:00" in out  # the school's time: GMT in November
    assert "collected:    2026-11-23 09:00:00" in out
    assert "verdict:      act 0.97 (threat-or-violence)" in out
    assert "the same as recorded when it was saved" in out
    assert "{" not in out  # the evidence is plain lines, not its JSON
    for action in ("  - reply hidden", "  - author muted", "  - not blocked: blocking by API "
                   "needs X's Enterprise plan"):
        assert action in out


def test_an_action_with_a_semicolon_in_brackets_is_shown_whole_on_one_line(state, capsys):
    _, out, _ = run(capsys, "incidents", "show", "INC-2026-0001", "--state-dir", str(state))
    actions = out.split("Actions taken, and what came of each:\n")[1].splitlines()
    assert actions == ["  - reply hidden", "  - author muted",
                       "  - not blocked: blocking by API needs X's Enterprise plan (block by "
                       "hand if needed; see below)"]


def test_actions_are_separated_only_outside_brackets():
    from daemon.moderation.casework import separate_actions  # noqa: PLC0415

    assert separate_actions("hidden; muted (for 7 days; then lifted); reported [a; b]") == \
        ["hidden", "muted (for 7 days; then lifted)", "reported [a; b]"]
    assert separate_actions("") == []
    assert separate_actions("an unclosed (bracket; still one") == \
        ["an unclosed (bracket; still one"]


def test_an_altered_evidence_file_is_shown_as_not_checking_out_and_exits_1(state, capsys):
    [path] = (state / "evidence").rglob("*.json")
    record = json.loads(path.read_text())
    record["text"] = "nothing to see here"
    path.write_text(json.dumps(record))
    code, out, err = run(capsys, "incidents", "show", "INC-2026-0001", "--state-dir", str(state))
    assert code == 1
    assert "NOT CHECKED OUT: the file's SHA-256 is" in out
    assert "it was changed after Steward saved it" in out
    assert "steward incidents: INC-2026-0001: the evidence cannot be trusted" in err


def test_a_missing_evidence_file_falls_back_to_the_database_and_exits_1(state, capsys):
    shutil.rmtree(state / "evidence")
    code, out, err = run(capsys, "incidents", "show", "INC-2026-0001", "--state-dir", str(state))
    assert code == 1
    assert "as Steward's database holds it" in out and f"> {ABUSE}" in out
    assert "the evidence file is not there" in out and "Traceback" not in err


def test_an_unknown_incident_is_a_usage_error(state, capsys):
    code, _, err = run(capsys, "incidents", "show", "INC-1999-0001", "--state-dir", str(state))
    assert code == 2
    assert "there is no incident INC-1999-0001 (`steward incidents export` lists them)" in err


# -- incidents close ---------------------------------------------------------------------------

def test_closing_an_incident_records_its_outcome_with_who_and_when(state, capsys, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "dsl-jones")
    code, out, _ = run(capsys, "incidents", "close", "INC-2026-0001", "--outcome",
                       "Parent spoken to;   account reported to X", "--state-dir", str(state))
    assert code == 0
    assert "closed " in out and "by dsl-jones: Parent spoken to; account reported to X" in out
    _, exported, _ = run(capsys, "incidents", "export", "--state-dir", str(state))
    [row] = list(csv.DictReader(io.StringIO(exported)))
    assert row["Outcome"].startswith("closed ")
    assert row["Outcome"].endswith(" by dsl-jones: Parent spoken to; account reported to X")
    events = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    [closed] = [event for event in events if event["event"] == "incident.closed"]
    assert closed["incident"] == "INC-2026-0001" and closed["by"] == "dsl-jones"
    assert closed["outcome"] == "Parent spoken to; account reported to X"
    assert closed["clause"] == "loughton.incident-log" and closed["amended"] is False
    report = state / "report.html"
    run(capsys, "audit", "report", "--html", str(report), "--state-dir", str(state))
    assert "Parent spoken to; account reported to X (closed " in report.read_text()
    assert " by dsl-jones)</td>" in report.read_text()


def test_an_outcome_with_control_characters_is_echoed_escaped(state, capsys):
    code, out, err = run(capsys, "incidents", "close", "INC-2026-0001", "--outcome",
                         "parent spoken to\x1b[2J\x1b]0;owned\x07", "--state-dir", str(state))
    assert code == 0
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert out.rstrip("\n").endswith(r"parent spoken to\x1b[2J\x1b]0;owned\x07")
    code, _, err = run(capsys, "incidents", "close", "INC-2026-0001", "--outcome",
                       "again\x1b[2J", "--state-dir", str(state))
    assert code == 1 and "already closed" in err
    assert "\x1b" not in err and r"\x1b[2J" in err


def test_a_mistyped_command_with_control_characters_is_named_escaped(capsys):
    code, _, err = run(capsys, "incidents", "shw\x1b[2J\r")
    assert code == 2
    assert "\x1b" not in err and "\r" not in err and r"shw\x1b[2J\r" in err


def test_a_closed_incident_is_closed_again_only_with_amend(state, capsys):
    assert main(["incidents", "close", "INC-2026-0001", "--outcome", "first",
                 "--state-dir", str(state)]) == 0
    code, _, err = run(capsys, "incidents", "close", "INC-2026-0001", "--outcome", "second",
                       "--state-dir", str(state))
    assert code == 1 and "is already closed" in err and "--amend" in err
    assert main(["incidents", "close", "INC-2026-0001", "--outcome", "second", "--amend",
                 "--state-dir", str(state)]) == 0
    store = Store.open_read_only(state / "steward.sqlite3")
    assert store.incident("INC-2026-0001").outcome.endswith(": second")
    store.close()


def test_an_outcome_naming_a_pupil_is_refused_and_nothing_is_recorded(state, capsys):
    shutil.copy(ROSTER, state / "roster.csv")
    pupil = next(csv.DictReader(ROSTER.open()))
    named = f"{pupil['First Name']} {pupil['Surname']}'s parents were told"  # Jane Smith
    code, _, err = run(capsys, "incidents", "close", "INC-2026-0001", "--outcome", named,
                       "--state-dir", str(state))
    assert code == 1
    assert "the outcome was not recorded: it names a pupil (full name, at word 1)" in err
    assert pupil["Surname"] not in err
    assert pupil["Surname"] not in (state / "audit.jsonl").read_text()
    store = Store.open_read_only(state / "steward.sqlite3")
    assert store.incident("INC-2026-0001").outcome == "open"
    store.close()


def test_an_outcome_quoting_the_abuse_is_refused(state, capsys):
    code, _, err = run(capsys, "incidents", "close", "INC-2026-0001", "--outcome",
                       f"he wrote {ABUSE}", "--state-dir", str(state))
    assert code == 1 and "reads as abusive or threatening" in err
    assert "hurt you" not in (state / "audit.jsonl").read_text()


@pytest.mark.parametrize("outcome, problem", [("   ", "--outcome is empty"),
                                              ("x" * 501, "--outcome is 501 characters")])
def test_an_empty_or_overlong_outcome_is_a_usage_error(state, capsys, outcome, problem):
    code, _, err = run(capsys, "incidents", "close", "INC-2026-0001", "--outcome", outcome,
                       "--state-dir", str(state))
    assert code == 2 and problem in err


def test_closing_an_unknown_incident_is_a_usage_error(state, capsys):
    code, _, err = run(capsys, "incidents", "close", "INC-2026-0099", "--outcome", "done",
                       "--state-dir", str(state))
    assert code == 2 and "there is no incident INC-2026-0099" in err


# -- as the DSL runs them: their own user, who may read the state but not write it --------------

@pytest.fixture
def shared_state(tmp_path, capsys):
    """The state directory where everyone may read it (as the group `steward` may read the
    service's), for a reader who cannot write it. Each command runs once first as its
    owner, so that what it imports is imported before the reader becomes another user (where
    Python's own library is in root's home, as in the test container, nobody may read it)."""
    warm = make_state(tmp_path)
    for command in (["moderate", "queue", "--show-text"], ["incidents", "show", "INC-2026-0001"],
                    ["incidents", "close", "INC-2026-0001", "--outcome", "done"],
                    ["incidents", "export"], ["moderate", "decide", "R2", "allow"]):
        run(capsys, *command, "--state-dir", str(warm))
    shared = Path(tempfile.mkdtemp(prefix="steward-dsl-"))
    shared.chmod(0o755)
    state = make_state(shared)
    for path in [state, *state.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield state
    shutil.rmtree(shared)


def contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_dsl_reads_the_queue_and_an_incident_without_write_access(shared_state, capsys):
    commands = [["moderate", "queue", "--show-text", "--state-dir", str(shared_state)],
                ["incidents", "show", "INC-2026-0001", "--state-dir", str(shared_state)],
                ["incidents", "export", "--state-dir", str(shared_state)]]
    expected = [run(capsys, *command)[:2] for command in commands]
    before = contents(shared_state)
    for command, (code, out) in zip(commands, expected, strict=True):
        assert code == 0
        assert as_a_reader_who_cannot_write(shared_state, lambda c=command: main(c)) == \
            (0, out)
    assert contents(shared_state) == before


def test_the_dsl_reads_the_queue_while_steward_runs(shared_state):
    running = Store(shared_state / "steward.sqlite3")  # holds the write-ahead log, as the daemon
    try:
        running.add_reply(platform="x", reply_id="2000000000000000005", author_id="31",
                          author_handle="LateComer", in_reply_to="1900000000000000001",
                          url="https://x.com/i/web/status/2000000000000000005",
                          verdict="review", score=0.6, reasons=["insult"], status="review",
                          text="not yet checkpointed", now=NOW)
        for path in shared_state.glob("steward.sqlite3-*"):
            path.chmod(0o644)
        code, printed = as_a_reader_who_cannot_write(shared_state, lambda: main(
            ["moderate", "queue", "--state-dir", str(shared_state)]))
    finally:
        running.close()
    assert code == 0 and "LateComer" in printed and "3 replies wait" in printed


def test_closing_without_write_access_says_exactly_what_to_type_and_records_nothing(
        shared_state):
    before = contents(shared_state)
    code, printed = as_a_reader_who_cannot_write(shared_state, lambda: main(
        ["incidents", "close", "inc-2026-0001", "--outcome", "parent spoken to",
         "--state-dir", str(shared_state)]))
    assert code == 1
    assert "may read Steward's state but not change it" in printed
    assert (f"Type:\n  sudo steward admin incidents close INC-2026-0001 --outcome "
            f"'parent spoken to' --state-dir {shared_state}\n") in printed
    assert "Traceback" not in printed
    assert contents(shared_state) == before


def test_a_closing_outcome_that_cannot_be_used_is_said_before_asking_for_sudo(shared_state):
    code, printed = as_a_reader_who_cannot_write(shared_state, lambda: main(
        ["incidents", "close", "INC-2026-0001", "--outcome", " ",
         "--state-dir", str(shared_state)]))
    assert code == 2 and "--outcome is empty" in printed and "sudo" not in printed


def a_group_nobody_is_not_in() -> grp.struct_group:
    """A group of this machine that may read the state, as `steward` may on a server (the
    test does not create groups)."""
    for group in grp.getgrall():
        if group.gr_gid not in (0, 65534) and "nobody" not in group.gr_mem:
            return group
    pytest.skip("no group to stand for steward")


needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="becoming another user needs root (and setpriv)")


@needs_root
def test_a_dsl_who_may_not_read_the_state_is_told_which_file_who_and_the_fix(shared_state):
    group = a_group_nobody_is_not_in().gr_name
    shared_state.chmod(0o750)
    shutil.chown(shared_state, "root", group)
    code, printed = as_a_reader_who_cannot_write(shared_state, lambda: main(
        ["moderate", "queue", "--state-dir", str(shared_state)]))
    assert code == 1
    assert printed == (
        f"steward moderate: nobody cannot read the moderation queue, {shared_state}/"
        f"steward.sqlite3: the folder {shared_state} is closed to it (root:{group}, mode "
        f"0750). Ask the administrator to add nobody to the group {group}, which may read "
        f"it: `sudo usermod -aG {group} nobody`, then log out and in again (docs/"
        "safeguarding.md, \"Who may run what\")\n")


@needs_root
def test_a_state_file_the_group_may_not_read_is_named_with_the_commands_that_fix_it(
        shared_state):
    (shared_state / "steward.sqlite3").chmod(0o600)
    code, printed = as_a_reader_who_cannot_write(shared_state, lambda: main(
        ["incidents", "export", "--state-dir", str(shared_state)]))
    assert code == 1
    assert printed.endswith(
        f"nobody cannot read the incident log, {shared_state}/steward.sqlite3 (root:root, mode "
        "0600). It is not readable by the group steward, as Steward's state should be: ask the "
        f"administrator to run `sudo chgrp steward {shared_state}/steward.sqlite3 && sudo chmod "
        f"g+r {shared_state}/steward.sqlite3` (docs/safeguarding.md, \"Who may run what\")\n")


@needs_root
def test_evidence_the_dsl_may_not_read_is_named_with_the_fix(shared_state):
    [path] = (shared_state / "evidence").rglob("*.json")
    path.chmod(0o600)
    code, printed = as_a_reader_who_cannot_write(shared_state, lambda: main(
        ["incidents", "show", "INC-2026-0001", "--state-dir", str(shared_state)]))
    assert code == 1
    assert f"NOT CHECKED OUT: nobody cannot read the evidence file, {path} (root:root, " \
        "mode 0600). It is not readable by the group steward" in printed
    assert f"`sudo chgrp steward {path} && sudo chmod g+r {path}`" in printed
    assert f"> {ABUSE}" in printed  # still shown, from the database


@needs_root
def test_closing_as_the_service_under_sudo_records_the_dsl_as_who_closed_it(shared_state):
    nobody = pwd.getpwuid(65534)
    for path in [shared_state, *shared_state.rglob("*")]:
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    unit = ServiceUnit(path=Path("steward.service"), user=nobody.pw_name,
                       group=grp.getgrgid(nobody.pw_gid).gr_name, umask=0o027)
    os.environ["SUDO_USER"] = "dsl-jones"  # what sudo sets; the unit's environment keeps it
    try:
        code = run_as_service(unit, [sys.executable, "-m", "daemon.cli", "incidents", "close",
                                     "INC-2026-0001", "--outcome", "parent spoken to",
                                     "--state-dir", str(shared_state)])
    finally:
        del os.environ["SUDO_USER"]
    assert code == 0
    events = [json.loads(line)
              for line in (shared_state / "audit.jsonl").read_text().splitlines()]
    assert [(e["by"], e["outcome"]) for e in events if e["event"] == "incident.closed"] == \
        [("dsl-jones", "parent spoken to")]
    assert {path.stat().st_uid for path in shared_state.iterdir()} == {nobody.pw_uid}


@pytest.mark.parametrize("command, typed", [
    (["moderate", "decide", "r2", "allow"], "sudo steward admin moderate decide R2 allow"),
    (["moderate", "restore", "R1"], "sudo steward admin moderate restore R1"),
])
def test_a_moderators_decision_without_write_access_says_what_to_type(shared_state, command,
                                                                       typed):
    before = contents(shared_state)
    code, printed = as_a_reader_who_cannot_write(shared_state, lambda: main(
        [*command, "--state-dir", str(shared_state)]))
    assert code == 1
    assert f"Type:\n  {typed} --state-dir {shared_state}\n" in printed
    assert "damaged" not in printed and "Traceback" not in printed
    assert contents(shared_state) == before
