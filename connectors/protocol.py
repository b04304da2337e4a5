"""The interface every platform connector offers the daemon: every call the daemon makes.

`Connector` is every method the daemon calls on any connector. Each platform implements all of
them: what its API cannot do raises `Unsupported`, and its `capabilities` say so beforehand, so
the daemon asks the capabilities first and never the platform's name. Every method returns the
types of `connectors.domain` (no platform dict leaves a connector, except `raw` evidence) and
raises only the errors of `connectors.errors`.

Three things only some platforms' credentials have are separate protocols, because the daemon
asks whether a connector has them (today with `hasattr`): tokens that Steward refreshes (X's
OAuth 2.0), tokens that expire and must be renewed by a person (a Facebook Page token), and
tokens that can be revoked by API after a handover (X). A fourth is a way of publishing:
`PublishesInSteps` (Instagram's container, then media_publish), asked with `isinstance`.

tests/connectors/test_protocol.py scans daemon/ and fails when the daemon calls anything on a
connector that is not declared here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from connectors.capabilities import Capabilities
from connectors.domain import (
    Account,
    AccountSettings,
    Conversation,
    DirectMessage,
    FollowerPage,
    PlatformUser,
    Post,
    PostRef,
    Profile,
    PublishedPost,
    Reply,
    ReplyPage,
)


@runtime_checkable
class Connector(Protocol):
    """One authenticated account on one platform.

    Every method raises only the errors of `connectors.errors`.
    """

    platform: str
    brand: str  # the platform's name as people say it ("X", "Facebook"), for messages
    capabilities: Capabilities

    # -- the account and its posts -----------------------------------------------------------

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

    # -- what others write (capabilities.read_replies, read_mentions) ------------------------

    def replies(self, post_id: str, cursor: str | None) -> ReplyPage:
        """Replies or comments on one of the school's posts written after `cursor` (None: all
        the platform still has), with the cursor to continue from next time."""
        ...

    def replies_to_posts(self, post_ids: Sequence[str], cursor: str | None) -> ReplyPage:
        """Replies to all of `post_ids` after `cursor`, in as few calls as the platform allows,
        with one cursor for them all (`capabilities.read_replies_together`)."""
        ...

    def mentions(self, cursor: str | None) -> ReplyPage:
        """Posts naming the school's account written after `cursor`, and the next cursor."""
        ...

    # -- moderation (capabilities.hide_replies, delete_replies, mute_users, block_users,
    #    block_direct_messages) -------------------------------------------------------------

    def hide(self, reply: Reply) -> None:
        """Hide a reply or comment from everyone but its author."""
        ...

    def unhide(self, reply_id: str) -> None:
        """Show a hidden reply or comment again."""
        ...

    def delete_reply(self, reply: Reply) -> None:
        """Delete someone else's reply or comment on the school's post."""
        ...

    def mute(self, user_id: str) -> None:
        """Mute an account: the school no longer sees it."""
        ...

    def unmute(self, user_id: str) -> None:
        """Undo `mute`."""
        ...

    def block(self, user_id: str) -> None:
        """Block an account (on Facebook: from the Page)."""
        ...

    def unblock(self, user_id: str) -> None:
        """Undo `block`."""
        ...

    def dm_block(self, user_id: str) -> None:
        """Stop an account sending the school direct messages."""
        ...

    # -- followers, following, settings, messages (capabilities.list_followers, ...) ---------

    def followers_page(self, pagination_token: str | None,
                       max_results: int = 1000) -> FollowerPage:
        """One page of up to `max_results` of the account's followers, newest first, from
        `pagination_token` (None: the first)."""
        ...

    def following(self) -> list[PlatformUser]:
        """Every account the school follows."""
        ...

    def unfollow(self, user_id: str) -> None:
        """Stop following an account."""
        ...

    def read_settings(self) -> AccountSettings:
        """What the platform tells of the account's privacy settings. No platform lets an
        app change them: what drifts goes on a checklist for a person."""
        ...

    def direct_messages(self, since_id: str | None) -> list[DirectMessage]:
        """Direct messages others sent the account after `since_id`."""
        ...

    def conversations(self) -> list[Conversation]:
        """The account's message threads, newest first (only that they exist)."""
        ...

    def profile(self, handle: str) -> Profile | None:
        """The public profile of the account `handle` (without @), None if there is none."""
        ...


@runtime_checkable
class RefreshesTokens(Protocol):
    """Credentials whose access token Steward refreshes itself (X's OAuth 2.0)."""

    user_auth: bool  # False when the account uses OAuth 2.0 tokens, which `refresh` renews

    def refresh(self) -> float:
        """Exchange the refresh token for new tokens (saved before use); return when the new
        access token expires, as a POSIX timestamp."""
        ...


@runtime_checkable
class ExpiringToken(Protocol):
    """Credentials that expire and that a person must renew (a Facebook Page token)."""

    def token_expiry(self) -> datetime | None:
        """When the token expires; None when it does not."""
        ...


@runtime_checkable
class RevocableToken(Protocol):
    """Credentials that can be revoked by API, as a handover does to the old ones (X)."""

    def invalidate_token(self) -> None:
        """Revoke the tokens Steward uses."""
        ...


@runtime_checkable
class PublishesInSteps(Protocol):
    """A platform whose post is made in two calls, the first of which leaves something the
    platform can be asked about (Instagram: a media container, then `media_publish`). The
    publisher records `prepare`'s id before it calls `publish_prepared`, so that after a crash
    it asks `prepared_state` instead of searching the account for the post."""

    def prepare(self, post: Post) -> str:
        """Do the first step (the media fetched, the container made and ready); return its id."""
        ...

    def prepared_state(self, prepared_id: str) -> str:
        """What became of a prepared post: 'published', 'ready' (may be published now),
        'processing' (ask again later) or 'gone' (expired or failed: prepare again)."""
        ...

    def publish_prepared(self, prepared_id: str) -> PostRef:
        """Do the second step: publish what `prepare` made; return where it lives."""
        ...


OPTIONAL_PROTOCOLS = (RefreshesTokens, ExpiringToken, RevocableToken, PublishesInSteps)
