"""The verified-parent registry: the school office's e-mail list, and the social accounts
linked to it.

The list (a CSV export from the school's information system) is the root of trust. A parent
links an X account by proving both ends, without posting anything: `steward followers invite
EMAIL` e-mails a one-time code to the address on record, the parent puts the code in their X
profile's bio and tells the office their handle, and `steward followers confirm EMAIL @handle`
looks the profile up and links that X user id to the e-mail if the bio holds a code issued to
that address. A random code in a bio says nothing about the school; the parent removes it
afterwards. Only where the school turns it on (`followers.link_by_public_mention`) does a code
posted in a mention of the school's account link too: that mention is public, and shows
everyone that its author is a parent at the school (docs/safeguarding.md). Codes expire and
work once. E-mail addresses stay in the database (the invitation must be sent); every log and
audit event carries only a short hash of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.domain import Profile
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
        """Link `user_id` if `text` (a public mention) carries a valid, unused, unexpired
        code; say if it did."""
        for code_hash in _code_hashes(text):
            linked = self.store.use_invite(code_hash, platform, user_id, handle,
                                           self.clock.now())
            if linked is None:
                continue
            self.audit.record("follower.linked", clause=self.clause, platform=platform,
                              user_id=user_id, email=short(linked), proof="public mention")
            return True
        return False

    def link_by_profile(self, platform: str, email: str, profile: Profile) -> None:
        """Link `profile`'s account to `email` if its bio holds an unused, unexpired code
        issued to that address. RegistryError, saying what to do, if it does not."""
        digest = email_hash(email)
        if self.store.parent_email(digest) is None:
            raise RegistryError("that address is not on the school office's verified list")
        hashes = _code_hashes(profile.bio)
        if not hashes:
            raise RegistryError(
                f"@{profile.handle}'s bio holds no Steward code. Ask the parent to put the "
                "code from their invitation e-mail anywhere in their X bio (Edit profile, "
                "Bio), then run this again")
        now = self.clock.now()
        why_not = []
        for code_hash in hashes:
            issued = self.store.invite(code_hash)
            if issued is None:
                why_not.append("it is not a code Steward issued (a typing mistake?)")
            elif issued[0] != digest:
                why_not.append("it was issued to another address")
            elif issued[2] is not None:
                why_not.append("it was used already")
            elif issued[1] < now:
                why_not.append("it has expired")
            elif self.store.use_invite(code_hash, platform, profile.user_id, profile.handle,
                                       now) is not None:
                self.audit.record("follower.linked", clause=self.clause, platform=platform,
                                  user_id=profile.user_id, email=short(digest),
                                  proof="profile bio")
                return
            else:  # spent or expired between the look and the link
                why_not.append("it was used already")
        raise RegistryError(
            f"@{profile.handle} was not linked: the code in its bio cannot be used ("
            + "; ".join(dict.fromkeys(why_not)) + "). Send the parent a new code with "
            f"`steward followers invite {email}`, and ask them to put that one in their bio")

    def verified(self, platform: str) -> set[str]:
        return self.store.linked_users(platform)

    def unlink(self, platform: str, user_id: str) -> bool:
        gone = self.store.unlink(platform, user_id)
        if gone:
            self.audit.record("follower.unlinked", platform=platform, user_id=user_id)
        return bool(gone)


def _code_hashes(text: str) -> list[str]:
    """The SHA-256 of each Steward code in `text` (codes are kept only as hashes)."""
    codes = [f"STEWARD-{match.group(1).upper()}-{match.group(2).upper()}"
             for match in CODE.finditer(text)]
    return [hashlib.sha256(code.encode()).hexdigest() for code in dict.fromkeys(codes)]


def invitation_text(school: str, account: str, code: str, hours: int,
                    public_mention: bool = False) -> str:
    """The invitation e-mail: put the code in your X bio and tell the office your handle;
    and, only where the school turned it on, the public alternative, saying what it shows."""
    text = (f"Hello,\n\n{school} only lets verified parents and carers follow its X account "
            f"@{account}. To link your X account to this e-mail address (the one the school "
            "office holds), without posting anything:\n\n"
            "1. Put this code anywhere in your X profile's bio (on X: Edit profile, Bio):\n\n"
            f"    {code}\n\n"
            "2. Tell the school office your X handle (@yourname).\n\n"
            "The office checks your profile and links your account; then you can take the "
            "code out of your bio. The code is random: nobody who sees it can tell what it is "
            "for or which school it came from.\n\n")
    if public_mention:
        text += (f"Or, instead: post a reply or a post that mentions @{account} and contains "
                 "the code. That post is public: everyone who sees it can tell that you are a "
                 "parent or carer at the school.\n\n")
    return text + (f"The code works once and expires in {hours} hours. If you did not ask for "
                   "this, ignore this message.\n")


def is_expired(expires_at: str, now: datetime) -> bool:
    return parse_timestamp(expires_at) < now
