"""Old audit files can leave the machine on the record (`steward audit retire`), and only that
way: the log still verifies and Steward still starts, while files simply deleted, or a
retirement record nobody signed, are still refused."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from daemon.audit.chain import ARCHIVE_FOLDER, AuditLog, log_files
from daemon.audit.retirement import RetirementError, retire
from daemon.audit.verification import verify_chain
from daemon.cli.main import main
from daemon.runtime.keys import audit_signing_key, public_key_text
from tests.audit.term import write_term

CUT = date(2026, 10, 1)


@pytest.fixture
def state(tmp_path):
    return write_term(tmp_path / "state")


@pytest.fixture
def key(state):
    return public_key_text(audit_signing_key(state))


def retire_now(state, destination, **options):
    audit = AuditLog(state / "audit.jsonl")
    try:
        return retire(state, CUT, destination, audit, audit_key(state), **options)
    finally:
        audit.close()


def audit_key(state):
    return public_key_text(audit_signing_key(state))


def test_retired_files_leave_a_log_that_verifies_and_says_what_left(state, key, tmp_path):
    before = log_files(state)
    done = retire_now(state, tmp_path / "backup")
    assert done.files and done.up_to_seq is not None
    remaining = log_files(state)
    assert len(remaining) == len(before) - len(done.files)
    result = verify_chain([state], [key])
    assert result.intact, result.describe()
    assert any(f"events #0 to #{done.up_to_seq} were retired" in note for note in result.notes)
    events = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    [record] = [event for event in events if event["event"] == "audit.retired"]
    assert [file["name"] for file in record["files"]] == [path.name for path in before[
        :len(done.files)]]
    assert events[-1]["event"] == "audit.checkpoint"  # signed before anything was removed


def test_the_retired_copies_verify_on_their_own_and_with_the_rest(state, key, tmp_path):
    done = retire_now(state, tmp_path / "backup")
    copies = verify_chain([tmp_path / "backup"], [key])
    assert copies.intact, copies.describe()
    assert copies.events == done.up_to_seq + 1
    whole = verify_chain([tmp_path / "backup", state], [key])
    assert whole.intact, whole.describe()


def test_only_files_whose_every_event_is_older_than_the_date_leave(state, tmp_path):
    retire_now(state, tmp_path / "backup")
    for path in (tmp_path / "backup").glob("*.jsonl"):
        last = json.loads(path.read_text().splitlines()[-1])
        assert last["timestamp"][:10] < CUT.isoformat()
    oldest_left = json.loads(log_files(state)[0].read_text().splitlines()[-1])
    assert oldest_left["timestamp"][:10] >= CUT.isoformat()  # it holds an event of the cut day


def test_steward_starts_after_a_retirement(state, tmp_path):
    from daemon.service import Service  # noqa: PLC0415
    from tests.daemon.harness import StewardUnderTest  # noqa: PLC0415

    retire_now(state, tmp_path / "backup")
    steward = StewardUnderTest(tmp_path)
    assert steward.state_dir == state
    service = Service(steward.settings, steward.clock)
    service.start()
    service.stop("test finished")


def test_deleting_old_files_without_retiring_them_is_still_refused(state, key, tmp_path):
    retire_now(state, tmp_path / "backup")
    log_files(state)[0].unlink()  # one more, quietly
    result = verify_chain([state], [key])
    assert not result.intact
    assert "no signed audit.retired event" in result.problem.message


def test_a_retirement_record_nobody_signed_does_not_excuse_missing_files(state, key):
    files = log_files(state)
    first_kept = json.loads(files[3].read_text().splitlines()[0])
    for path in files[:3]:
        path.unlink()
    forger = AuditLog(state / "audit.jsonl", signing_key=None)  # has no key: cannot sign
    forger.record("audit.retired", up_to_seq=first_kept["seq"] - 1, head=first_kept["prev"],
                  destination="/nowhere", files=[])
    forger.close()
    result = verify_chain([state], [key], open_tail=True)
    assert not result.intact
    assert "the chain does not begin here" in result.problem.message


def test_nothing_is_removed_when_the_copies_cannot_be_made(state, tmp_path):
    before = log_files(state)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(RetirementError, match="nothing was removed"):
        retire_now(state, blocked)
    assert log_files(state) == before


def test_refuses_to_retire_into_the_state_directory(state):
    before = log_files(state)
    with pytest.raises(RetirementError, match="inside the state directory"):
        retire_now(state, state / "old")
    assert log_files(state) == before


def test_refuses_to_retire_from_a_log_that_does_not_verify(state, tmp_path):
    victim = log_files(state)[1]
    victim.write_text(victim.read_text().replace("news-w0", "news-wX", 1))
    before = log_files(state)
    with pytest.raises(RetirementError, match="does not verify"):
        retire_now(state, tmp_path / "backup")
    assert log_files(state) == before


def test_a_retirement_interrupted_after_copying_finishes_when_run_again(state, key, tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    for path in log_files(state)[:5]:  # copied, then the power failed
        shutil.copyfile(path, backup / path.name)
    done = retire_now(state, backup)
    assert len(done.files) > 5
    assert verify_chain([state], [key]).intact


def test_a_dry_run_changes_nothing(state, tmp_path):
    before = log_files(state)
    done = retire_now(state, tmp_path / "backup", dry_run=True)
    assert done.files and log_files(state) == before
    assert not (tmp_path / "backup").exists()


def test_the_command_retires_and_says_where(state, key, tmp_path, capsys):
    backup = tmp_path / "backup"
    assert main(["audit", "retire", "--before", "2026-10-01", "--to", str(backup),
                 "--state-dir", str(state)]) == 0
    printed = capsys.readouterr().out
    assert "retired events #0 to #" in printed and "sha256" in printed
    assert main(["audit", "verify", "--key", key, "--state-dir", str(state)]) == 0
    assert "were retired" in capsys.readouterr().out
    assert main(["audit", "retire", "--before", "someday", "--to", str(backup),
                 "--state-dir", str(state)]) == 2
    assert (state / ARCHIVE_FOLDER).is_dir()
