"""The project's own types for what crosses the connector boundary.

They are plain frozen dataclasses so that policies, the daemon and tests can build them without
any SDK, and so that nothing platform-specific leaks out of `connectors`. The one platform dict
that crosses the boundary is `raw` on a Reply or DirectMessage: the platform's own JSON, kept
whole as evidence (`daemon.moderation.evidence`) and read by nothing else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Media:
    """One image to attach to a post: the bytes Steward checked (`data`, whose SHA-256 the
    publisher has just compared with `sha256`), where it keeps them, and the alt text.
    Connectors upload `data` and never open `path` themselves."""

    path: Path
    alt_text: str
    mime_type: str
    sha256: str
    data: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class Post:
    """What to publish on one platform: the text and up to four images, never a location."""

    text: str
    media: tuple[Media, ...] = ()


@dataclass(frozen=True)
class PostRef:
    """Where a published post lives: the platform's id and a public URL for receipts."""

    platform: str
    remote_id: str
    url: str


@dataclass(frozen=True)
class PublishedPost:
    """A post as read back from a platform, used to find a post after a crash."""

    ref: PostRef
    text: str
    media_count: int
    created_at: datetime | None


@dataclass(frozen=True)
class Account:
    """The account a connector acts as."""

    platform: str
    account_id: str
    handle: str
    name: str


@dataclass(frozen=True)
class Reply:
    """A reply or comment someone else left on one of the school's posts."""

    platform: str
    reply_id: str
    author_id: str
    author_handle: str
    text: str
    in_reply_to: str
    created_at: datetime | None
    url: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ReplyPage:
    """Replies read in one go, and the cursor to read on from next time (pass it back as
    `cursor`; None when there is nothing to continue from)."""

    replies: tuple[Reply, ...]
    cursor: str | None


@dataclass(frozen=True)
class PlatformUser:
    """Another account on the platform: a follower, or an account the school follows."""

    user_id: str
    handle: str
    name: str


@dataclass(frozen=True)
class Profile:
    """Another account's public profile: who it is, and the bio its owner wrote (which a
    parent proves they control by putting a code from the school in it)."""

    user_id: str
    handle: str
    name: str
    bio: str


@dataclass(frozen=True)
class FollowerPage:
    """One page of the account's followers, and the token of the next (None: the last)."""

    users: tuple[PlatformUser, ...]
    next_token: str | None


@dataclass(frozen=True)
class DirectMessage:
    """A direct message someone sent the school's account."""

    platform: str
    message_id: str
    sender_id: str
    text: str
    created_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Conversation:
    """A message thread on a Page (its content is not read: only that it exists)."""

    conversation_id: str
    updated_at: str | None = None
    message_count: int | None = None


@dataclass(frozen=True)
class AccountSettings:
    """The privacy settings Steward keeps an eye on (`policies.settings_drift`), as read; None
    means the platform does not say. No platform offers an API to change them."""

    protected: bool | None = None
    geo_enabled: bool | None = None
    allow_dms_from: str | None = None
    discoverable_by_email: bool | None = None

    def observed(self) -> dict[str, object]:
        """The settings the platform told, by the keys of `policies.settings_drift.SETTINGS`."""
        return {key: value for key, value in (
            ("protected", self.protected), ("geo_enabled", self.geo_enabled),
            ("allow_dms_from", self.allow_dms_from),
            ("discoverable_by_email", self.discoverable_by_email)) if value is not None}


def comparable_text(text: str) -> str:
    """Normalise post text the way platforms alter it, so a post can be recognised when read back.

    X HTML-escapes `&<>` and replaces every link with a t.co link.
    """
    text = html.unescape(text)
    text = re.sub(r"https?://\S+", "<link>", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class ExposedMedia:
    """A cleaned file made reachable for a platform that fetches media itself (Instagram):
    the unguessable, short-lived address to give it, and the token to withdraw it by."""

    url: str
    token: str


class MediaHost(Protocol):
    """Where a connector puts a file for a platform to fetch, and takes it back from. The
    daemon provides it (`daemon.runtime.public_media`); a connector never serves files."""

    def expose(self, data: bytes, mime_type: str) -> ExposedMedia:
        """Make `data` fetchable at a new unguessable URL, for a short time."""
        ...

    def withdraw(self, exposed: ExposedMedia) -> None:
        """Stop serving it (at once; it would also expire by itself)."""
        ...
