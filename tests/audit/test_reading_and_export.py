"""A person reads the audit log without reading JSON: plain lines in chain order across rotated
files, filtered by time, type and platform, and CSV that opens in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from daemon.audit.reading import CSV_COLUMNS
from daemon.cli.main import main
from tests.audit.term import write_term


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    return write_term(tmp_path_factory.mktemp("term"))


def run(capsys, *arguments):
    capsys.readouterr()
    code = main(list(arguments))
    return code, capsys.readouterr().out


def test_show_prints_every_event_once_in_chain_order_across_rotated_files(term, capsys):
    code, out = run(capsys, "audit", "show", "--state-dir", str(term))
    lines = out.splitlines()
    assert code == 0 and len(lines) > 500
    numbers = [int(line.split("#")[1].split()[0]) for line in lines]
    assert numbers == list(range(len(lines)))


def test_show_reads_as_sentences(term, capsys):
    _, out = run(capsys, "audit", "show", "--state-dir", str(term), "--type",
                 "submission.refused", "--until", "2026-09-07")
    assert out.splitlines() == [
        "2026-09-07 09:10:00  #3      submission.refused           refused draft-w0-d0: broke "
        "location-metadata, slt-approval (st-marys.no-geolocation, st-marys.slt-posts); the "
        "SLT was told why"]


def test_show_filters_by_time_in_the_schools_time_zone(term, capsys):
    _, out = run(capsys, "audit", "show", "--state-dir", str(term), "--since", "2026-10-01",
                 "--until", "2026-10-31")
    days = {line[:10] for line in out.splitlines()}
    assert min(days) >= "2026-10-01" and max(days) <= "2026-10-31" and len(days) > 10


def test_show_filters_by_type_prefix_and_pattern_and_platform(term, capsys):
    _, out = run(capsys, "audit", "show", "--state-dir", str(term), "--type", "user",
                 "--platform", "x")
    events = {line.split()[3] for line in out.splitlines()}
    assert events == {"user.muted"}
    _, out = run(capsys, "audit", "show", "--state-dir", str(term), "--type", "*.hidden")
    assert {line.split()[3] for line in out.splitlines()} == {"reply.hidden"}


def test_show_refuses_a_date_it_cannot_read(term, capsys):
    assert main(["audit", "show", "--state-dir", str(term), "--since", "last Tuesday"]) == 2
    assert "take a date" in capsys.readouterr().err


def test_export_csv_opens_with_the_csv_module_with_the_expected_columns(term, capsys):
    code, out = run(capsys, "audit", "export", "--csv", "--state-dir", str(term))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and list(rows[0]) == CSV_COLUMNS == [
        "seq", "date", "time", "event", "level", "platform", "post", "summary", "clause",
        "hash"]
    assert [int(row["seq"]) for row in rows] == list(range(len(rows)))
    published = [row for row in rows if row["event"] == "post.published"]
    assert len(published) == 240 and published[0]["platform"] == "x"
    assert published[0]["clause"] == "st-marys.slt-posts" and len(published[0]["hash"]) == 64


def test_export_csv_takes_the_same_filters(term, capsys):
    _, out = run(capsys, "audit", "export", "--csv", "--state-dir", str(term), "--type",
                 "incident")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["event"] for row in rows] == ["incident.recorded"] * 4


def test_audit_commands_read_a_folder_an_auditor_was_given(term, tmp_path, capsys):
    from daemon.audit.chain import log_files  # noqa: PLC0415

    for number, path in enumerate(log_files(term)):
        (tmp_path / f"{number:03d}.jsonl").write_bytes(path.read_bytes())
    _, from_copy = run(capsys, "audit", "show", str(tmp_path))
    _, from_state = run(capsys, "audit", "show", "--state-dir", str(term))
    assert from_copy == from_state


def test_an_incident_reads_as_one_sentence_with_what_was_done(tmp_path):
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.reading import plain_line  # noqa: PLC0415

    line = plain_line({"timestamp": "2026-10-07T08:10:00.000+00:00", "seq": 7,
                       "event": "incident.recorded", "incident": "INC-2026-0004",
                       "platform": "facebook", "nature": "threat",
                       "action_taken": "comment hidden; author blocked from the Page",
                       "reported_to": "head teacher, e-safety lead",
                       "clause": "rochester.incident-log"}, ZoneInfo("Europe/London"))
    assert line.endswith("incident INC-2026-0004 on facebook: threat; comment hidden; author "
                         "blocked from the Page; reported to head teacher, e-safety lead  "
                         "[rochester.incident-log]")
    assert line.startswith("2026-10-07 09:10:00  #7 ")
