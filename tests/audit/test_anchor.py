"""The anchor: Steward's record, outside the log, of the last checkpoint it signed. A log that
does not hold that checkpoint, at that place, with that hash, was cut short, rewritten or
replaced, however perfect its chain; and a writer that finds its file shrunk, replaced or gone
records the tampering and keeps what it found."""

from __future__ import annotations

import json

import pytest

from daemon.audit.anchor import AuditAnchor, anchor_of
from daemon.audit.chain import AuditLog, log_files
from daemon.audit.verification import verify_chain
from daemon.runtime.keys import audit_signing_key, public_key_text
from tests.audit.test_audit_log import rechain


@pytest.fixture
def key(tmp_path):
    return public_key_text(audit_signing_key(tmp_path))


def written(tmp_path, events=10, **options):
    """A log of `events` events closed by a checkpoint; return it and the anchor a daemon
    would have recorded for that checkpoint."""
    anchors = []
    audit = AuditLog(tmp_path / "audit.jsonl", on_checkpoint=anchors.append, **options)
    for number in range(events):
        audit.record("post.published", platform="x", remote_id=str(number))
    audit.close()
    return tmp_path / "audit.jsonl", anchor_of(anchors[-1], "audit.jsonl")


def test_a_log_holding_the_anchored_checkpoint_verifies(tmp_path, key):
    _, anchor = written(tmp_path)
    report = verify_chain([tmp_path], [key], anchor=anchor)
    assert report.intact, report.describe()


def test_a_log_cut_short_before_the_anchored_checkpoint_is_refused(tmp_path, key):
    path, anchor = written(tmp_path, checkpoint_every_events=4)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-3]))  # ends in an earlier, genuine checkpoint
    assert verify_chain([tmp_path], [key]).intact  # the chain alone cannot tell
    report = verify_chain([tmp_path], [key], anchor=anchor)
    assert not report.intact
    assert f"checkpoint #{anchor.seq}" in report.problem.message
    assert "shorter" in report.problem.message


def test_a_rechained_log_without_checkpoints_is_refused_against_the_anchor(tmp_path, key):
    path, anchor = written(tmp_path)
    forged = rechain([line for line in path.read_text().splitlines(keepends=True)
                      if '"audit.checkpoint"' not in line])
    path.write_text("".join(forged))
    assert verify_chain([tmp_path], [key], open_tail=True, unsigned_ok=True).intact
    report = verify_chain([tmp_path], [key], open_tail=True, unsigned_ok=True, anchor=anchor)
    assert not report.intact and "shorter" in report.problem.message


def test_a_different_line_where_the_anchored_checkpoint_was_is_refused(tmp_path, key):
    path, anchor = written(tmp_path)
    other = AuditAnchor(seq=anchor.seq, head="f" * 64, sealed=anchor.sealed,
                        signed_at=anchor.signed_at, file=anchor.file)
    report = verify_chain([tmp_path], [key], anchor=other)
    assert not report.intact and "not the checkpoint" in report.problem.message


def test_no_log_at_all_is_refused_when_a_checkpoint_was_anchored(tmp_path, key):
    path, anchor = written(tmp_path)
    path.unlink()
    report = verify_chain([tmp_path], [key], anchor=anchor)
    assert not report.intact and "no audit log" in report.problem.message


def test_a_log_without_checkpoints_is_refused_when_steward_has_a_history(tmp_path, key):
    audit = AuditLog(tmp_path / "audit.jsonl", signing_key=None)
    audit.record("service.started")
    audit.close()
    assert verify_chain([tmp_path], [key], open_tail=True, unsigned_ok=True).intact
    report = verify_chain([tmp_path], [key], open_tail=True, unsigned_ok=True,
                          earlier_activity="3 submissions")
    assert not report.intact
    assert "no signed checkpoint" in report.problem.message
    assert "3 submissions" in report.problem.message


def test_an_anchored_checkpoint_that_was_retired_is_accounted_for(tmp_path, key):
    from datetime import date  # noqa: PLC0415

    from daemon.audit.retirement import retire  # noqa: PLC0415

    anchors = []
    audit = AuditLog(tmp_path / "audit.jsonl", on_checkpoint=anchors.append)
    for number in range(8):
        audit.record("post.published", remote_id=str(number))
        if number == 3:
            audit.rotate("test")
    audit.close()
    early = anchor_of(anchors[0], "audit.jsonl")  # the rotate checkpoint, now archived
    retire(tmp_path, date(2999, 1, 1), tmp_path.parent / "retired", AuditLog(
        tmp_path / "audit.jsonl"), key)
    report = verify_chain([tmp_path], [key], anchor=early)
    assert report.intact, report.describe()


# -- a writer that finds its file changed under it --------------------------------------------

def tampering_events(tmp_path):
    return [json.loads(line) for path in log_files(tmp_path) for line in path.open()
            if '"audit.tampering_detected"' in line]


def test_a_writer_records_a_file_that_shrank_and_keeps_it(tmp_path, key):
    found = []
    audit = AuditLog(tmp_path / "audit.jsonl", on_tampering=found.append)
    for number in range(5):
        audit.record("one", number=number)
    path = tmp_path / "audit.jsonl"
    first_line = path.read_text().splitlines(keepends=True)[0]
    with open(path, "r+") as handle:
        handle.truncate(len(first_line.encode()))
    audit.record("after")
    audit.close()
    [event] = tampering_events(tmp_path)
    assert found and found[0]["kind"] == event["kind"] == "shrank"
    assert event["last_good_seq"] == 4 and event["recovered"] is False
    assert (tmp_path / event["evidence"]).read_text() == first_line
    report = verify_chain([tmp_path], [key])
    assert not report.intact and "shrank" in report.problem.message


def test_a_writer_records_a_file_rewritten_in_place(tmp_path, key):
    audit = AuditLog(tmp_path / "audit.jsonl")
    for number in range(3):
        audit.record("one", number=number)
    path = tmp_path / "audit.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    with open(path, "r+") as handle:  # same file, same inode, longer and re-chained
        handle.write("".join(rechain([lines[0], lines[0], *lines[1:]])))
    audit.record("after")
    audit.close()
    [event] = tampering_events(tmp_path)
    assert event["kind"] == "rewritten"


def test_another_writer_appending_is_not_tampering(tmp_path, key):
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)
    for number in range(3):
        first.record("one", number=number)
        second.record("two", number=number)
    second.rotate("test")
    first.record("three")
    first.close()
    second.close()
    assert not tampering_events(tmp_path)
    assert verify_chain([tmp_path], [key]).intact
