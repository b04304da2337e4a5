"""Steward's state in SQLite, and every SQL statement Steward runs (issue 17: nowhere else).

SQLite is the source of truth; the scheduler is re-armed from it at start-up. Every delivery
moves `pending -> sending -> sent` (or `failed`, or `held`), and each transition is committed
(WAL, synchronous=FULL) before the side effect it announces, so after a crash a delivery in
`sending` tells Steward to look on the platform before trying again.

The schema has a version (PRAGMA user_version) and ordered migrations (MIGRATIONS). Opening a
database runs, each in its own transaction, the migrations it has not had; a database from a
newer Steward (a version this code does not know) is refused untouched. The first release had
no version: a database at version 0 is either new or that release's (or an earlier build's,
with fewer tables and columns), and migrations 1 and 2 are written to bring any of them to the
same schema (`CREATE ... IF NOT EXISTS`, and the columns a table lacks added).

The other modules call the named methods below, which return dataclasses or plain values.
`Store.open_read_only` serves the commands that must not write (`steward status`, the incident
export, the anchor an audit verification reads), for people who may read the state directory
but not write it. `query` and `transaction` remain for tests, which may use SQL of their own.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.uploads import UploadProgress
from daemon.runtime.ownership import refuse_to_write_as_another_user
from daemon.runtime.records import (
    ChecklistItem,
    Delivery,
    ParentListChange,
    StoredFollower,
    StoredHandover,
    StoredIncident,
    StoredReply,
    StoredSubmission,
    StoredTakedown,
    UpcomingPost,
)

__all__ = ["FINAL_STATES", "MIGRATIONS", "OPEN_STATES", "SCHEMA_VERSION", "ChecklistItem",
           "Delivery", "Migration", "NewerDatabaseError", "ParentListChange", "Store",
           "StoreError", "StoredFollower", "StoredHandover", "StoredIncident", "StoredReply",
           "StoredSubmission", "StoredTakedown", "UpcomingPost", "describe_activity",
           "parse_timestamp", "timestamp"]

OPEN_STATES = ("pending", "sending")
FINAL_STATES = ("sent", "failed")


def timestamp(moment: datetime) -> str:
    """A sortable UTC text form for the database."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """What `timestamp` wrote, back. Its exact form (`2026-11-22T09:00:00.000000Z`) is read
    by fromisoformat, fifty times faster than strptime, which reads anything else as before."""
    if len(text) == 27 and text.isascii() and text[26] == "Z" and text[10] == "T" and \
            text[19] == "." and text[20:26].isdigit():
        return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _moment(text: str | None) -> datetime | None:
    return parse_timestamp(text) if text else None


def describe_activity(counts: dict[str, int]) -> str | None:
    """`1 submission, 3 replies` from counts by table; None when Steward did nothing."""
    parts = [f"{number} {name[:-1] if number == 1 else name}"
             for name, number in counts.items() if number]
    return ", ".join(parts) or None


class StoreError(Exception):
    """The database cannot be opened or used; the message says what to do."""


class NewerDatabaseError(StoreError):
    """The database was written by a newer Steward, whose schema this one does not know."""


# -- the schema, and how a database gets there -----------------------------------------------

# The tables of the first release (commit 6bceeee), as it created them: migration 1.
FIRST_RELEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    content_sha256 TEXT NOT NULL UNIQUE,
    publish_at TEXT NOT NULL,
    status TEXT NOT NULL,
    signers TEXT NOT NULL,
    received_at TEXT NOT NULL,
    folder TEXT NOT NULL,
    posts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    platform TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    sending_since TEXT,
    remote_id TEXT,
    url TEXT,
    last_error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (submission_id, platform)
);
CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS replies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    reply_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_handle TEXT NOT NULL,
    in_reply_to TEXT NOT NULL,
    url TEXT NOT NULL,
    received_at TEXT NOT NULL,
    verdict TEXT NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL,
    status TEXT NOT NULL,
    decision TEXT,
    evidence_path TEXT,
    evidence_sha256 TEXT,
    incident TEXT,
    actions TEXT NOT NULL DEFAULT '[]',
    text TEXT,
    label TEXT,
    digest_sent INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    UNIQUE (platform, reply_id)
);
CREATE TABLE IF NOT EXISTS cursors (
    platform TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (platform, key)
);
CREATE TABLE IF NOT EXISTS parents (
    email_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    email_hash TEXT NOT NULL,
    handle TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (platform, user_id)
);
CREATE TABLE IF NOT EXISTS invites (
    code_hash TEXT PRIMARY KEY,
    email_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS followers (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    handle TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (platform, user_id)
);
CREATE TABLE IF NOT EXISTS checklist (
    key TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE TABLE IF NOT EXISTS administrators (
    name TEXT PRIMARY KEY,
    active INTEGER NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS handovers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    reason TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    steps TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS incidents (
    number TEXT PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    platform TEXT NOT NULL,
    nature TEXT NOT NULL,
    action_taken TEXT NOT NULL,
    reported_to TEXT NOT NULL,
    outcome TEXT NOT NULL,
    evidence_sha256 TEXT,
    evidence_path TEXT,
    reply INTEGER REFERENCES replies(id)
)
"""

# The audit anchor (see daemon.audit.anchor): one row, the last checkpoint the daemon signed.
AUDIT_ANCHOR_TABLE = """
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    head TEXT NOT NULL,
    sealed TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    file TEXT NOT NULL,
    recorded_at TEXT NOT NULL
)
"""


def _statements(script: str) -> list[str]:
    """The statements of a schema script (none of ours holds a `;` inside one)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _add_missing_columns(db: sqlite3.Connection, script: str) -> None:
    """Add to each table of `script` the columns an existing table lacks (a table made by an
    earlier build, which `CREATE TABLE IF NOT EXISTS` leaves as it was), with their type,
    NOT NULL and DEFAULT. A column that existing rows cannot be given (a key, or NOT NULL
    without a default) cannot be added: the database is refused instead."""
    reference = sqlite3.connect(":memory:")
    try:
        for statement in _statements(script):
            reference.execute(statement)
        tables = [row[0] for row in reference.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for _, name, kind, not_null, default, key in reference.execute(
                    f"PRAGMA table_info({table})"):
                if name in present:
                    continue
                if key or (not_null and default is None):
                    raise sqlite3.DatabaseError(f"the {table} table lacks its {name} column, "
                                                "which its rows cannot be given")
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"
                           + (" NOT NULL" if not_null else "")
                           + (f" DEFAULT {default}" if default is not None else ""))
    finally:
        reference.close()


def _first_release(db: sqlite3.Connection) -> None:
    for statement in _statements(FIRST_RELEASE_SCHEMA):
        db.execute(statement)
    _add_missing_columns(db, FIRST_RELEASE_SCHEMA)  # replies.label, on builds before it


def _audit_anchor(db: sqlite3.Connection) -> None:
    db.execute(AUDIT_ANCHOR_TABLE)


# Consent takedowns (issue 22): which pupils each post pictures, as keyed hashes (never names);
# the register as last compared; and each takedown, from the register change to its end.
CONSENT_TABLES = """
CREATE TABLE IF NOT EXISTS pictured (
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    pupil_hash TEXT NOT NULL,
    PRIMARY KEY (submission_id, pupil_hash)
);
CREATE INDEX IF NOT EXISTS pictured_by_pupil ON pictured(pupil_hash);
CREATE TABLE IF NOT EXISTS consent_seen (
    pupil_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS takedowns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pupil_hash TEXT,
    submission_id TEXT,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    done_at TEXT
)
"""


def _consent_tables(db: sqlite3.Connection) -> None:
    for statement in _statements(CONSENT_TABLES):
        db.execute(statement)


def _prepared_ids(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE deliveries ADD COLUMN prepared_id TEXT")


# Uploads in chunks (issue 23): how far each went, so that a publish restarted after a crash
# continues it (or only asks the platform's status again) instead of uploading it twice.
MEDIA_UPLOADS_TABLE = """
CREATE TABLE IF NOT EXISTS media_uploads (
    platform TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    media_id TEXT NOT NULL,
    total_bytes INTEGER NOT NULL,
    chunk_bytes INTEGER NOT NULL,
    segments_sent INTEGER NOT NULL,
    finalized INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (platform, sha256)
)
"""


def _media_uploads(db: sqlite3.Connection) -> None:
    db.execute(MEDIA_UPLOADS_TABLE)


@dataclass(frozen=True)
class Migration:
    """One step of the schema: the version it brings a database to, what it does (for the
    message when it fails), and the function that does it inside a transaction."""

    version: int
    summary: str
    apply: Callable[[sqlite3.Connection], None]


# In order, numbered from 1; a new change of schema is a new entry at the end (never an edit of
# one a release has shipped), and a test that opens the previous release's database.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the tables of the first release", _first_release),
    Migration(2, "the audit anchor table", _audit_anchor),
    Migration(3, "the pupils each post pictures, as keyed hashes, and consent takedowns",
              _consent_tables),
    Migration(4, "the first step's id of a post made in two steps (an Instagram container)",
              _prepared_ids),
    Migration(5, "how far each upload in chunks went, to resume it after a crash",
              _media_uploads),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _refuse_newer(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise NewerDatabaseError(
            f"{path} was written by a newer Steward (database schema version {version}; this "
            f"Steward knows versions up to {SCHEMA_VERSION}), so it was left as it is. Run "
            "that newer Steward again (reinstall it); or, to go back to this version, restore "
            "the state directory from the backup made before the upgrade")


def _damaged(path: Path, error: Exception) -> StoreError:
    return StoreError(f"{path}: the database is damaged or not a Steward database ({error}); "
                      "restore it from backup or move it aside")


# The reply columns moderation may change besides status (Store.update_reply).
REPLY_FIELDS = frozenset({"decision", "evidence_path", "evidence_sha256", "incident",
                          "actions", "label"})


class Store:
    """One SQLite database; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        if not read_only:
            refuse_to_write_as_another_user(self.path.parent)
        self._db = self._connect_read_only() if read_only else self._connect()

    @classmethod
    def open_read_only(cls, path: Path) -> Store:
        """The database at `path` for reading only: nothing is created, upgraded or written
        (writing raises StoreError), so it works for someone who may read the state
        directory but not write it. A database not yet upgraded is read as it is."""
        return cls(path, read_only=True)

    def _connect(self) -> sqlite3.Connection:
        """Open for the daemon and the commands that write: upgrade, then check integrity."""
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 timeout=30)
        except sqlite3.Error as error:
            raise _damaged(self.path, error) from None
        try:
            db.row_factory = sqlite3.Row
            version = db.execute("PRAGMA user_version").fetchone()[0]
            _refuse_newer(self.path, version)  # before anything is written
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            self._migrate(db, version)
            result = db.execute("PRAGMA quick_check").fetchone()[0]
        except StoreError:
            db.close()
            raise
        except sqlite3.DatabaseError as error:
            db.close()
            raise _damaged(self.path, error) from None
        if result != "ok":
            db.close()
            raise StoreError(f"{self.path}: the database failed its integrity check ({result}); "
                             "restore it from backup or move it aside")
        return db

    def _migrate(self, db: sqlite3.Connection, version: int) -> None:
        """Run the migrations after `version`, each in its own IMMEDIATE transaction with the
        new version number, so that a failure keeps the steps before it and nothing of its
        own. The version is read again inside each transaction: two processes opening the
        database at once (the daemon, a command) run each step once."""
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] < migration.version:
                    migration.apply(db)
                    db.execute(f"PRAGMA user_version = {int(migration.version)}")
            except sqlite3.Error as error:
                db.execute("ROLLBACK")
                raise StoreError(
                    f"{self.path}: could not upgrade the database to schema version "
                    f"{migration.version} ({migration.summary}): {error}. That step changed "
                    "nothing; put right what the error says (e.g. free disk space) and start "
                    "Steward again, or restore the database from backup") from None
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _connect_read_only(self) -> sqlite3.Connection:
        """Open without writing anything, not even beside the file. With no write-ahead log
        next to it Steward is stopped and everything is in the file, which is then read as
        immutable: otherwise SQLite would create `-wal` and `-shm` files (which a reader who
        cannot write the folder cannot do, and which, left by another user, the daemon could
        not open). While Steward runs, its log and index are read as they are. (Should Steward
        start during such a read, the read shows the state from before it started.)"""
        if not self.path.is_file():
            raise StoreError(f"{self.path}: there is no database here")
        running = Path(f"{self.path}-wal").exists()
        uri = self.path.absolute().as_uri() + ("?mode=ro" if running else "?mode=ro&immutable=1")
        try:
            db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None,
                                 timeout=30)
            db.row_factory = sqlite3.Row
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: cannot read the database ({error}); check that "
                             "you may read the state directory and the files in it") from None
        try:
            _refuse_newer(self.path, version)
        except StoreError:
            db.close()
            raise
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one IMMEDIATE transaction, committed (durably) on exit."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only: this command cannot change it")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, parameters: tuple = ()) -> list[sqlite3.Row]:
        """Rows for `sql`. For tests and for the methods below: Steward's other modules call
        the methods (tests/store/test_sql_in_one_place.py checks)."""
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.DatabaseError as error:
                if not self.read_only:
                    raise
                raise StoreError(f"{self.path}: cannot read the database ({error})") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def copy_to(self, path: Path) -> None:
        """Write a consistent copy of the whole database to `path` (SQLite's online backup:
        safe while the daemon runs, every transaction either in it or not)."""
        target = sqlite3.connect(path)
        try:
            with self._lock:
                self._db.backup(target)
        finally:
            target.close()

    def _has_table(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (name,)))

    # -- submissions -------------------------------------------------------------------------

    def known_submission(self, content_sha256: str) -> StoredSubmission | None:
        rows = self.query("SELECT * FROM submissions WHERE content_sha256 = ?", (content_sha256,))
        return self._submission(rows[0]) if rows else None

    def add_submission(self, submission: StoredSubmission, now: datetime,
                       pictured: Iterable[str] = ()) -> None:
        """Record an accepted submission, one pending delivery per platform and the keyed
        hashes of the pupils it pictures, atomically."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO submissions (id, name, content_sha256, publish_at, status, "
                "signers, received_at, folder, posts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (submission.id, submission.name, submission.content_sha256,
                 timestamp(submission.publish_at), submission.status,
                 json.dumps(submission.signers), timestamp(submission.received_at),
                 str(submission.folder), json.dumps(submission.posts)))
            for platform in submission.posts:
                db.execute(
                    "INSERT INTO deliveries (submission_id, platform, state, updated_at) "
                    "VALUES (?, ?, 'pending', ?)", (submission.id, platform, timestamp(now)))
            for pupil_hash in sorted(set(pictured)):
                db.execute("INSERT INTO pictured (submission_id, pupil_hash) VALUES (?, ?)",
                           (submission.id, pupil_hash))

    def submission(self, submission_id: str) -> StoredSubmission | None:
        rows = self.query("SELECT * FROM submissions WHERE id = ?", (submission_id,))
        return self._submission(rows[0]) if rows else None

    def submission_named(self, name: str) -> StoredSubmission | None:
        """The (first) submission handed in under `name`."""
        rows = self.query("SELECT * FROM submissions WHERE name = ?", (name,))
        return self._submission(rows[0]) if rows else None

    def submissions_named(self, name: str) -> list[StoredSubmission]:
        """Every submission handed in under `name`, the newest first."""
        rows = self.query("SELECT * FROM submissions WHERE name = ? ORDER BY received_at DESC",
                          (name,))
        return [self._submission(row) for row in rows]

    def submission_names(self, statuses: Iterable[str]) -> set[str]:
        """The names of the submissions in any of `statuses`."""
        statuses = tuple(statuses)
        marks = ", ".join("?" for _ in statuses)
        return {row["name"] for row in self.query(
            f"SELECT name FROM submissions WHERE status IN ({marks})",  # noqa: S608 - marks
            statuses)}

    # -- uploads in chunks (connectors.uploads.UploadJournal) ---------------------------------

    def upload_progress(self, platform: str, sha256: str) -> UploadProgress | None:
        """How far the upload of the file `sha256` to `platform` went; None: not begun."""
        rows = self.query("SELECT media_id, total_bytes, chunk_bytes, segments_sent, finalized, "
                          "expires_at FROM media_uploads WHERE platform = ? AND sha256 = ?",
                          (platform, sha256))
        if not rows:
            return None
        row = rows[0]
        return UploadProgress(str(row["media_id"]), int(row["total_bytes"]),
                              int(row["chunk_bytes"]), int(row["segments_sent"]),
                              bool(row["finalized"]), float(row["expires_at"]))

    def record_upload(self, platform: str, sha256: str, progress: UploadProgress) -> None:
        """Record (durably, before the next chunk is sent) how far an upload went."""
        with self.transaction() as db:
            db.execute("INSERT INTO media_uploads (platform, sha256, media_id, total_bytes, "
                       "chunk_bytes, segments_sent, finalized, expires_at) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, sha256) DO UPDATE SET "
                       "media_id = excluded.media_id, total_bytes = excluded.total_bytes, "
                       "chunk_bytes = excluded.chunk_bytes, segments_sent = "
                       "excluded.segments_sent, finalized = excluded.finalized, expires_at = "
                       "excluded.expires_at",
                       (platform, sha256, progress.media_id, progress.total_bytes,
                        progress.chunk_bytes, progress.segments_sent, int(progress.finalized),
                        progress.expires_at))

    def forget_upload(self, platform: str, sha256: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM media_uploads WHERE platform = ? AND sha256 = ?",
                       (platform, sha256))

    def set_submission_status(self, submission_id: str, status: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE submissions SET status = ? WHERE id = ?", (status, submission_id))

    def move_submission_folder(self, submission_id: str, folder: Path) -> None:
        with self.transaction() as db:
            db.execute("UPDATE submissions SET folder = ? WHERE id = ?",
                       (str(folder), submission_id))

    @staticmethod
    def _submission(row: sqlite3.Row) -> StoredSubmission:
        return StoredSubmission(
            id=row["id"], name=row["name"], content_sha256=row["content_sha256"],
            publish_at=parse_timestamp(row["publish_at"]), status=row["status"],
            signers=json.loads(row["signers"]), received_at=parse_timestamp(row["received_at"]),
            folder=Path(row["folder"]), posts=json.loads(row["posts"]))

    # -- deliveries --------------------------------------------------------------------------

    def deliveries(self, submission_id: str) -> list[Delivery]:
        rows = self.query("SELECT * FROM deliveries WHERE submission_id = ? ORDER BY platform",
                          (submission_id,))
        return [self._delivery(row) for row in rows]

    def deliveries_named(self, name: str) -> list[Delivery]:
        """The deliveries of the submissions handed in under `name`, by platform."""
        rows = self.query("SELECT d.* FROM deliveries d JOIN submissions s ON s.id = "
                          "d.submission_id WHERE s.name = ? ORDER BY d.platform", (name,))
        return [self._delivery(row) for row in rows]

    def open_submissions(self) -> list[tuple[str, datetime, datetime, bool]]:
        """Every submission with an open delivery: its id, when it is next due, its publish
        time, and whether no attempt has been made yet (one query, for fast start-up)."""
        rows = self.query(
            "SELECT s.id AS id, MIN(COALESCE(d.next_attempt_at, s.publish_at)) AS due, "
            "s.publish_at AS publish_at, MAX(d.attempts) = 0 AS untouched "
            "FROM submissions s JOIN deliveries d ON d.submission_id = s.id "
            "WHERE d.state IN ('pending', 'sending') GROUP BY s.id ORDER BY due")
        return [(row["id"], parse_timestamp(row["due"]), parse_timestamp(row["publish_at"]),
                 bool(row["untouched"])) for row in rows]

    def transition(self, submission_id: str, platform: str, from_states: tuple[str, ...],
                   to_state: str, now: datetime, **fields: Any) -> bool:
        """Move a delivery to `to_state` if it is in one of `from_states`; commit; say if it moved.

        The condition makes each transition happen once, whichever thread gets there first.
        """
        assignments = ["state = ?", "updated_at = ?"]
        values: list[Any] = [to_state, timestamp(now)]
        for name, value in fields.items():
            assignments.append(f"{name} = ?")
            values.append(timestamp(value) if isinstance(value, datetime) else value)
        placeholders = ", ".join("?" for _ in from_states)
        with self.transaction() as db:
            cursor = db.execute(
                f"UPDATE deliveries SET {', '.join(assignments)} "  # noqa: S608 - names are ours
                f"WHERE submission_id = ? AND platform = ? AND state IN ({placeholders})",
                (*values, submission_id, platform, *from_states))
            return cursor.rowcount == 1

    def remote_ids(self, platform: str) -> set[str]:
        """Remote ids already recorded as Steward's posts on `platform`."""
        rows = self.query("SELECT remote_id FROM deliveries WHERE platform = ? AND remote_id IS "
                          "NOT NULL", (platform,))
        return {row["remote_id"] for row in rows}

    def sent_since(self, platform: str, since: datetime) -> list[str]:
        """The remote ids of Steward's posts sent on `platform` whose delivery last changed at
        or after `since`, oldest first (the posts moderation watches)."""
        rows = self.query("SELECT remote_id FROM deliveries WHERE platform = ? AND state = "
                          "'sent' AND remote_id IS NOT NULL AND updated_at >= ? ORDER BY "
                          "updated_at", (platform, timestamp(since)))
        return [row["remote_id"] for row in rows]

    @staticmethod
    def _delivery(row: sqlite3.Row) -> Delivery:
        return Delivery(
            submission_id=row["submission_id"], platform=row["platform"], state=row["state"],
            attempts=row["attempts"], next_attempt_at=_moment(row["next_attempt_at"]),
            sending_since=_moment(row["sending_since"]), remote_id=row["remote_id"],
            url=row["url"], last_error=row["last_error"],
            prepared_id=row["prepared_id"] if "prepared_id" in row.keys() else None)

    # -- consent: who each post pictures (keyed hashes), and takedowns ---------------------

    def record_pictured(self, submission_id: str, pupil_hashes: Iterable[str]) -> None:
        with self.transaction() as db:
            for pupil_hash in sorted(set(pupil_hashes)):
                db.execute("INSERT INTO pictured (submission_id, pupil_hash) VALUES (?, ?) ON "
                           "CONFLICT DO NOTHING", (submission_id, pupil_hash))

    def pictured_hashes(self, submission_id: str) -> set[str]:
        rows = self.query("SELECT pupil_hash FROM pictured WHERE submission_id = ?",
                          (submission_id,))
        return {row["pupil_hash"] for row in rows}

    def submissions_picturing(self, pupil_hash: str) -> list[StoredSubmission]:
        """Every submission whose photos picture the pupil, oldest first."""
        rows = self.query("SELECT s.* FROM submissions s JOIN pictured p ON p.submission_id = "
                          "s.id WHERE p.pupil_hash = ? ORDER BY s.received_at, s.id",
                          (pupil_hash,))
        return [self._submission(row) for row in rows]

    def consent_seen(self) -> dict[str, str]:
        """The register as last compared: pupil hash -> 'restricted' or 'withdrawn'."""
        return {row["pupil_hash"]: row["state"]
                for row in self.query("SELECT pupil_hash, state FROM consent_seen")}

    def replace_consent_seen(self, states: dict[str, str], now: datetime) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM consent_seen")
            for pupil_hash, state in sorted(states.items()):
                db.execute("INSERT INTO consent_seen (pupil_hash, state, updated_at) VALUES "
                           "(?, ?, ?)", (pupil_hash, state, timestamp(now)))

    def add_takedown(self, *, reason: str, status: str, due_at: datetime, now: datetime,
                     pupil_hash: str | None = None, submission_id: str | None = None) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO takedowns (pupil_hash, submission_id, reason, status, due_at, "
                "created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pupil_hash, submission_id, reason, status, timestamp(due_at), timestamp(now),
                 timestamp(now)))
            return int(cursor.lastrowid or 0)

    def takedown(self, takedown_id: int) -> StoredTakedown | None:
        rows = self.query("SELECT * FROM takedowns WHERE id = ?", (takedown_id,))
        return self._takedown(rows[0]) if rows else None

    def takedowns(self, statuses: Iterable[str] | None = None) -> list[StoredTakedown]:
        """Takedowns (in any of `statuses`, or all), oldest first."""
        if statuses is None:
            rows = self.query("SELECT * FROM takedowns ORDER BY id")
        else:
            wanted = tuple(statuses)
            marks = ", ".join("?" for _ in wanted)
            rows = self.query(f"SELECT * FROM takedowns WHERE status IN ({marks}) "  # noqa: S608
                              "ORDER BY id", wanted)
        return [self._takedown(row) for row in rows]

    def set_takedown_status(self, takedown_id: int, status: str, now: datetime, *,
                            from_statuses: tuple[str, ...], due_at: datetime | None = None
                            ) -> bool:
        """Move a takedown to `status` if it is in one of `from_statuses`; say if it moved."""
        marks = ", ".join("?" for _ in from_statuses)
        done = timestamp(now) if status in ("done", "kept") else None
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE takedowns SET status = ?, changed_at = ?, done_at = COALESCE(?, "  # noqa: S608
                f"done_at), due_at = COALESCE(?, due_at) WHERE id = ? AND status IN ({marks})",
                (status, timestamp(now), done, timestamp(due_at) if due_at else None,
                 takedown_id, *from_statuses))
            return cursor.rowcount == 1

    @staticmethod
    def _takedown(row: sqlite3.Row) -> StoredTakedown:
        return StoredTakedown(
            id=row["id"], pupil_hash=row["pupil_hash"], submission_id=row["submission_id"],
            reason=row["reason"], status=row["status"], due_at=parse_timestamp(row["due_at"]),
            created_at=parse_timestamp(row["created_at"]),
            changed_at=parse_timestamp(row["changed_at"]), done_at=_moment(row["done_at"]))

    # -- cursors: where each platform read stopped (moderation sweeps, reconcilers) ----------

    def cursor(self, platform: str, key: str) -> str | None:
        rows = self.query("SELECT value FROM cursors WHERE platform = ? AND key = ?",
                          (platform, key))
        return rows[0]["value"] if rows else None

    def set_cursor(self, platform: str, key: str, value: str | None) -> None:
        if self.cursor(platform, key) == value:
            return  # unchanged: no write
        with self.transaction() as db:
            db.execute("INSERT INTO cursors (platform, key, value) VALUES (?, ?, ?) ON CONFLICT "
                       "(platform, key) DO UPDATE SET value = excluded.value",
                       (platform, key, value))

    # -- the checklist: what only a person can do, open until a person confirms it ----------

    def add_checklist_item(self, key: str, platform: str, text: str, now: datetime) -> None:
        """Put an item on the checklist once; adding it again changes nothing (nor reopens it)."""
        with self.transaction() as db:
            db.execute("INSERT INTO checklist (key, platform, text, created_at, resolved_at) "
                       "VALUES (?, ?, ?, ?, NULL) ON CONFLICT (key) DO NOTHING",
                       (key, platform, text, timestamp(now)))

    def raise_checklist_item(self, key: str, platform: str, text: str, now: datetime) -> None:
        """Put an item on the checklist, or open it again when it was confirmed or its text
        changed (keeping when it was first raised); an open, unchanged item is not written."""
        with self.transaction() as db:
            db.execute("INSERT INTO checklist (key, platform, text, created_at, resolved_at) "
                       "VALUES (?, ?, ?, ?, NULL) ON CONFLICT (key) DO UPDATE SET text = "
                       "excluded.text, resolved_at = NULL WHERE checklist.resolved_at IS NOT "
                       "NULL OR checklist.text != excluded.text",
                       (key, platform, text, timestamp(now)))

    def open_checklist_items(self, prefix: str = "") -> list[ChecklistItem]:
        """Unconfirmed items whose key starts with `prefix`, oldest first."""
        rows = self.query("SELECT * FROM checklist WHERE resolved_at IS NULL AND "
                          "substr(key, 1, ?) = ? ORDER BY created_at, key", (len(prefix), prefix))
        return [self._checklist_item(row) for row in rows]

    def checklist_by_platform(self) -> list[ChecklistItem]:
        """Every unconfirmed item, by platform, then oldest first (the reconcilers' list)."""
        rows = self.query("SELECT * FROM checklist WHERE resolved_at IS NULL ORDER BY platform, "
                          "created_at")
        return [self._checklist_item(row) for row in rows]

    def checklist_item(self, key: str) -> ChecklistItem | None:
        rows = self.query("SELECT * FROM checklist WHERE key = ?", (key,))
        return self._checklist_item(rows[0]) if rows else None

    def resolve_checklist_item(self, key: str, now: datetime) -> bool:
        """Mark an open item done; say whether there was one to mark."""
        with self.transaction() as db:
            return db.execute("UPDATE checklist SET resolved_at = ? WHERE key = ? AND "
                              "resolved_at IS NULL", (timestamp(now), key)).rowcount == 1

    def mark_checklist_item_done(self, key: str, now: datetime) -> bool:
        """Mark an item done now, open or not (`steward reconcile --confirm` stamps it again:
        the reconcilers leave it off the list for a while after); say whether it exists."""
        with self.transaction() as db:
            return db.execute("UPDATE checklist SET resolved_at = ? WHERE key = ?",
                              (timestamp(now), key)).rowcount == 1

    @staticmethod
    def _checklist_item(row: sqlite3.Row) -> ChecklistItem:
        return ChecklistItem(key=row["key"], platform=row["platform"], text=row["text"],
                             created_at=parse_timestamp(row["created_at"]),
                             resolved_at=_moment(row["resolved_at"]))

    # -- followers and the verified parents (daemon.accounts) --------------------------------

    def followers(self, platform: str) -> dict[str, StoredFollower]:
        """The followers last seen on `platform`, by user id."""
        rows = self.query("SELECT user_id, handle, first_seen, status FROM followers WHERE "
                          "platform = ?", (platform,))
        return {row["user_id"]: StoredFollower(row["user_id"], row["handle"],
                                               parse_timestamp(row["first_seen"]), row["status"])
                for row in rows}

    def save_followers(self, platform: str, followers: Iterable[StoredFollower]) -> None:
        """Record followers (new ones, or a new handle or status; first seen is kept)."""
        with self.transaction() as db:
            db.executemany("INSERT INTO followers (platform, user_id, handle, first_seen, "
                           "status) VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, user_id) DO "
                           "UPDATE SET handle = excluded.handle, status = excluded.status",
                           [(platform, follower.user_id, follower.handle,
                             timestamp(follower.first_seen), follower.status)
                            for follower in followers])

    def forget_followers(self, platform: str, user_ids: Iterable[str]) -> None:
        """Forget followers who left, or whom Steward removed."""
        with self.transaction() as db:
            db.executemany("DELETE FROM followers WHERE platform = ? AND user_id = ?",
                           [(platform, user_id) for user_id in user_ids])

    def follower_counts(self) -> dict[str, int]:
        """How many followers (all platforms) have each status."""
        return {row["status"]: row["n"] for row in self.query(
            "SELECT status, COUNT(*) AS n FROM followers GROUP BY status")}

    def replace_parents(self, emails: dict[str, str], now: datetime) -> ParentListChange:
        """Make the verified list `emails` (address by its hash), in one transaction; links to
        addresses no longer on it go too."""
        with self.transaction() as db:
            existing = {row[0] for row in db.execute("SELECT email_hash FROM parents")}
            removed = existing - set(emails)
            added = set(emails) - existing
            db.executemany("DELETE FROM parents WHERE email_hash = ?", [(h,) for h in removed])
            db.executemany("INSERT INTO parents (email_hash, email, imported_at) VALUES "
                           "(?, ?, ?)", [(h, emails[h], timestamp(now)) for h in added])
            unlinked = db.execute(
                f"DELETE FROM links WHERE email_hash IN ({','.join('?' * len(removed))})",  # noqa: S608
                tuple(removed)).rowcount if removed else 0
        return ParentListChange(len(added), len(removed), len(existing & set(emails)),
                                unlinked)

    def parent_email(self, email_hash: str) -> str | None:
        """The address on the verified list with this hash, if it is on it."""
        rows = self.query("SELECT email FROM parents WHERE email_hash = ?", (email_hash,))
        return rows[0]["email"] if rows else None

    def add_invite(self, code_hash: str, email_hash: str, now: datetime,
                   expires_at: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO invites (code_hash, email_hash, created_at, expires_at, "
                       "used_at) VALUES (?, ?, ?, ?, NULL)",
                       (code_hash, email_hash, timestamp(now), timestamp(expires_at)))

    def use_invite(self, code_hash: str, platform: str, user_id: str, handle: str,
                   now: datetime) -> str | None:
        """Spend an unused, unexpired invitation code on linking `user_id` to its address, in
        one transaction; return the address's hash, or None (nothing changed) for a code
        unknown, used or expired."""
        with self.transaction() as db:
            row = db.execute("SELECT email_hash, expires_at, used_at FROM invites WHERE "
                             "code_hash = ?", (code_hash,)).fetchone()
            if row is None or row[2] is not None or parse_timestamp(row[1]) < now:
                return None
            db.execute("UPDATE invites SET used_at = ? WHERE code_hash = ?",
                       (timestamp(now), code_hash))
            db.execute("INSERT INTO links (platform, user_id, email_hash, handle, linked_at) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, user_id) DO UPDATE SET "
                       "email_hash = excluded.email_hash, handle = excluded.handle, "
                       "linked_at = excluded.linked_at",
                       (platform, user_id, row[0], handle, timestamp(now)))
            return row[0]

    def linked_users(self, platform: str) -> set[str]:
        """The user ids on `platform` linked to a verified parent."""
        return {row["user_id"] for row in self.query(
            "SELECT user_id FROM links WHERE platform = ?", (platform,))}

    def unlink(self, platform: str, user_id: str) -> bool:
        """Remove a link; say whether there was one."""
        with self.transaction() as db:
            return bool(db.execute("DELETE FROM links WHERE platform = ? AND user_id = ?",
                                   (platform, user_id)).rowcount)

    # -- administrators and handovers (daemon.credentials.handover) --------------------------

    def inactive_administrators(self) -> set[str]:
        """The administrators who have handed over (daemon.credentials.handover): the escrow
        bundle is no longer sealed for them."""
        return {row["name"] for row in self.query(
            "SELECT name FROM administrators WHERE active = 0")}

    def set_administrator_active(self, name: str, active: bool, now: datetime) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO administrators (name, active, changed_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET active = excluded.active, "
                       "changed_at = excluded.changed_at", (name, int(active), timestamp(now)))

    def handover(self, handover_id: int) -> StoredHandover | None:
        rows = self.query("SELECT * FROM handovers WHERE id = ?", (handover_id,))
        return self._handover(rows[0]) if rows else None

    def handovers(self) -> list[StoredHandover]:
        """Every handover, first first."""
        return [self._handover(row) for row in self.query("SELECT * FROM handovers ORDER BY id")]

    def unfinished_handover(self, old: str, new: str) -> StoredHandover | None:
        """The latest handover from `old` to `new` that was interrupted, if any."""
        rows = self.query("SELECT * FROM handovers WHERE old = ? AND new = ? AND finished_at IS "
                          "NULL ORDER BY id DESC", (old, new))
        return self._handover(rows[0]) if rows else None

    def start_handover(self, old: str, new: str, reason: str, now: datetime) -> StoredHandover:
        with self.transaction() as db:
            number = db.execute("INSERT INTO handovers (old, new, reason, started_at) VALUES "
                                "(?, ?, ?, ?)", (old, new, reason, timestamp(now))).lastrowid
            row = db.execute("SELECT * FROM handovers WHERE id = ?", (number,)).fetchone()
        return self._handover(row)

    def set_handover_steps(self, handover_id: int, steps: dict[str, Any]) -> None:
        """Record the steps done so far (a run interrupted after it does not repeat them)."""
        with self.transaction() as db:
            db.execute("UPDATE handovers SET steps = ? WHERE id = ?",
                       (json.dumps(steps), handover_id))

    def finish_handover(self, handover_id: int, now: datetime) -> None:
        with self.transaction() as db:
            db.execute("UPDATE handovers SET finished_at = ? WHERE id = ? AND finished_at IS "
                       "NULL", (timestamp(now), handover_id))

    @staticmethod
    def _handover(row: sqlite3.Row) -> StoredHandover:
        return StoredHandover(id=row["id"], old=row["old"], new=row["new"],
                              reason=row["reason"], started_at=parse_timestamp(row["started_at"]),
                              finished_at=_moment(row["finished_at"]),
                              steps=json.loads(row["steps"]))

    # -- replies and incidents (daemon.moderation) -------------------------------------------

    def reply_ids(self, platform: str) -> set[str]:
        """The platform's ids of every reply recorded on `platform`."""
        return {row["reply_id"] for row in self.query(
            "SELECT reply_id FROM replies WHERE platform = ?", (platform,))}

    def add_reply(self, *, platform: str, reply_id: str, author_id: str, author_handle: str,
                  in_reply_to: str, url: str, verdict: str, score: float, reasons: list[str],
                  status: str, text: str | None, now: datetime) -> int | None:
        """Record a reply with its verdict; return its number (R12), or None when it was
        recorded before (the table refuses a reply twice)."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO replies (platform, reply_id, author_id, author_handle, "
                "in_reply_to, url, received_at, verdict, score, reasons, status, updated_at, "
                "text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (platform, reply_id, author_id, author_handle, in_reply_to, url, timestamp(now),
                 verdict, score, json.dumps(list(reasons)), status, timestamp(now), text))
            return cursor.lastrowid if cursor.rowcount else None

    def update_reply(self, reply: int, status: str, now: datetime, **fields: Any) -> None:
        """Set a reply's status, and any of REPLY_FIELDS given."""
        unknown = set(fields) - REPLY_FIELDS
        if unknown:
            raise ValueError(f"replies have no field(s) {', '.join(sorted(unknown))} to update")
        assignments = "".join(f", {name} = ?" for name in fields)
        with self.transaction() as db:
            db.execute(f"UPDATE replies SET status = ?, updated_at = ?{assignments} "  # noqa: S608
                       "WHERE id = ?", (status, timestamp(now), *fields.values(), reply))

    def actions_since(self, platform: str, since: datetime) -> int:
        """How many replies on `platform` were acted on (or are being) at or after `since`."""
        return self.query("SELECT COUNT(*) AS n FROM replies WHERE platform = ? AND status IN "
                          "('acted', 'acting') AND updated_at >= ?",
                          (platform, timestamp(since)))[0]["n"]

    def replies_to_review(self, platform: str) -> list[StoredReply]:
        """Replies on `platform` waiting for a moderator that no digest has listed yet."""
        rows = self.query("SELECT * FROM replies WHERE platform = ? AND status = 'review' AND "
                          "(decision IS NULL OR decision = 'cap') AND digest_sent = 0",
                          (platform,))
        return [self._reply(row) for row in rows]

    def mark_digest_sent(self, replies: Iterable[int]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE replies SET digest_sent = 1 WHERE id = ?",
                           [(reply,) for reply in replies])

    def replies_with_decisions(self, platform: str) -> list[StoredReply]:
        """Replies on `platform` with a moderator's decision (act, allow, restore) to apply."""
        rows = self.query("SELECT * FROM replies WHERE platform = ? AND decision IN ('act', "
                          "'allow', 'restore')", (platform,))
        return [self._reply(row) for row in rows]

    def queue_decision(self, reply: int, decision: str, statuses: tuple[str, ...]) -> str | None:
        """Queue a moderator's decision on reply number `reply` if its status is one of
        `statuses`, in one transaction; return its status (None for no such reply). The
        decision was queued exactly when the status returned is one of `statuses`."""
        with self.transaction() as db:
            row = db.execute("SELECT status FROM replies WHERE id = ?", (reply,)).fetchone()
            if row is not None and row[0] in statuses:
                db.execute("UPDATE replies SET decision = ? WHERE id = ?", (decision, reply))
            return row[0] if row else None

    def reply(self, reply: int) -> StoredReply | None:
        """Reply number `reply` (R12 is 12), or None."""
        rows = self.query("SELECT * FROM replies WHERE id = ?", (reply,))
        return self._reply(rows[0]) if rows else None

    def replies_awaiting_review(self) -> list[StoredReply]:
        """Replies on every platform that wait for a moderator's decision (sent for review,
        held by the hourly cap, or classified in a dry run) and have none queued yet,
        oldest first (`steward moderate queue`)."""
        rows = self.query("SELECT * FROM replies WHERE status IN ('review', 'dry-run') AND "
                          "(decision IS NULL OR decision = 'cap') ORDER BY received_at, id")
        return [self._reply(row) for row in rows]

    def labelled_replies(self) -> list[tuple[str, str]]:
        """(text, label) of each reply a moderator labelled whose text was kept (for training
        the school's own model)."""
        return [(row["text"], row["label"]) for row in self.query(
            "SELECT text, label FROM replies WHERE label IS NOT NULL AND text IS NOT NULL")]

    def count_incidents(self, number_prefix: str) -> int:
        """How many incidents have a number starting with `number_prefix` (`INC-2026-`)."""
        return self.query("SELECT COUNT(*) AS n FROM incidents WHERE number LIKE ?",
                          (f"{number_prefix}%",))[0]["n"]

    def add_incident(self, incident: StoredIncident) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO incidents (number, occurred_at, platform, nature, "
                       "action_taken, reported_to, outcome, evidence_sha256, evidence_path, "
                       "reply) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (incident.number, timestamp(incident.occurred_at), incident.platform,
                        incident.nature, incident.action_taken, incident.reported_to,
                        incident.outcome, incident.evidence_sha256, incident.evidence_path,
                        incident.reply))

    def set_incident_outcome(self, number: str, outcome: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE incidents SET outcome = ? WHERE number = ?", (outcome, number))

    def close_incident(self, number: str, outcome: str, *, closed_prefix: str,
                       replace_closed: bool) -> str | None:
        """Set incident `number`'s outcome to `outcome`, in one transaction, unless its outcome
        already starts with `closed_prefix` (it was closed before) and not `replace_closed`.
        Return its outcome before (None: no such incident); it was changed exactly when that
        does not start with `closed_prefix`, or `replace_closed`."""
        with self.transaction() as db:
            row = db.execute("SELECT outcome FROM incidents WHERE number = ?",
                             (number,)).fetchone()
            if row is None:
                return None
            if replace_closed or not str(row[0]).startswith(closed_prefix):
                db.execute("UPDATE incidents SET outcome = ? WHERE number = ?",
                           (outcome, number))
            return str(row[0])

    def incident(self, number: str) -> StoredIncident | None:
        """Incident `number` (INC-2026-0001), or None."""
        rows = self.query("SELECT * FROM incidents WHERE number = ?", (number,))
        return self._incident(rows[0]) if rows else None

    def incidents(self) -> list[StoredIncident]:
        """The incident log, oldest first."""
        rows = self.query("SELECT * FROM incidents ORDER BY occurred_at")
        return [self._incident(row) for row in rows]

    @staticmethod
    def _incident(row: sqlite3.Row) -> StoredIncident:
        return StoredIncident(
            number=row["number"], occurred_at=parse_timestamp(row["occurred_at"]),
            platform=row["platform"], nature=row["nature"], action_taken=row["action_taken"],
            reported_to=row["reported_to"], outcome=row["outcome"],
            evidence_sha256=row["evidence_sha256"], evidence_path=row["evidence_path"],
            reply=row["reply"])

    @staticmethod
    def _reply(row: sqlite3.Row) -> StoredReply:
        return StoredReply(
            id=row["id"], platform=row["platform"], reply_id=row["reply_id"],
            author_id=row["author_id"], author_handle=row["author_handle"],
            in_reply_to=row["in_reply_to"], url=row["url"],
            received_at=parse_timestamp(row["received_at"]), verdict=row["verdict"],
            score=row["score"], reasons=json.loads(row["reasons"]), status=row["status"],
            decision=row["decision"], evidence_path=row["evidence_path"],
            evidence_sha256=row["evidence_sha256"], incident=row["incident"],
            actions=json.loads(row["actions"]), text=row["text"], label=row["label"],
            digest_sent=bool(row["digest_sent"]), updated_at=parse_timestamp(row["updated_at"]))

    # -- summaries ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state."""
        rows = self.query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    def upcoming(self, limit: int = 10) -> list[UpcomingPost]:
        """The next `limit` posts scheduled or held, soonest first."""
        rows = self.query(
            "SELECT s.name, s.publish_at, s.status, group_concat(d.platform || ' ' || d.state, "
            "', ') AS deliveries FROM submissions s JOIN deliveries d ON d.submission_id = s.id "
            "WHERE s.status IN ('scheduled', 'held') GROUP BY s.id ORDER BY s.publish_at LIMIT ?",
            (limit,))
        return [UpcomingPost(row["name"], parse_timestamp(row["publish_at"]), row["status"],
                             row["deliveries"]) for row in rows]

    def activity(self) -> str | None:
        """What Steward has done so far, in words (`2 submissions, 1 incident`), or None: to
        tell a log that never had a checkpoint from one that lost them."""
        row = self.query("SELECT (SELECT COUNT(*) FROM submissions) AS submissions, "
                         "(SELECT COUNT(*) FROM replies) AS replies, "
                         "(SELECT COUNT(*) FROM incidents) AS incidents, "
                         "(SELECT COUNT(*) FROM handovers) AS handovers")[0]
        return describe_activity(dict(row))

    # -- the audit anchor: the last checkpoint the daemon signed (daemon.audit.anchor) ------

    def audit_anchor(self) -> dict[str, Any] | None:
        """The anchor's fields (seq, head, sealed, signed_at, file, recorded_at), or None; also
        None read-only from a database not yet upgraded to have the table."""
        if self.read_only and not self._has_table("audit_anchor"):
            return None
        rows = self.query("SELECT seq, head, sealed, signed_at, file, recorded_at FROM "
                          "audit_anchor")
        return dict(rows[0]) if rows else None

    def set_audit_anchor(self, seq: int, head: str, sealed: str, signed_at: str, file: str,
                         now: datetime) -> None:
        """Record a checkpoint just signed as the anchor, replacing the one before."""
        with self.transaction() as db:
            db.execute("INSERT INTO audit_anchor (id, seq, head, sealed, signed_at, file, "
                       "recorded_at) VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                       "SET seq = excluded.seq, head = excluded.head, sealed = excluded.sealed, "
                       "signed_at = excluded.signed_at, file = excluded.file, recorded_at = "
                       "excluded.recorded_at", (seq, head, sealed, signed_at, file,
                                                timestamp(now)))

    def invite(self, code_hash: str) -> tuple[str, datetime, datetime | None] | None:
        """(address hash, expires at, used at or None) of the invitation code with this hash,
        or None if Steward never issued it (`steward followers confirm` says which of these
        stops a code in a parent's bio from linking)."""
        rows = self.query("SELECT email_hash, expires_at, used_at FROM invites WHERE "
                          "code_hash = ?", (code_hash,))
        if not rows:
            return None
        used = rows[0]["used_at"]
        return (rows[0]["email_hash"], parse_timestamp(rows[0]["expires_at"]),
                parse_timestamp(used) if used else None)
