"""Databases as earlier Steward releases left them, frozen here (never generated from today's code)
so that the migration tests open exactly what an upgrading school has on disk.

FIRST_RELEASE is the schema of the first release (`git show 6bceeee:daemon/store.py`), which had
no schema version (PRAGMA user_version 0). MODERATION_PREVIEW is an earlier development build's
(ccb0999): no parents, followers, checklist or handovers yet, and replies without the `label`
column that the first release added to its CREATE TABLE without an ALTER TABLE.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

FIRST_RELEASE = """
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
"""

MODERATION_PREVIEW = """
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
"""

# A term of Steward's work at the first release, one or more rows in every table. The names are
# invented.
FIRST_RELEASE_ROWS = {
    "submissions": [
        ("sub-1", "harvest-festival", "a" * 64, "2026-10-02T08:00:00.000000Z", "done",
         '["Deputy Head Ashdown"]', "2026-10-01T15:00:00.000000Z", "/srv/steward/archive/sub-1",
         '{"x": {"text": "Harvest festival today"}, "facebook": {"text": "Harvest festival"}}'),
        ("sub-2", "open-evening", "b" * 64, "2026-11-20T17:30:00.000000Z", "scheduled",
         '["Deputy Head Ashdown", "Head Teacher Brackley"]', "2026-11-19T09:12:00.000000Z",
         "/srv/steward/accepted/sub-2", '{"x": {"text": "Open evening on Thursday"}}'),
    ],
    "deliveries": [
        ("sub-1", "facebook", "sent", 1, None, None, "123_456", "https://facebook.example/456",
         None, "2026-10-02T08:00:03.000000Z"),
        ("sub-1", "x", "sent", 2, None, None, "1850000000000000001",
         "https://x.example/i/1850000000000000001", "503 from X", "2026-10-02T08:01:00.000000Z"),
        ("sub-2", "x", "pending", 0, "2026-11-20T17:30:00.000000Z", None, None, None, None,
         "2026-11-19T09:12:00.000000Z"),
    ],
    "replies": [
        (1, "x", "1850000000000000077", "990001", "stranger_one", "1850000000000000001",
         "https://x.example/i/1850000000000000077", "2026-10-02T09:00:00.000000Z", "act", 0.97,
         '["insult"]', "acted", "done", "/srv/steward/evidence/r1.json", "c" * 64,
         "INC-2026-0001", '["evidence saved", "hidden"]', "an insulting reply", "offensive", 0,
         "2026-10-02T09:00:05.000000Z"),
        (2, "facebook", "456_789", "990002", "A Parent", "123_456",
         "https://facebook.example/456_789", "2026-10-02T10:00:00.000000Z", "review", 0.55,
         '["borderline"]', "review", None, None, None, None, "[]", "a borderline reply", None,
         1, "2026-10-02T10:00:00.000000Z"),
    ],
    "cursors": [("x", "mentions", "1850000000000000077"), ("*", "checklist:mailed", "[]")],
    "parents": [("d" * 64, "parent.one@example.org", "2026-09-01T08:00:00.000000Z")],
    "links": [("x", "990003", "d" * 64, "parent_one", "2026-09-02T08:00:00.000000Z")],
    "invites": [("e" * 64, "d" * 64, "2026-09-01T08:05:00.000000Z",
                 "2026-09-03T08:05:00.000000Z", "2026-09-02T08:00:00.000000Z")],
    "followers": [("x", "990003", "parent_one", "2026-09-02T08:00:00.000000Z",
                   "verified-parent"),
                  ("x", "990004", "unknown_follower", "2026-09-10T08:00:00.000000Z", "grace")],
    "checklist": [("settings:facebook:messaging", "facebook", "Switch off Page messaging.",
                   "2026-09-05T08:00:00.000000Z", None),
                  ("followers:x:990004", "x", "@unknown_follower follows the school.",
                   "2026-09-10T08:00:00.000000Z", "2026-09-11T08:00:00.000000Z")],
    "administrators": [("Admin Carrow", 0, "2026-10-20T12:00:00.000000Z"),
                       ("Admin Denholm", 1, "2026-10-20T12:00:00.000000Z")],
    "handovers": [(1, "Admin Carrow", "Admin Denholm", "left the school",
                   "2026-10-20T11:59:00.000000Z", "2026-10-20T12:05:00.000000Z",
                   '{"validate": {"done_at": "2026-10-20T11:59:30+00:00", "result": "ok"}}')],
    "incidents": [("INC-2026-0001", "2026-10-02T09:00:05.000000Z", "x", "insult",
                   "evidence saved; hidden", "head teacher", "open",
                   "c" * 64, "/srv/steward/evidence/r1.json", 1)],
}
# An earlier development build's rows: replies had no label.
MODERATION_PREVIEW_ROWS = {
    "submissions": FIRST_RELEASE_ROWS["submissions"][:1],
    "deliveries": FIRST_RELEASE_ROWS["deliveries"][:2],
    "replies": [row[:18] + row[19:] for row in FIRST_RELEASE_ROWS["replies"]],
    "cursors": FIRST_RELEASE_ROWS["cursors"][:1],
    "incidents": FIRST_RELEASE_ROWS["incidents"],
}


def make_database(path: Path, schema: str, rows: dict[str, list[tuple]]) -> Path:
    """A database as that release wrote it: its schema (with WAL, as Steward always set), its
    rows, and no schema version."""
    with sqlite3.connect(path) as database:
        database.execute("PRAGMA journal_mode=WAL")
        database.executescript(schema)
        for table, table_rows in rows.items():
            marks = ", ".join("?" * len(table_rows[0]))
            database.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)  # noqa: S608
    database.close()
    return path


def table_rows(path: Path, table: str) -> list[tuple]:
    """Every row of `table`, in a stable order, as plain tuples."""
    with sqlite3.connect(path) as database:
        rows = database.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()  # noqa: S608
    database.close()
    return rows


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as database:
        names = [row[1] for row in database.execute(f"PRAGMA table_info({table})")]
    database.close()
    return names


def schema_version(path: Path) -> int:
    with sqlite3.connect(path) as database:
        version = database.execute("PRAGMA user_version").fetchone()[0]
    database.close()
    return version
