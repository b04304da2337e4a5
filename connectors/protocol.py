"""The interface every platform connector offers the daemon."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from connectors.capabilities import Capabilities
from connectors.domain import Account, Post, PostRef, PublishedPost


class Connector(Protocol):
    """One authenticated account on one platform.

    Every method raises only the errors of `connectors.errors`.
    """

    platform: str
    capabilities: Capabilities

    def check(self) -> Account:
        """Return the account these credentials act as (an authenticated, read-only call)."""
        ...

    def publish(self, post: Post) -> PostRef:
        """Upload the post's media, then create the post; return where it lives."""
        ...

    def delete(self, ref: PostRef) -> None:
        """Delete a post the account made."""
        ...

    def get_post(self, remote_id: str) -> PublishedPost | None:
        """Read one post back; None when the platform says it does not exist."""
        ...

    def recent_posts(self, since: datetime) -> list[PublishedPost]:
        """Return the account's own posts created at or after `since`, newest first."""
        ...
