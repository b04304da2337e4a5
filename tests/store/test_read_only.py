"""The commands that only read (`steward status`, `incidents export`, the anchor an audit
verification reads) open the database read-only: they work for someone who may read the state
directory but not write it, whether Steward is running or stopped, and they change nothing."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.audit.anchor import read_state_record
from daemon.cli.main import main
from daemon.runtime.store import Store, StoredSubmission
from tests.store.earlier_releases import FIRST_RELEASE, FIRST_RELEASE_ROWS, make_database
from tests.store.reader import as_a_reader_who_cannot_write

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def shared_folder():
    """A folder everyone may read (tmp_path's parents are private to their owner)."""
    folder = Path(tempfile.mkdtemp(prefix="steward-reader-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def state_directory(root: Path, *, upgraded: bool = True) -> tuple[Path, Path]:
    """A stopped Steward's state directory holding a term of work (upgraded by today's Store,
    with an anchor, unless `upgraded` is false), and a configuration naming it."""
    state = root / "state"
    state.mkdir(parents=True)
    state.chmod(0o755)
    database = make_database(state / "steward.sqlite3", FIRST_RELEASE, FIRST_RELEASE_ROWS)
    if upgraded:
        store = Store(database)
        store.set_audit_anchor(41, "f" * 64, "0" * 64, "2026-12-01T09:00:00+00:00",
                               "audit.jsonl", NOW)
        store.close()
    database.chmod(0o644)
    config = root / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state}"\n')
    return state, config


def run_as_owner(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().out


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


STATUS_LINES = [
    "Deliveries: 1 pending, 2 sent",
    "Next posts:",
    "  2026-11-20 17:30 UTC  open-evening  [scheduled: x pending]",
    "Platforms: not checked yet",
]


@pytest.mark.parametrize("upgraded", [True, False], ids=["upgraded", "not-yet-upgraded"])
def test_status_works_for_a_reader_who_cannot_write_the_state_directory(
        shared_folder, tmp_path, capsys, upgraded):
    _, owners_config = state_directory(tmp_path / "owner", upgraded=upgraded)
    expected = run_as_owner(["status", "--config", str(owners_config)], capsys)
    state, config = state_directory(shared_folder, upgraded=upgraded)
    before = contents(state)
    result, printed = as_a_reader_who_cannot_write(
        state, lambda: main(["status", "--config", str(config)]))
    assert (result, printed.replace(str(state), "STATE")) == (
        expected[0], expected[1].replace(str(owners_config.parent / "state"), "STATE"))
    assert result == 0
    assert [line for line in printed.splitlines() if line in STATUS_LINES] == STATUS_LINES
    assert contents(state) == before


def test_the_incident_log_exports_for_a_reader_who_cannot_write_the_state_directory(
        shared_folder, tmp_path, capsys):
    _, owners_config = state_directory(tmp_path / "owner")
    expected = run_as_owner(["incidents", "export", "--config", str(owners_config)], capsys)
    state, config = state_directory(shared_folder)
    result, printed = as_a_reader_who_cannot_write(
        state, lambda: main(["incidents", "export", "--config", str(config)]))
    assert (result, printed) == expected
    assert printed.splitlines()[1] == (  # the school's time (British Summer Time)
        "INC-2026-0001,2026-10-02,10:00,x,insult,evidence saved; hidden,head teacher,open,"
        f"/srv/steward/evidence/r1.json,{'c' * 64}")


def test_an_auditor_who_cannot_write_the_state_directory_reads_the_anchor(shared_folder):
    state, _ = state_directory(shared_folder)

    def read() -> list:
        record = read_state_record(state)
        return [record.anchor.describe() if record.anchor else None, record.activity]

    owner = read()
    result, _ = as_a_reader_who_cannot_write(state, read)
    assert result == owner
    assert result[0].startswith("checkpoint #41")
    assert result[1] == "2 submissions, 2 replies, 1 incident, 1 handover"


def test_a_reader_sees_what_a_running_steward_has_not_yet_checkpointed(shared_folder):
    state, config = state_directory(shared_folder)
    running = Store(state / "steward.sqlite3")  # holds the write-ahead log open, as the daemon
    try:
        running.add_submission(StoredSubmission(
            id="sub-3", name="carol-service", content_sha256="9" * 64,
            publish_at=datetime(2026, 12, 18, 14, 0, tzinfo=UTC), status="scheduled",
            signers=["Deputy Head Ashdown"], received_at=NOW, folder=state / "accepted",
            posts={"facebook": {"text": "Carol service"}}), NOW)
        result, printed = as_a_reader_who_cannot_write(
            state, lambda: main(["status", "--config", str(config)]))
    finally:
        running.close()
    assert result == 0
    assert "  2026-12-18 14:00 UTC  carol-service  [scheduled: facebook pending]" in printed


def test_the_reading_commands_write_nothing(tmp_path, capsys):
    state, config = state_directory(tmp_path)
    before = contents(state)
    assert run_as_owner(["status", "--config", str(config)], capsys)[0] == 0
    assert run_as_owner(["incidents", "export", "--config", str(config)], capsys)[0] == 0
    read_state_record(state)
    assert contents(state) == before


def test_a_read_only_store_refuses_to_write(tmp_path):
    state, _ = state_directory(tmp_path)
    store = Store.open_read_only(state / "steward.sqlite3")
    try:
        from daemon.runtime.store import StoreError  # noqa: PLC0415

        with pytest.raises(StoreError, match="read-only"):
            store.set_cursor("x", "mentions", "elsewhere")
    finally:
        store.close()
