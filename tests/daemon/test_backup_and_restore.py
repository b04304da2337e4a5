"""A backup of a running Steward restores onto a new machine: the audit log verifies there with
the key the auditors hold, and the daemon starts on it and carries on with what was queued."""

from __future__ import annotations

import io
import os
import tarfile
import threading

import pytest

from daemon.audit.verification import verify_chain
from daemon.cli.main import main
from daemon.runtime.backup import BackupError, create_backup, restore_backup
from daemon.runtime.keys import audit_signing_key, public_key_text
from tests.daemon.harness import StewardUnderTest

pytestmark = pytest.mark.slow


def test_a_backup_restores_on_a_new_machine_and_the_log_verifies(tmp_path):
    school = StewardUnderTest(tmp_path / "old-machine")
    school.start()
    try:
        school.post("sports-day", "Sports day was wonderful!", platforms=["x"])
        assert school.wait_for_status("sports-day")
        school.post("later", "A post for next week.", publish_at=school.soon(7 * 86400))
        assert school.wait_for_status("later", ("scheduled",))
        auditors_key = public_key_text(audit_signing_key(school.state_dir))
        backup = io.BytesIO()
        create_backup(school.state_dir, backup)  # while it runs
    finally:
        school.stop()

    new_machine = StewardUnderTest(tmp_path / "new-machine")
    backup.seek(0)
    restore_backup(backup, new_machine.state_dir)
    report = verify_chain([new_machine.state_dir], [auditors_key], open_tail=True,
                          unsigned_ok=True)
    assert report.intact, report.problem
    new_machine.start()
    try:
        rows = new_machine.service.store.query("SELECT name, status FROM submissions")
        assert {(row["name"], row["status"]) for row in rows} == {("sports-day", "done"),
                                                                   ("later", "scheduled")}
    finally:
        new_machine.stop()
    assert verify_chain([new_machine.state_dir], [auditors_key]).intact


def test_restoring_refuses_a_state_directory_in_use_and_a_hostile_archive(tmp_path):
    school = StewardUnderTest(tmp_path / "school")
    school.start()
    school.stop()
    backup = io.BytesIO()
    create_backup(school.state_dir, backup)
    backup.seek(0)
    with pytest.raises(BackupError, match="already holds a Steward database"):
        restore_backup(backup, school.state_dir)
    hostile = io.BytesIO()
    with tarfile.open(fileobj=hostile, mode="w:gz") as archive:
        info = tarfile.TarInfo("../../etc/steward/steward.toml")
        archive.addfile(info, io.BytesIO(b""))
    hostile.seek(0)
    with pytest.raises(BackupError, match="outside the state directory"):
        restore_backup(hostile, tmp_path / "empty")
    assert not (tmp_path / "empty").exists()


def test_the_backup_commands_say_what_they_did(tmp_path, capsys):
    school = StewardUnderTest(tmp_path / "school")
    school.start()
    school.stop()
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{school.state_dir}"\n')
    target = tmp_path / "backup.tar.gz"
    assert main(["backup", "create", str(target), "--config", str(config)]) == 0
    assert "steward.sqlite3" in capsys.readouterr().err
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(f'[paths]\nstate_dir = "{tmp_path / "restored"}"\n')
    assert main(["backup", "restore", str(target), "--config", str(fresh)]) == 0
    assert (tmp_path / "restored" / "steward.sqlite3").is_file()


def test_a_backup_made_by_the_command_while_steward_runs_restores_to_a_sealed_log(tmp_path):
    """`steward backup create` records the backup and signs a checkpoint, and the copy ends
    there: the restored log verifies as closed (no --open-tail), and the restore is recorded."""
    school = StewardUnderTest(tmp_path / "school")
    school.start()
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{school.state_dir}"\n')
    target = tmp_path / "backup.tar.gz"
    try:
        school.post("sports-day", "Sports day was wonderful!", platforms=["x"])
        assert school.wait_for_status("sports-day")
        school.service.audit.record("test.written_before_the_backup")  # left open by the daemon
        assert main(["backup", "create", str(target), "--config", str(config)]) == 0
    finally:
        school.stop()
    auditors_key = public_key_text(audit_signing_key(school.state_dir))
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(f'[paths]\nstate_dir = "{tmp_path / "restored"}"\n')
    assert main(["backup", "restore", str(target), "--config", str(fresh)]) == 0
    report = verify_chain([tmp_path / "restored"], [auditors_key])
    assert report.intact, report.problem
    events = [line for line in (tmp_path / "restored" / "audit.jsonl").read_text().splitlines()]
    assert '"event":"state.backed_up"' in "".join(events)
    assert '"event":"state.restored"' in events[-2]


def test_a_backup_restores_from_a_pipe(tmp_path):
    """`sudo cat FILE | sudo steward admin backup restore -`: standard input cannot seek."""
    school = StewardUnderTest(tmp_path / "school")
    school.start()
    school.stop()
    backup = io.BytesIO()
    create_backup(school.state_dir, backup)
    reader, writer = os.pipe()

    def feed() -> None:
        with os.fdopen(writer, "wb") as pipe_in:
            pipe_in.write(backup.getvalue())

    feeding = threading.Thread(target=feed)
    feeding.start()
    with os.fdopen(reader, "rb") as pipe_out:
        names = restore_backup(pipe_out, tmp_path / "restored")
    feeding.join()
    assert "steward.sqlite3" in names and (tmp_path / "restored" / "steward.sqlite3").is_file()


def modes(folder) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_mode & 0o7777
            for path in sorted(folder.rglob("*"))}


def test_a_restore_keeps_each_files_mode_and_the_outbox_stays_the_services_own(tmp_path):
    """The daemon keeps its mail outbox (cur, new, tmp) to itself, 0700, while the group
    `steward` (the DSL, the auditors) may read the rest: a restore keeps that as it was."""
    from config.settings import MailSettings  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415

    state = tmp_path / "state"
    previous = os.umask(0o027)  # the unit's UMask=
    try:
        state.mkdir(mode=0o750)
        Store(state / "steward.sqlite3").close()
        Mailer(MailSettings(), state / "outbox").send([], "[Steward] an alert", "a body")
        (state / "evidence").mkdir()
        (state / "evidence" / "INC-2026-0001.json").write_text("{}")
        (state / "vault.json").write_text("{}")
        (state / "vault.json").chmod(0o600)
    finally:
        os.umask(previous)
    before = modes(state)
    assert {before[name] for name in ("outbox", "outbox/cur", "outbox/new", "outbox/tmp")} == \
        {0o700}
    assert all(mode & 0o007 == 0 for mode in before.values())
    backup = io.BytesIO()
    create_backup(state, backup)
    backup.seek(0)
    restore_backup(backup, tmp_path / "restored")
    assert modes(tmp_path / "restored") == before


def test_a_restore_never_gives_more_than_the_service_would_whatever_the_archive_says(tmp_path):
    hostile = io.BytesIO()
    with tarfile.open(fileobj=hostile, mode="w:gz") as archive:
        for name, mode, kind in (("steward.sqlite3", 0o666, tarfile.REGTYPE),
                                 ("evidence", 0o2777, tarfile.DIRTYPE),
                                 ("evidence/a.json", 0o4755, tarfile.REGTYPE),
                                 ("vault.json", 0o644, tarfile.REGTYPE),
                                 ("queue", 0o500, tarfile.DIRTYPE),
                                 ("queue/accepted.md", 0o400, tarfile.REGTYPE)):
            info = tarfile.TarInfo(name)
            info.mode, info.type = mode, kind
            archive.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    hostile.seek(0)
    restore_backup(hostile, tmp_path / "restored")
    assert modes(tmp_path / "restored") == {
        "steward.sqlite3": 0o640, "evidence": 0o750, "evidence/a.json": 0o640,
        "vault.json": 0o600, "queue": 0o500, "queue/accepted.md": 0o400}
