"""The audit log is a numbered hash chain sealed by signed checkpoints: any edited, deleted,
reordered or cut-off line, any missing file and any re-chained forgery is found and named."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from structlog.testing import capture_logs

from daemon.audit.chain import AuditLog, hashed_line, log_files
from daemon.audit.verification import verify_chain
from daemon.cli.main import main
from daemon.runtime.keys import audit_signing_key, public_key_text
from daemon.runtime.logs import REDACTOR


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    for number in range(10):
        audit.record("post.published", platform="x", remote_id=str(1000 + number))
    audit.close()
    return path


@pytest.fixture
def public_key(tmp_path):
    return public_key_text(audit_signing_key(tmp_path))


def lines_of(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def rechain(lines, signing_key=None):
    """What a forger without Steward's key does: renumber and re-hash every line, so the chain
    itself is perfect; checkpoints are re-signed with the forger's own key, if given."""
    from daemon.audit.chain import checkpoint_message, key_fingerprint  # noqa: PLC0415
    from daemon.runtime.keys import sign_bytes  # noqa: PLC0415

    previous, out = "0" * 64, []
    for seq, line in enumerate(lines):
        entry = json.loads(line)
        del entry["hash"]
        entry["seq"], entry["prev"] = seq, previous
        if entry["event"] == "audit.checkpoint":
            entry["events_covered"] = seq
            if signing_key is not None:
                entry["key"] = key_fingerprint(public_key_text(signing_key))
                entry["signature"] = sign_bytes(signing_key, checkpoint_message(entry))
        line, previous = hashed_line(entry)
        out.append(line)
    return out


def verify(path, key, **options):
    return verify_chain([path], [key], **options)


def test_an_untouched_log_verifies_and_ends_in_a_signed_checkpoint(log_file, public_key):
    result = verify(log_file, public_key)
    assert result.intact, result.describe()
    assert (result.events, result.checkpoints, result.uncovered) == (11, 1, 0)
    assert json.loads(lines_of(log_file)[-1])["reason"] == "stop"


def test_an_edited_line_is_found(log_file, public_key):
    lines = lines_of(log_file)
    lines[4] = lines[4].replace('"1004"', '"9999"')
    log_file.write_text("".join(lines))
    result = verify(log_file, public_key)
    assert (result.intact, result.problem.line) == (False, 5)
    assert "edited" in result.problem.message


def test_an_edit_that_recomputes_the_lines_own_hash_breaks_the_next_line(log_file, public_key):
    lines = lines_of(log_file)
    entry = json.loads(lines[2])
    entry["remote_id"] = "forged"
    del entry["hash"]
    lines[2], _ = hashed_line(entry)
    log_file.write_text("".join(lines))
    result = verify(log_file, public_key)
    assert (result.intact, result.problem.line) == (False, 4)


def test_a_deleted_line_is_found(log_file, public_key):
    lines = lines_of(log_file)
    del lines[6]
    log_file.write_text("".join(lines))
    result = verify(log_file, public_key)
    assert (result.intact, result.problem.line) == (False, 7)
    assert "deleted, inserted or moved" in result.problem.message


def test_reordered_lines_are_found(log_file, public_key):
    lines = lines_of(log_file)
    lines[3], lines[4] = lines[4], lines[3]
    log_file.write_text("".join(lines))
    result = verify(log_file, public_key)
    assert (result.intact, result.problem.line) == (False, 4)


def test_a_removed_first_line_is_found(log_file, public_key):
    log_file.write_text("".join(lines_of(log_file)[1:]))
    result = verify(log_file, public_key)
    assert (result.intact, result.problem.line) == (False, 1)


def test_a_line_cut_off_midway_is_found(log_file, public_key):
    log_file.write_text(log_file.read_text()[:-30])
    result = verify(log_file, public_key)
    assert not result.intact and "incomplete" in result.problem.message


def test_a_tail_cut_off_at_a_line_boundary_is_reported_as_possibly_truncated(log_file,
                                                                             public_key):
    log_file.write_text("".join(lines_of(log_file)[:-3]))
    result = verify(log_file, public_key)
    assert not result.intact and "possibly truncated" in result.problem.message


def test_a_tail_cut_off_after_a_checkpoint_says_what_is_not_covered(tmp_path, public_key):
    audit = AuditLog(tmp_path / "audit.jsonl", checkpoint_every_events=4)
    for number in range(9):
        audit.record("post.published", remote_id=str(number))
    audit.close()
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(lines_of(path)[:-3]))
    result = verify(path, public_key)
    assert "possibly truncated" in result.problem.message
    assert "The last 4 event(s), after checkpoint #4" in result.problem.message
    assert "--open-tail" in result.problem.message


def test_the_live_log_of_a_running_steward_verifies_with_an_open_tail(tmp_path, public_key):
    audit = AuditLog(tmp_path / "audit.jsonl", checkpoint_every_events=5)
    for number in range(8):
        audit.record("post.published", remote_id=str(number))
    result = verify(tmp_path / "audit.jsonl", public_key, open_tail=True)
    assert result.intact, result.describe()
    assert (result.checkpoints, result.uncovered) == (1, 3)
    assert "open tail: 3 event(s)" in result.describe()
    assert not verify(tmp_path / "audit.jsonl", public_key).intact


def test_a_re_chained_forgery_without_the_key_fails_at_its_first_checkpoint(log_file,
                                                                            public_key):
    lines = lines_of(log_file)
    lines[3] = lines[3].replace('"1003"', '"7777"')
    log_file.write_text("".join(rechain(lines)))
    result = verify(log_file, public_key)
    assert (result.intact, result.problem.line) == (False, 11)
    assert "signature is not valid" in result.problem.message


def test_a_forgery_signed_with_another_key_is_rejected(log_file, public_key):
    log_file.write_text("".join(rechain(lines_of(log_file), Ed25519PrivateKey.generate())))
    result = verify(log_file, public_key)
    assert not result.intact and "not a key you gave" in result.problem.message


def test_a_forgery_with_no_checkpoints_is_rejected_even_as_a_live_log(log_file, public_key):
    forged = [line for line in lines_of(log_file) if "audit.checkpoint" not in line]
    log_file.write_text("".join(rechain(forged)))
    result = verify(log_file, public_key, open_tail=True)
    assert not result.intact and "no signed checkpoint at all" in result.problem.message


def test_a_checkpoint_is_signed_every_n_events(tmp_path, public_key):
    audit = AuditLog(tmp_path / "audit.jsonl", checkpoint_every_events=3)
    for number in range(9):
        audit.record("post.published", remote_id=str(number))
    audit.close()
    events = [json.loads(line)["event"] for line in lines_of(tmp_path / "audit.jsonl")]
    assert events.count("audit.checkpoint") == 3
    assert events[-1] == "audit.checkpoint" and events[3] == "audit.checkpoint"


def test_the_chain_continues_across_restarts_and_writers(tmp_path, public_key):
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)
    first.record("one")
    second.record("two")
    first.record("three")
    first.close()
    second.close()
    AuditLog(path).record("four")
    result = verify(path, public_key, open_tail=True)
    assert result.intact, result.describe()
    assert [json.loads(line)["seq"] for line in lines_of(path)] == list(range(result.events))


# -- rotation ----------------------------------------------------------------------------------

def rotated_log(tmp_path, files=3):
    audit = AuditLog(tmp_path / "audit.jsonl")
    for number in range(files * 4):
        audit.record("post.published", remote_id=str(number))
        if number % 4 == 3 and number < (files - 1) * 4:
            audit.rotate("test")
    audit.close()
    return log_files(tmp_path)


def test_rotation_keeps_one_continuous_chain_across_files(tmp_path, public_key):
    files = rotated_log(tmp_path)
    assert len(files) == 3 and files[-1].name == "audit.jsonl"
    first_of_second = json.loads(lines_of(files[1])[0])
    assert first_of_second["event"] == "audit.continued"
    assert first_of_second["previous_file"] == files[0].name
    result = verify_chain([tmp_path], [public_key])
    assert result.intact, result.describe()
    assert len(result.files) == 3


def test_every_rotated_file_ends_in_a_signed_checkpoint(tmp_path):
    for path in rotated_log(tmp_path):
        assert json.loads(lines_of(path)[-1])["event"] == "audit.checkpoint"


def test_a_folder_of_copied_files_verifies_in_chain_order_whatever_their_names(tmp_path):
    copies = tmp_path / "for-the-auditor"
    copies.mkdir()
    for number, path in enumerate(reversed(rotated_log(tmp_path / "state"))):
        (copies / f"copy-{number}.jsonl").write_bytes(path.read_bytes())
    result = verify_chain([copies], [public_key_text(audit_signing_key(tmp_path / "state"))])
    assert result.intact, result.describe()


def test_a_missing_middle_file_is_found(tmp_path, public_key):
    files = rotated_log(tmp_path)
    files[1].unlink()
    result = verify_chain([tmp_path], [public_key])
    assert not result.intact
    assert result.problem.file == files[2]
    assert f"does not continue {files[0].name}" in result.problem.message


def test_missing_oldest_files_are_found(tmp_path, public_key):
    files = rotated_log(tmp_path)
    files[0].unlink()
    result = verify_chain([tmp_path], [public_key])
    assert not result.intact and "the chain does not begin here" in result.problem.message


def test_a_writer_in_another_process_follows_a_rotation(tmp_path, public_key):
    path = tmp_path / "audit.jsonl"
    daemon_log, command_log = AuditLog(path), AuditLog(path)
    daemon_log.record("one")
    daemon_log.rotate("test")
    command_log.record("two")  # its handle still points at the archived file
    daemon_log.record("three")
    command_log.close()
    daemon_log.close()
    assert '"two"' in path.read_text()
    result = verify_chain([tmp_path], [public_key])
    assert result.intact, result.describe()


def test_a_rotation_interrupted_after_archiving_is_undone_at_the_next_open(tmp_path,
                                                                           public_key):
    import os  # noqa: PLC0415

    path = tmp_path / "audit.jsonl"
    AuditLog(path).record("one")
    (tmp_path / "audit-archive").mkdir()
    os.link(path, tmp_path / "audit-archive" / "audit-0000000000-20261122.jsonl")
    (tmp_path / "audit.jsonl.next").write_text('{"half-written')
    audit = AuditLog(path)
    audit.record("two")
    audit.close()
    assert not any((tmp_path / "audit-archive").iterdir())
    assert not (tmp_path / "audit.jsonl.next").exists()
    assert verify_chain([tmp_path], [public_key]).intact


def test_a_command_opening_the_log_waits_for_a_rotation_in_progress_instead_of_undoing_it(
        tmp_path, public_key):
    import fcntl  # noqa: PLC0415
    import os  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from daemon.audit.chain import read_tail_state  # noqa: PLC0415

    path, archive = tmp_path / "audit.jsonl", tmp_path / "audit-archive"
    daemon_log = AuditLog(path)
    daemon_log.record("one")
    daemon_log.close()
    # The daemon, mid-rotation: it holds the live file's lock, has archived it (a hard link)
    # and written the new file's first line, but not yet put it in place.
    rotating = open(path, "a")  # noqa: SIM115
    fcntl.flock(rotating, fcntl.LOCK_EX)
    archive.mkdir()
    archived = archive / "audit-0000000000-20261122.jsonl"
    os.link(path, archived)
    tail = read_tail_state(path)
    first_line, _ = hashed_line({"timestamp": "2026-11-22T00:00:00.000+00:00",
                                 "event": "audit.continued", "level": "info", "reason": "test",
                                 "previous_file": archived.name, "seq": tail.next_seq,
                                 "prev": tail.last_hash})
    (tmp_path / "audit.jsonl.next").write_text(first_line)

    def a_command_records_something():
        command_log = AuditLog(path)
        command_log.record("two")
        command_log.close()

    command = threading.Thread(target=a_command_records_something)
    command.start()
    command.join(0.5)
    assert command.is_alive(), "the command did not wait for the rotation"
    os.replace(tmp_path / "audit.jsonl.next", path)  # the daemon finishes its rotation
    fcntl.flock(rotating, fcntl.LOCK_UN)
    rotating.close()
    command.join(10)
    assert archived.exists()
    assert '"two"' in path.read_text()
    result = verify_chain([tmp_path], [public_key])
    assert result.intact, result.describe()


def test_a_day_old_file_rotates_at_the_hourly_housekeeping(tmp_path, public_key):
    from datetime import UTC, datetime  # noqa: PLC0415

    from daemon.runtime.clock import FixedClock  # noqa: PLC0415

    clock = FixedClock(datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    audit = AuditLog(tmp_path / "audit.jsonl", clock)
    audit.record("one")
    audit.record("two")
    assert not audit.rotate_if_due()
    clock.advance(3600)
    assert audit.rotate_if_due()
    audit.close()
    assert [path.name for path in log_files(tmp_path)] == [
        "audit-0000000000-20261122.jsonl", "audit.jsonl"]
    assert verify_chain([tmp_path], [public_key]).intact


def test_a_file_rotates_when_it_grows_past_its_size(tmp_path, public_key):
    audit = AuditLog(tmp_path / "audit.jsonl", rotate_max_bytes=2000)
    for number in range(30):
        audit.record("post.published", remote_id=str(number))
    audit.close()
    assert len(log_files(tmp_path)) >= 3
    assert verify_chain([tmp_path], [public_key]).intact


# -- the command -------------------------------------------------------------------------------

def test_audit_verify_exits_1_naming_the_file_and_line(log_file, public_key, capsys):
    lines = lines_of(log_file)
    del lines[2]
    log_file.write_text("".join(lines))
    assert main(["audit", "verify", str(log_file), "--key", public_key]) == 1
    assert f"NOT VERIFIED: {log_file}, line 3:" in capsys.readouterr().out


def test_audit_verify_shows_what_the_log_says_escaped(log_file, public_key, capsys):
    """The verdict quotes the log (here a line's number), and anyone who can write the file
    can put terminal escapes there with a matching hash and no key."""
    last = json.loads(lines_of(log_file)[-1])
    line, _ = hashed_line({"timestamp": "2026-12-07T15:40:00.000+00:00", "event": "x",
                           "seq": "\x1b[2J\x1b[HVERIFIED: all is well\n", "prev": last["hash"]})
    with log_file.open("a") as out:
        out.write(line)
    assert main(["audit", "verify", str(log_file), "--key", public_key]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "numbered #\\x1b[2J\\x1b[HVERIFIED: all is well\\n where" in out


def test_audit_verify_refuses_an_endless_line_without_holding_it(log_file, public_key, capsys):
    with log_file.open("ab") as out:
        out.write(b"\0" * (17 << 20))
    assert main(["audit", "verify", str(log_file), "--key", public_key]) == 1
    assert f"{log_file}, line 12: the line is longer than 16 MB" in capsys.readouterr().out


def test_audit_verify_exits_0_when_verified(log_file, public_key, capsys):
    assert main(["audit", "verify", str(log_file), "--key", public_key]) == 0
    assert "VERIFIED: 11 events in 1 file(s), chain unbroken, 1 signed checkpoint(s)" in \
        capsys.readouterr().out


def test_audit_verify_takes_the_key_from_a_file_and_a_state_dir(log_file, public_key, tmp_path,
                                                                capsys):
    key_file = tmp_path / "steward-audit.pub"
    key_file.write_text(public_key + "\n")
    assert main(["audit", "verify", "--state-dir", str(tmp_path), "--key",
                 str(key_file)]) == 0


def test_audit_verify_says_a_key_file_that_is_not_there_is_missing_not_forged(log_file,
                                                                             tmp_path, capsys):
    missing = tmp_path / "usb" / "steward-audit.pub"
    assert main(["audit", "verify", str(log_file), "--key", str(missing)]) == 2
    captured = capsys.readouterr()
    assert f"--key {missing}: there is no such file" in captured.err
    assert "forged" not in captured.out + captured.err
    assert "VERIFIED" not in captured.out  # nothing was checked against a key never read


def test_audit_verify_says_a_key_file_that_holds_no_key_is_not_a_key(log_file, tmp_path,
                                                                      capsys):
    for content in (b"not a key\n", b"\xff\xfe\x00binary"):
        wrong = tmp_path / "steward-audit.pub"
        wrong.write_bytes(content)
        assert main(["audit", "verify", str(log_file), "--key", str(wrong)]) == 2
        assert f"--key {wrong}: the file does not hold a public key" in capsys.readouterr().err


def test_audit_report_says_a_key_file_that_is_not_there_is_missing(log_file, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["audit", "report", "--html", str(out), str(log_file), "--key",
                 "steward-audit.pub"]) == 2
    assert "--key steward-audit.pub: there is no such file" in capsys.readouterr().err
    assert not out.exists()


def test_audit_verify_without_a_key_uses_this_machines_and_says_so(log_file, tmp_path, capsys):
    assert main(["audit", "verify", "--state-dir", str(tmp_path)]) == 0
    assert "an auditor should pass the key" in capsys.readouterr().out


def test_audit_verify_refuses_a_log_it_cannot_check_signatures_of(log_file, tmp_path, capsys):
    (tmp_path / "audit-signing.key").unlink()
    assert main(["audit", "verify", str(log_file), "--state-dir", str(tmp_path)]) == 1
    assert "no public key was given" in capsys.readouterr().out


# -- what goes in ------------------------------------------------------------------------------

def test_events_reach_the_structlog_pipeline_too(tmp_path):
    with capture_logs() as captured:
        AuditLog(tmp_path / "audit.jsonl").record("post.scheduled", submission="abc")
    assert captured[0]["event"] == "post.scheduled" and captured[0]["audit"] is True


def test_secrets_are_scrubbed_from_events(tmp_path, public_key):
    REDACTOR.add(["a-very-secret-page-token"])
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.record("platform.unavailable", reason="refused a-very-secret-page-token today",
                 details={"access_token": "anything", "url": "/v25.0/me?access_token=xyz123"})
    audit.close()
    text = (tmp_path / "audit.jsonl").read_text()
    assert "a-very-secret-page-token" not in text
    assert "anything" not in text and "xyz123" not in text
    assert verify(tmp_path / "audit.jsonl", public_key).intact


def test_a_log_written_before_sequence_numbers_is_continued_after_an_upgrade(tmp_path,
                                                                             public_key):
    """Earlier versions wrote prev and hash but no seq and no checkpoints; upgrading must not
    strand that history: the new writer numbers on from its length and seals it."""
    previous, lines = "0" * 64, []
    for number in range(3):
        line, previous = hashed_line({"timestamp": f"2026-09-0{number + 1}T08:00:00.000+00:00",
                                      "event": "post.published", "level": "info",
                                      "platform": "x", "prev": previous})
        lines.append(line)
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(lines))

    audit = AuditLog(path)
    audit.record("service.started")
    audit.close()

    result = verify(path, public_key)
    assert result.intact, result.describe()
    assert result.events == 5
    assert [json.loads(line).get("seq") for line in lines_of(path)[3:]] == [3, 4]
