"""The project's own types for what crosses the connector boundary.

They are plain frozen dataclasses so that policies, the daemon and tests can build them without
any SDK, and so that nothing platform-specific leaks out of `connectors`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


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
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class AccountSettings:
    """The privacy settings Steward keeps an eye on; None means the platform does not say."""

    protected: bool | None = None
    geo_enabled: bool | None = None
    direct_messages_from: str | None = None


def comparable_text(text: str) -> str:
    """Normalise post text the way platforms alter it, so a post can be recognised when read back.

    X HTML-escapes `&<>` and replaces every link with a t.co link.
    """
    text = html.unescape(text)
    text = re.sub(r"https?://\S+", "<link>", text)
    return " ".join(text.split())
