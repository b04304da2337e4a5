"""The audit log is a hash chain: any edited, deleted or reordered line is found and named."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from daemon.audit import AuditLog, verify_audit_log
from daemon.cli import main
from daemon.logs import REDACTOR


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    for number in range(10):
        audit.record("post.published", platform="x", remote_id=str(1000 + number))
    audit.close()
    return path


def lines_of(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_an_untouched_log_verifies(log_file):
    result = verify_audit_log(log_file)
    assert result.intact and result.lines == 10


def test_an_edited_line_is_found(log_file):
    lines = lines_of(log_file)
    lines[4] = lines[4].replace('"1004"', '"9999"')
    log_file.write_text("".join(lines))
    result = verify_audit_log(log_file)
    assert (result.intact, result.problem_line) == (False, 5)
    assert "edited" in result.problem


def test_an_edit_that_recomputes_the_lines_own_hash_breaks_the_next_line(log_file):
    import hashlib  # noqa: PLC0415

    lines = lines_of(log_file)
    entry = json.loads(lines[2])
    entry["remote_id"] = "forged"
    del entry["hash"]
    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    lines[2] = f'{body[:-1]},"hash":"{hashlib.sha256(body.encode()).hexdigest()}"}}\n'
    log_file.write_text("".join(lines))
    result = verify_audit_log(log_file)
    assert (result.intact, result.problem_line) == (False, 4)


def test_a_deleted_line_is_found(log_file):
    lines = lines_of(log_file)
    del lines[6]
    log_file.write_text("".join(lines))
    result = verify_audit_log(log_file)
    assert (result.intact, result.problem_line) == (False, 7)
    assert "deleted, inserted or moved" in result.problem


def test_reordered_lines_are_found(log_file):
    lines = lines_of(log_file)
    lines[3], lines[4] = lines[4], lines[3]
    log_file.write_text("".join(lines))
    result = verify_audit_log(log_file)
    assert (result.intact, result.problem_line) == (False, 4)


def test_a_removed_first_line_is_found(log_file):
    log_file.write_text("".join(lines_of(log_file)[1:]))
    result = verify_audit_log(log_file)
    assert (result.intact, result.problem_line) == (False, 1)


def test_a_line_cut_off_midway_is_found(log_file):
    log_file.write_text(log_file.read_text()[:-30])
    assert not verify_audit_log(log_file).intact


def test_the_chain_continues_across_restarts_and_writers(tmp_path):
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)
    first.record("one")
    second.record("two")
    first.record("three")
    first.close()
    second.close()
    AuditLog(path).record("four")
    assert verify_audit_log(path).lines == 4


def test_audit_verify_exits_1_naming_the_line(log_file, capsys):
    lines = lines_of(log_file)
    del lines[2]
    log_file.write_text("".join(lines))
    assert main(["audit", "verify", str(log_file)]) == 1
    assert "TAMPERED at line 3" in capsys.readouterr().out


def test_audit_verify_exits_0_when_intact(log_file, capsys):
    assert main(["audit", "verify", str(log_file)]) == 0
    assert "intact, 10 events" in capsys.readouterr().out


def test_events_reach_the_structlog_pipeline_too(tmp_path):
    with capture_logs() as captured:
        AuditLog(tmp_path / "audit.jsonl").record("post.scheduled", submission="abc")
    assert captured[0]["event"] == "post.scheduled" and captured[0]["audit"] is True


def test_secrets_are_scrubbed_from_events(tmp_path):
    REDACTOR.add(["a-very-secret-page-token"])
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.record("platform.unavailable", reason="refused a-very-secret-page-token today",
                 details={"access_token": "anything", "url": "/v25.0/me?access_token=xyz123"})
    text = (tmp_path / "audit.jsonl").read_text()
    assert "a-very-secret-page-token" not in text
    assert "anything" not in text and "xyz123" not in text
    assert verify_audit_log(tmp_path / "audit.jsonl").intact
