"""Upgrading: a database an earlier release made opens with today's Store, with nothing lost, and
one a newer Steward made is refused, untouched, with a message saying what to do."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from daemon.cli.main import main
from daemon.runtime import store as store_module
from daemon.runtime.store import SCHEMA_VERSION, Store, StoreError
from tests.store.earlier_releases import (
    FIRST_RELEASE,
    FIRST_RELEASE_ROWS,
    MODERATION_PREVIEW,
    MODERATION_PREVIEW_ROWS,
    columns,
    make_database,
    schema_version,
    table_rows,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADDED_SINCE = {"deliveries": 1}  # columns later migrations add at the end (prepared_id)


def as_released(path, table: str) -> list[tuple]:
    """The table's rows with only the columns the release had; the added ones are empty."""
    added = ADDED_SINCE.get(table, 0)
    rows = table_rows(path, table)
    assert all(value is None for row in rows for value in row[len(row) - added:]), table
    return [row[:len(row) - added] for row in rows]


@pytest.fixture
def first_release(tmp_path):
    return make_database(tmp_path / "steward.sqlite3", FIRST_RELEASE, FIRST_RELEASE_ROWS)


def test_a_first_release_database_upgrades_with_every_row_kept(first_release):
    Store(first_release).close()
    assert schema_version(first_release) == SCHEMA_VERSION
    for table, rows in FIRST_RELEASE_ROWS.items():
        assert as_released(first_release, table) == sorted(rows), table


def test_an_upgraded_first_release_database_gains_the_audit_anchor(first_release):
    store = Store(first_release)
    try:
        assert store.audit_anchor() is None
        store.set_audit_anchor(41, "f" * 64, "0" * 64, "2026-12-01T09:00:00+00:00",
                               "audit.jsonl", NOW)
        assert store.audit_anchor() == {
            "seq": 41, "head": "f" * 64, "sealed": "0" * 64,
            "signed_at": "2026-12-01T09:00:00+00:00", "file": "audit.jsonl",
            "recorded_at": "2026-12-01T09:00:00.000000Z"}
        assert store.activity() == "2 submissions, 2 replies, 1 incident, 1 handover"
    finally:
        store.close()


def test_todays_store_reads_what_the_first_release_wrote(first_release):
    store = Store(first_release)
    try:
        submission = store.submission("sub-2")
        assert submission.name == "open-evening"
        assert submission.signers == ["Deputy Head Ashdown", "Head Teacher Brackley"]
        assert [d.platform for d in store.deliveries("sub-1")] == ["facebook", "x"]
        assert store.remote_ids("x") == {"1850000000000000001"}
        assert store.cursor("x", "mentions") == "1850000000000000077"
        assert store.inactive_administrators() == {"Admin Carrow"}
        [handover] = store.handovers()
        assert (handover.old, handover.new, handover.finished_at is not None) == (
            "Admin Carrow", "Admin Denholm", True)
        assert handover.steps["validate"]["result"] == "ok"
        assert store.followers("x")["990004"].status == "grace"
        assert store.linked_users("x") == {"990003"}
        assert store.parent_email("d" * 64) == "parent.one@example.org"
        [open_item] = store.checklist_by_platform()
        assert open_item.key == "settings:facebook:messaging"
        [incident] = store.incidents()
        assert (incident.number, incident.reply) == ("INC-2026-0001", 1)
        assert store.labelled_replies() == [("an insulting reply", "offensive")]
    finally:
        store.close()


def test_a_development_build_without_a_version_or_the_label_column_upgrades(tmp_path):
    """A build from before the first release: tables missing altogether, and `replies` without
    the `label` column (added to its CREATE TABLE, which changes no existing table)."""
    database = make_database(tmp_path / "steward.sqlite3", MODERATION_PREVIEW,
                             MODERATION_PREVIEW_ROWS)
    assert "label" not in columns(database, "replies")
    store = Store(database)
    try:
        assert schema_version(database) == SCHEMA_VERSION
        assert "label" in columns(database, "replies")
        for table, rows in MODERATION_PREVIEW_ROWS.items():
            kept = as_released(database, table)
            if table == "replies":  # the column added comes last, empty
                assert {row[-1] for row in kept} == {None}
                kept = [row[:-1] for row in kept]
            assert kept == sorted(rows), table
        store.update_reply(2, "decided-allow", NOW, decision="done", label="clean")
        assert store.labelled_replies() == [("a borderline reply", "clean")]
        assert store.followers("x") == {} and store.handovers() == []
    finally:
        store.close()


def test_a_database_from_this_development_cycle_with_the_anchor_but_no_version_upgrades(
        tmp_path):
    database = make_database(tmp_path / "steward.sqlite3", FIRST_RELEASE, FIRST_RELEASE_ROWS)
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), seq "
                   "INTEGER NOT NULL, head TEXT NOT NULL, sealed TEXT NOT NULL, signed_at TEXT "
                   "NOT NULL, file TEXT NOT NULL, recorded_at TEXT NOT NULL)")
        db.execute("INSERT INTO audit_anchor VALUES (1, 7, 'head', 'sealed', 'then', "
                   "'audit.jsonl', '2026-12-01T08:00:00.000000Z')")
    db.close()
    store = Store(database)
    try:
        assert store.audit_anchor()["seq"] == 7
    finally:
        store.close()
    assert schema_version(database) == SCHEMA_VERSION


def test_a_new_database_is_made_at_the_current_version_and_opens_again_unchanged(tmp_path):
    database = tmp_path / "steward.sqlite3"
    Store(database).close()
    assert schema_version(database) == SCHEMA_VERSION
    before = database.read_bytes()
    Store(database).close()
    assert database.read_bytes() == before


def test_refuses_a_database_from_a_newer_steward_and_leaves_it_untouched(tmp_path):
    database = tmp_path / "steward.sqlite3"
    Store(database).close()
    with sqlite3.connect(database) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = database.read_bytes()
    with pytest.raises(StoreError) as refusal:
        Store(database)
    message = str(refusal.value)
    assert str(database) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message and "newer Steward" in message
    assert "backup" in message
    assert database.read_bytes() == before
    with pytest.raises(StoreError, match="newer Steward"):
        Store.open_read_only(database)


def test_a_migration_that_fails_changes_nothing_and_says_which(first_release, monkeypatch):
    def half_done(database):
        database.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    migrations = (*store_module.MIGRATIONS, store_module.Migration(
        SCHEMA_VERSION + 1, "a step that fails half-way", half_done))
    monkeypatch.setattr(store_module, "MIGRATIONS", migrations)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError) as failure:
        Store(first_release)
    assert str(first_release) in str(failure.value)
    assert "a step that fails half-way" in str(failure.value)
    assert schema_version(first_release) == SCHEMA_VERSION  # the steps before it were kept
    assert "half_done" not in {row[0] for row in table_rows(first_release, "sqlite_master")}
    for table, rows in FIRST_RELEASE_ROWS.items():
        assert as_released(first_release, table) == sorted(rows), table


def test_the_migrations_are_numbered_in_order_from_one():
    assert [migration.version for migration in store_module.MIGRATIONS] == list(
        range(1, SCHEMA_VERSION + 1))


@pytest.mark.parametrize("command", [["status"], ["incidents", "export"],
                                     ["followers", "report"]])
def test_commands_say_plainly_that_a_newer_steward_wrote_the_database(tmp_path, capsys, command):
    state = tmp_path / "state"
    state.mkdir()
    database = state / "steward.sqlite3"
    Store(database).close()
    with sqlite3.connect(database) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state}"\n')
    capsys.readouterr()
    assert main([*command, "--config", str(config)]) == 1
    error = capsys.readouterr().err
    assert f"{database} was written by a newer Steward" in error
    assert "Traceback" not in error and error.count("\n") == 1


def test_an_upgraded_database_keeps_which_pupils_each_post_pictures_as_hashes(first_release):
    store = Store(first_release)
    try:
        assert store.submissions_picturing("a" * 64) == []
        store.record_pictured("sub-2", ["a" * 64, "b" * 64])
        assert [s.name for s in store.submissions_picturing("a" * 64)] == ["open-evening"]
        assert store.pictured_hashes("sub-2") == {"a" * 64, "b" * 64}
        takedown = store.add_takedown(reason="withdrawn", status="waiting", due_at=NOW, now=NOW,
                                      pupil_hash="a" * 64)
        assert store.set_takedown_status(takedown, "kept", NOW, from_statuses=("waiting",))
        assert not store.set_takedown_status(takedown, "due", NOW, from_statuses=("waiting",))
        assert store.takedown(takedown).done_at == NOW
        store.replace_consent_seen({"a" * 64: "restricted"}, NOW)
        assert store.consent_seen() == {"a" * 64: "restricted"}
    finally:
        store.close()


def test_an_upgraded_first_release_database_records_a_prepared_instagram_container(
        first_release):
    store = Store(first_release)
    try:
        delivery = store.deliveries("sub-2")[0]
        assert delivery.prepared_id is None
        assert store.transition("sub-2", delivery.platform, (delivery.state,), delivery.state,
                                NOW, prepared_id="17900000000000001")
        assert store.deliveries("sub-2")[0].prepared_id == "17900000000000001"
        assert "prepared_id" in columns(first_release, "deliveries")
    finally:
        store.close()


def test_an_upgraded_database_remembers_how_far_an_upload_in_chunks_went(first_release):
    from connectors.uploads import UploadProgress  # noqa: PLC0415

    store = Store(first_release)
    try:
        assert store.upload_progress("x", "c" * 64) is None
        progress = UploadProgress("1880028106020515840", 12670, 4096, 2, False, 1.8e9)
        store.record_upload("x", "c" * 64, progress)
        store.record_upload("x", "c" * 64, UploadProgress(
            progress.media_id, 12670, 4096, 4, True, 1.8e9))
        assert store.upload_progress("x", "c" * 64).segments_sent == 4
        assert store.upload_progress("facebook", "c" * 64) is None
        store.forget_upload("x", "c" * 64)
        assert store.upload_progress("x", "c" * 64) is None
    finally:
        store.close()
