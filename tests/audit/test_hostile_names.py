"""A post folder's name is chosen by whoever drops it in the inbox, and it reaches the audit log
as it is. Whatever it holds, reading the log must show it for what it is: a newline cannot forge
a second line, an escape sequence cannot drive the auditor's terminal, a bidi override cannot
reorder what is shown, and a name cannot become a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from daemon.audit.chain import AuditLog
from daemon.cli.main import main

FORGED_LINE = ("welcome\n2026-11-22 09:00:00  #99     post.published               published "
               "fake on x: https://example.invalid/")
ANSI = "news\x1b[2J\x1b[31mRED\x1b[0m"
BIDI = "trip\u202etxt.exe"
FORMULA = '=HYPERLINK("https://example.invalid/","click")'


@pytest.fixture
def hostile_log(tmp_path):
    state = tmp_path / "state"
    audit = AuditLog(state / "audit.jsonl")
    for name in (FORGED_LINE, ANSI, BIDI, FORMULA, "+1 shares", "-2", "@SUM(A1)",
                 "\tindented", "\rreturn", "plain-name"):
        audit.record("submission.received", name=name)
    audit.record("follower.removed", platform="x", handle=BIDI + ANSI, clause="test")
    audit.close()
    return state


def run(capsys, *arguments):
    capsys.readouterr()
    code = main(list(arguments))
    return code, capsys.readouterr().out


def test_a_newline_in_a_name_cannot_forge_a_line_in_audit_show(hostile_log, capsys):
    code, out = run(capsys, "audit", "show", "--state-dir", str(hostile_log))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 12  # eleven events and the closing checkpoint
    assert sum("post.published" in line for line in lines) == 1
    assert "received welcome\\n2026-11-22 09:00:00  #99" in lines[0]


def test_escape_sequences_and_bidi_overrides_are_shown_escaped_not_obeyed(hostile_log, capsys):
    _, out = run(capsys, "audit", "show", "--state-dir", str(hostile_log))
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert "received news\\x1b[2J\\x1b[31mRED\\x1b[0m" in out
    assert "received trip\\u202etxt.exe" in out
    assert "received \\tindented" in out


def test_every_invisible_or_controlling_character_is_spelled_out():
    from daemon.audit.reading import visible  # noqa: PLC0415

    assert visible("a\x00b\x7fc\x9bd") == "a\\x00b\\x7fc\\x9bd"
    assert visible("\u2028\u2066\u200f\ufeff") == "\\u2028\\u2066\\u200f\\ufeff"
    assert visible("back\\slash") == "back\\\\slash"  # so an escape cannot be imitated
    assert visible("Café, 世界, naïve") == "Café, 世界, naïve"


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(hostile_log,
                                                                            capsys):
    _, out = run(capsys, "audit", "export", "--csv", "--state-dir", str(hostile_log))
    rows = list(csv.DictReader(io.StringIO(out)))
    posts = [row["post"] for row in rows if row["event"] == "submission.received"]
    assert posts[3:9] == ["'" + FORMULA, "'+1 shares", "'-2", "'@SUM(A1)", "'\\tindented",
                          "'\\rreturn"]
    assert posts[9] == "plain-name"
    for row in rows:
        for cell in row.values():
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
            assert "\x1b" not in cell and "\n" not in cell and "\u202e" not in cell


def test_a_spreadsheet_cell_is_neutralised_only_when_it_starts_like_a_formula():
    from daemon.audit.reading import spreadsheet_cell  # noqa: PLC0415

    assert spreadsheet_cell("=1+1") == "'=1+1"
    assert spreadsheet_cell("\t=1") == "'\\t=1"
    assert spreadsheet_cell("1+1=2") == "1+1=2"
    assert spreadsheet_cell(42) == 42


def test_the_html_report_shows_hostile_names_escaped(hostile_log, tmp_path):
    out = tmp_path / "report.html"
    main(["audit", "report", "--html", str(out), "--state-dir", str(hostile_log)])
    page = out.read_text(encoding="utf-8")
    assert "handle trip\\u202etxt.exenews\\x1b[2J" in page
    assert "\x1b" not in page and "\u202e" not in page


def test_status_shows_hostile_names_escaped(hostile_log, capsys):
    from datetime import UTC, datetime  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from daemon.runtime.store import Store, StoredSubmission  # noqa: PLC0415

    now = datetime(2030, 1, 1, tzinfo=UTC)
    store = Store(hostile_log / "steward.sqlite3")
    store.add_submission(StoredSubmission(
        id="S1", name=ANSI + FORGED_LINE, content_sha256="0" * 64, publish_at=now,
        status="scheduled", signers=[], received_at=now, folder=Path("/nowhere"),
        posts={"x": {}}), now)
    store.close()
    _, out = run(capsys, "status", "--state-dir", str(hostile_log))
    assert "\x1b" not in out and "\u202e" not in out
    assert "news\\x1b[2J" in out
    assert not [line for line in out.splitlines() if line.startswith("2026-11-22")]


def test_the_incident_log_export_neutralises_formulas_too(tmp_path, capsys):
    from datetime import UTC, datetime  # noqa: PLC0415

    from daemon.runtime.store import Store, timestamp  # noqa: PLC0415

    state = tmp_path / "state"
    state.mkdir()
    store = Store(state / "steward.sqlite3")
    with store.transaction() as db:  # as moderation records one (daemon.moderation.moderator)
        db.execute("INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   ("2026-001", timestamp(datetime(2026, 11, 23, 9, tzinfo=UTC)), "x",
                    FORMULA, "hidden", "+44 head teacher", "open", "ab" * 32,
                    "@evidence/1.json", None))
    store.close()
    code, out = run(capsys, "incidents", "export", "--csv", "--state-dir", str(state))
    [_, row] = list(csv.reader(io.StringIO(out)))
    assert code == 0
    assert row[4] == "'" + FORMULA and row[6] == "'+44 head teacher" and row[8].startswith("'@")
