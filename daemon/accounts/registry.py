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
from daemon.runtime.store import Store, parse_timestamp
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
        change = self.store.replace_parents(emails, self.clock.now())
        report = ImportReport(change.added, change.removed, change.unchanged, change.unlinked)
        self.audit.record("registry.imported", clause=self.clause,
                          added=report.added, removed=report.removed,
                          unchanged=report.unchanged, links_removed=report.unlinked)
        return report

    def invite(self, email: str, ttl: timedelta) -> tuple[str, str]:
        """Create a one-time code for an address on the list; return (code, address)."""
        digest = email_hash(email)
        address = self.store.parent_email(digest)
        if address is None:
            raise RegistryError("that address is not on the school office's verified list")
        code = f"STEWARD-{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}"
        now = self.clock.now()
        self.store.add_invite(hashlib.sha256(code.encode()).hexdigest(), digest, now, now + ttl)
        self.audit.record("registry.invited", email=short(digest),
                          expires_at=(now + ttl).isoformat())
        return code, address

    def link_from_text(self, platform: str, user_id: str, handle: str, text: str) -> bool:
        """Link `user_id` if `text` carries a valid, unused, unexpired code; say if it did."""
        for match in CODE.finditer(text):
            code = f"STEWARD-{match.group(1).upper()}-{match.group(2).upper()}"
            code_hash = hashlib.sha256(code.encode()).hexdigest()
            linked = self.store.use_invite(code_hash, platform, user_id, handle,
                                           self.clock.now())
            if linked is None:
                continue
            self.audit.record("follower.linked", clause=self.clause,
                              platform=platform, user_id=user_id, email=short(linked))
            return True
        return False

    def verified(self, platform: str) -> set[str]:
        return self.store.linked_users(platform)

    def unlink(self, platform: str, user_id: str) -> bool:
        gone = self.store.unlink(platform, user_id)
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
