"""Steward's state in SQLite: accepted submissions and one delivery per platform.

SQLite is the source of truth; the scheduler is re-armed from it at start-up. Every delivery
moves `pending -> sending -> sent` (or `failed`, or `held`), and each transition is committed
(WAL, synchronous=FULL) before the side effect it announces, so after a crash a delivery in
`sending` tells Steward to look on the platform before trying again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
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
);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    head TEXT NOT NULL,
    sealed TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    file TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
"""
OPEN_STATES = ("pending", "sending")
FINAL_STATES = ("sent", "failed")
# The audit anchor (see daemon.audit.anchor): one row, the last checkpoint the daemon signed.
ANCHOR_QUERY = "SELECT seq, head, sealed, signed_at, file, recorded_at FROM audit_anchor"
# What Steward has done, to tell a log that never had a checkpoint from one that lost them.
ACTIVITY_QUERY = ("SELECT (SELECT COUNT(*) FROM submissions) AS submissions, "
                  "(SELECT COUNT(*) FROM replies) AS replies, "
                  "(SELECT COUNT(*) FROM incidents) AS incidents, "
                  "(SELECT COUNT(*) FROM handovers) AS handovers")


def describe_activity(counts: dict[str, int]) -> str | None:
    """`1 submission, 3 replies` from ACTIVITY_QUERY's row; None when Steward did nothing."""
    parts = [f"{number} {name[:-1] if number == 1 else name}"
             for name, number in counts.items() if number]
    return ", ".join(parts) or None


def timestamp(moment: datetime) -> str:
    """A sortable UTC text form for the database."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class StoreError(Exception):
    """The database cannot be opened or used; the message says what to do."""


@dataclass(frozen=True)
class Delivery:
    submission_id: str
    platform: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    sending_since: datetime | None
    remote_id: str | None
    url: str | None
    last_error: str | None


@dataclass(frozen=True)
class StoredSubmission:
    id: str
    name: str
    content_sha256: str
    publish_at: datetime
    status: str
    signers: list[str]
    received_at: datetime
    folder: Path
    posts: dict[str, Any]


class Store:
    """One SQLite database; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                       timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            result = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: the database is damaged or not a Steward database "
                             f"({error}); restore it from backup or move it aside") from None
        if result != "ok":
            raise StoreError(f"{self.path}: the database failed its integrity check ({result}); "
                             "restore it from backup or move it aside")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one IMMEDIATE transaction, committed (durably) on exit."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, parameters: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- submissions -------------------------------------------------------------------------

    def known_submission(self, content_sha256: str) -> StoredSubmission | None:
        rows = self.query("SELECT * FROM submissions WHERE content_sha256 = ?", (content_sha256,))
        return self._submission(rows[0]) if rows else None

    def add_submission(self, submission: StoredSubmission, now: datetime) -> None:
        """Record an accepted submission and one pending delivery per platform, atomically."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (submission.id, submission.name, submission.content_sha256,
                 timestamp(submission.publish_at), submission.status,
                 json.dumps(submission.signers), timestamp(submission.received_at),
                 str(submission.folder), json.dumps(submission.posts)))
            for platform in submission.posts:
                db.execute(
                    "INSERT INTO deliveries (submission_id, platform, state, updated_at) "
                    "VALUES (?, ?, 'pending', ?)", (submission.id, platform, timestamp(now)))

    def submission(self, submission_id: str) -> StoredSubmission | None:
        rows = self.query("SELECT * FROM submissions WHERE id = ?", (submission_id,))
        return self._submission(rows[0]) if rows else None

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

    @staticmethod
    def _delivery(row: sqlite3.Row) -> Delivery:
        def moment(name: str) -> datetime | None:
            return parse_timestamp(row[name]) if row[name] else None

        return Delivery(
            submission_id=row["submission_id"], platform=row["platform"], state=row["state"],
            attempts=row["attempts"], next_attempt_at=moment("next_attempt_at"),
            sending_since=moment("sending_since"), remote_id=row["remote_id"], url=row["url"],
            last_error=row["last_error"])

    # -- cursors: where each platform read stopped (moderation sweeps, reconcilers) ----------

    def cursor(self, platform: str, key: str) -> str | None:
        rows = self.query("SELECT value FROM cursors WHERE platform = ? AND key = ?",
                          (platform, key))
        return rows[0]["value"] if rows else None

    def set_cursor(self, platform: str, key: str, value: str | None) -> None:
        if self.cursor(platform, key) == value:
            return  # unchanged: no write
        with self.transaction() as db:
            db.execute("INSERT INTO cursors VALUES (?, ?, ?) ON CONFLICT (platform, key) DO "
                       "UPDATE SET value = excluded.value", (platform, key, value))

    # -- the checklist: what only a person can do, open until a person confirms it ----------

    def add_checklist_item(self, key: str, platform: str, text: str, now: datetime) -> None:
        """Put an item on the checklist once; adding it again changes nothing (nor reopens it)."""
        with self.transaction() as db:
            db.execute("INSERT INTO checklist VALUES (?, ?, ?, ?, NULL) ON CONFLICT (key) DO "
                       "NOTHING", (key, platform, text, timestamp(now)))

    def open_checklist_items(self, prefix: str) -> list[sqlite3.Row]:
        """Unconfirmed items whose key starts with `prefix`, oldest first."""
        return self.query("SELECT key, platform, text, created_at FROM checklist WHERE "
                          "resolved_at IS NULL AND substr(key, 1, ?) = ? ORDER BY created_at, "
                          "key", (len(prefix), prefix))

    def checklist_item(self, key: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM checklist WHERE key = ?", (key,))
        return rows[0] if rows else None

    def resolve_checklist_item(self, key: str, now: datetime) -> bool:
        """Mark an open item done; say whether there was one to mark."""
        with self.transaction() as db:
            return db.execute("UPDATE checklist SET resolved_at = ? WHERE key = ? AND "
                              "resolved_at IS NULL", (timestamp(now), key)).rowcount == 1

    # -- administrators ----------------------------------------------------------------------

    def inactive_administrators(self) -> set[str]:
        """The administrators who have handed over (daemon.credentials.handover): the escrow
        bundle is no longer sealed for them."""
        return {row["name"] for row in self.query(
            "SELECT name FROM administrators WHERE active = 0")}

    # -- summaries ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        rows = self.query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    def upcoming(self, limit: int = 10) -> list[sqlite3.Row]:
        return self.query(
            "SELECT s.id, s.name, s.publish_at, group_concat(d.platform || ':' || d.state, ' ') "
            "AS deliveries FROM submissions s JOIN deliveries d ON d.submission_id = s.id "
            "WHERE s.status IN ('scheduled', 'held') GROUP BY s.id ORDER BY s.publish_at LIMIT ?",
            (limit,))

    # -- the audit anchor: the last checkpoint the daemon signed (daemon.audit.anchor) ------

    def audit_anchor(self) -> dict[str, Any] | None:
        rows = self.query(ANCHOR_QUERY)
        return dict(rows[0]) if rows else None

    def set_audit_anchor(self, seq: int, head: str, sealed: str, signed_at: str, file: str,
                         now: datetime) -> None:
        """Record a checkpoint just signed as the anchor, replacing the one before."""
        with self.transaction() as db:
            db.execute("INSERT INTO audit_anchor VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) "
                       "DO UPDATE SET seq = excluded.seq, head = excluded.head, sealed = "
                       "excluded.sealed, signed_at = excluded.signed_at, file = excluded.file, "
                       "recorded_at = excluded.recorded_at",
                       (seq, head, sealed, signed_at, file, timestamp(now)))

    def activity(self) -> str | None:
        """What Steward has done so far, in words (`2 submissions, 1 incident`), or None."""
        return describe_activity(dict(self.query(ACTIVITY_QUERY)[0]))
