"""The verified-parent registry: the school office's e-mail list, and the social accounts
linked to it.

The list (a CSV export from the school's information system) is the root of trust. A parent
links an X account by proving both ends: `steward followers invite EMAIL` e-mails a one-time code
to the address on record, and the parent posts it in a mention of the school's account; the
mention poller then links that X user id to the e-mail. Codes expire and work once. E-mail
addresses stay in the database (the invitation must be sent); every log and audit event carries
only a short hash of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.audit.chain import AuditLog
from daemon.runtime.clock import Clock
from daemon.runtime.store import Store, parse_timestamp, timestamp
from policies.clauses import DEFAULT_CATALOGUE, ClauseCatalogue

CODE = re.compile(r"\bSTEWARD-([0-9A-F]{4})-([0-9A-F]{4})\b", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RegistryError(Exception):
    """The list or a request cannot be used; the message names the row or the reason."""


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def short(digest: str) -> str:
    """What logs show of an e-mail address: the first 12 hex digits of its hash."""
    return digest[:12]


@dataclass(frozen=True)
class ImportReport:
    added: int
    removed: int
    unchanged: int
    unlinked: int


class Registry:
    def __init__(self, store: Store, audit: AuditLog, clock: Clock,
                 clauses: ClauseCatalogue = DEFAULT_CATALOGUE) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock
        self.clause = clauses.clause_id("followers")  # the school's, for audit events

    def import_list(self, text: str, column: str) -> ImportReport:
        """Replace the verified e-mail list; links to addresses no longer on it are removed."""
        reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
        if column not in (reader.fieldnames or []):
            raise RegistryError(f"the list has no column '{column}' (columns found: "
                                f"{', '.join(reader.fieldnames or []) or 'none'}); use "
                                "--email-column")
        emails = {}
        for number, row in enumerate(reader, start=2):
            value = (row.get(column) or "").strip()
            if not value:
                continue
            if not EMAIL.match(value):
                raise RegistryError(f"row {number}: that is not an e-mail address")
            emails[email_hash(value)] = value
        now = timestamp(self.clock.now())
        with self.store.transaction() as db:
            existing = {row[0] for row in db.execute("SELECT email_hash FROM parents")}
            removed = existing - set(emails)
            added = set(emails) - existing
            db.executemany("DELETE FROM parents WHERE email_hash = ?", [(h,) for h in removed])
            db.executemany("INSERT INTO parents VALUES (?, ?, ?)",
                           [(h, emails[h], now) for h in added])
            unlinked = db.execute(
                f"DELETE FROM links WHERE email_hash IN ({','.join('?' * len(removed))})",  # noqa: S608
                tuple(removed)).rowcount if removed else 0
        report = ImportReport(len(added), len(removed), len(existing & set(emails)), unlinked)
        self.audit.record("registry.imported", clause=self.clause,
                          added=report.added, removed=report.removed,
                          unchanged=report.unchanged, links_removed=report.unlinked)
        return report

    def invite(self, email: str, ttl: timedelta) -> tuple[str, str]:
        """Create a one-time code for an address on the list; return (code, address)."""
        digest = email_hash(email)
        rows = self.store.query("SELECT email FROM parents WHERE email_hash = ?", (digest,))
        if not rows:
            raise RegistryError("that address is not on the school office's verified list")
        code = f"STEWARD-{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}"
        now = self.clock.now()
        with self.store.transaction() as db:
            db.execute("INSERT INTO invites VALUES (?, ?, ?, ?, NULL)",
                       (hashlib.sha256(code.encode()).hexdigest(), digest, timestamp(now),
                        timestamp(now + ttl)))
        self.audit.record("registry.invited", email=short(digest),
                          expires_at=(now + ttl).isoformat())
        return code, rows[0]["email"]

    def link_from_text(self, platform: str, user_id: str, handle: str, text: str) -> bool:
        """Link `user_id` if `text` carries a valid, unused, unexpired code; say if it did."""
        for match in CODE.finditer(text):
            code = f"STEWARD-{match.group(1).upper()}-{match.group(2).upper()}"
            code_hash = hashlib.sha256(code.encode()).hexdigest()
            now = self.clock.now()
            with self.store.transaction() as db:
                row = db.execute("SELECT email_hash, expires_at, used_at FROM invites WHERE "
                                 "code_hash = ?", (code_hash,)).fetchone()
                if row is None or row[2] is not None or parse_timestamp(row[1]) < now:
                    continue
                db.execute("UPDATE invites SET used_at = ? WHERE code_hash = ?",
                           (timestamp(now), code_hash))
                db.execute("INSERT INTO links VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, "
                           "user_id) DO UPDATE SET email_hash = excluded.email_hash, "
                           "handle = excluded.handle, linked_at = excluded.linked_at",
                           (platform, user_id, row[0], handle, timestamp(now)))
            self.audit.record("follower.linked", clause=self.clause,
                              platform=platform, user_id=user_id, email=short(row[0]))
            return True
        return False

    def verified(self, platform: str) -> set[str]:
        return {row["user_id"] for row in self.store.query(
            "SELECT user_id FROM links WHERE platform = ?", (platform,))}

    def unlink(self, platform: str, user_id: str) -> bool:
        with self.store.transaction() as db:
            gone = db.execute("DELETE FROM links WHERE platform = ? AND user_id = ?",
                              (platform, user_id)).rowcount
        if gone:
            self.audit.record("follower.unlinked", platform=platform, user_id=user_id)
        return bool(gone)


def invitation_text(school: str, account: str, code: str, hours: int) -> str:
    return (f"Hello,\n\n{school} only lets verified parents and carers follow its X account "
            f"@{account}. To link your X account to this e-mail address (the one the school "
            f"office holds), post a reply or a post that mentions @{account} and contains this "
            f"code:\n\n    {code}\n\nThe code works once and expires in {hours} hours. If you "
            "did not ask for this, ignore this message.\n")


def is_expired(expires_at: str, now: datetime) -> bool:
    return parse_timestamp(expires_at) < now
