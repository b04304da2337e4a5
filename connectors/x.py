"""The X connector: an account on X, through tweepy's API v2 `Client`.

How it calls X, and why:
- Posts are created with `Client.create_tweet`, never with a `place_id`, so no `geo` is sent.
- Images are uploaded with `POST /2/media/upload` (JSON, base64) through `Client.request`, because
  tweepy 4.17 has no v2 upload and its v1.1 upload targets an endpoint X deprecated; alt text goes
  with `POST /2/media/metadata`.
- Videos (`tweet_video`) and animated GIFs (`tweet_gif`) go in chunks, also through
  `Client.request` (so signed by tweepy's OAuth 1.0a handler, or with the OAuth 2.0 token):
  `POST /2/media/upload/initialize`, `/{id}/append` (JSON, base64, `segment_index` in order),
  `/{id}/finalize`, then `GET /2/media/upload?command=STATUS` every `check_after_secs` (waited
  on the daemon's clock) until X's processing succeeded or failed. Each acknowledged step is
  recorded in the `UploadJournal`, so a restarted publish continues from the last chunk X took
  (or only asks the status again) while X still holds the upload, and never sends it twice.
- `wait_on_rate_limit` stays off: tweepy retries a 429 without a reset header immediately and
  forever. A `RateLimited` error goes back to the daemon, which schedules the retry.
- Every request has a timeout (tweepy sets none) via the session adapter in `transport`.
- Time comes from X's own `Date` header (a rate limit's reset and a token's expiry are X's
  times), else from the `clock` the daemon passes in: this module never reads the clock.
- Only X's answers and the network become `TemporaryFailure`; an exception of Steward's own code
  (a KeyError on an answer of a shape it does not know) is a `ConnectorBug` (`connectors.bugs`).
  Everything that reads an answer therefore happens inside `translated_errors`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import tweepy

from connectors.bugs import BUG_CLASSES, connector_bug
from connectors.capabilities import Capabilities
from connectors.domain import (
    Account,
    AccountSettings,
    Conversation,
    DirectMessage,
    FollowerPage,
    Media,
    PlatformUser,
    Post,
    PostRef,
    Profile,
    PublishedPost,
    Reply,
    ReplyPage,
)
from connectors.errors import (
    AuthenticationFailed,
    ConnectorError,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Unsupported,
)
from connectors.transport import TWEEPY_HOST, X_API_URL, platform_session
from connectors.uploads import MemoryJournal, UploadJournal, UploadProgress
from connectors.x_costs import Usage, usage

PLATFORM = "x"
MAX_IMAGES = 4
MB = 1024 * 1024
# docs.x.com, media upload best practices: GIF 15 MB; a video on a Post 8 GB (default account).
# A chunk is at most 5 MB (APPEND), sent base64 in JSON (4/3 larger), and segment_index runs
# 0-999: so a chunk of at most 3.75 MB raw, and at most 1,000 of them.
MAX_GIF_BYTES = 15 * MB
MAX_CHUNK_BYTES = 5 * MB * 3 // 4
MAX_SEGMENTS = 1000
MAX_VIDEO_BYTES = MAX_CHUNK_BYTES * MAX_SEGMENTS
VIDEO_TYPES = ("video/mp4", "video/quicktime")
PROCESSING_STATES = ("pending", "in_progress", "succeeded", "failed")
# an upload whose session ends sooner than this is started again rather than continued
EXPIRY_MARGIN_SECONDS = 600
MAX_TEXT_LENGTH = 280
USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")  # X's OpenAPI: ^[A-Za-z0-9_]{1,15}$
REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
_FORBIDDEN_AS_AUTH = ("client-not-enrolled", "unsupported-authentication", "oauth1-permissions")


@contextmanager
def translated_errors(action: str, *, ambiguous: bool = False) -> Iterator[None]:
    """Turn tweepy and requests errors raised inside the block into the project's errors, and
    an exception of Steward's own code into a logged `ConnectorBug`.

    `ambiguous` marks calls that change something on X: if such a call times out or the
    connection drops, the change may have happened, and the caller must look before retrying.
    """
    try:
        yield
    except tweepy.TooManyRequests as error:
        reset = getattr(error, "reset_time", None)
        said_at = answered_at(error.response)
        retry_after = max(0.0, reset - said_at.timestamp()) if reset and said_at else None
        raise RateLimited(
            PLATFORM, f"rate limit reached while trying to {action}", retry_after=retry_after
        ) from None
    except tweepy.Unauthorized:
        raise AuthenticationFailed(
            PLATFORM, f"X refused the credentials while trying to {action} (401)", status=401
        ) from None
    except tweepy.Forbidden as error:
        detail = _problem_summary(error)
        if any(marker in detail for marker in _FORBIDDEN_AS_AUTH):
            raise AuthenticationFailed(
                PLATFORM, f"the X app lacks permission to {action} (403: {detail})", status=403
            ) from None
        raise Rejected(PLATFORM, f"X refused to {action} (403: {detail})", status=403) from None
    except tweepy.NotFound:
        raise Rejected(PLATFORM, f"X found nothing to {action} (404)", status=404) from None
    except tweepy.TwitterServerError as error:
        status = error.response.status_code
        raise TemporaryFailure(
            PLATFORM, f"X had a server error ({status}) while trying to {action}",
            ambiguous=ambiguous, status=status,
        ) from None
    except tweepy.HTTPException as error:
        status = error.response.status_code
        raise Rejected(
            PLATFORM, f"X refused to {action} ({status}: {_problem_summary(error)})", status=status
        ) from None
    except requests.Timeout:
        raise TemporaryFailure(
            PLATFORM, f"X did not answer in time while trying to {action}", ambiguous=ambiguous
        ) from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError):
        raise TemporaryFailure(
            PLATFORM, f"could not reach X (connection failed) while trying to {action}",
            ambiguous=ambiguous,
        ) from None
    except json.JSONDecodeError:  # not JSON at all: a proxy's error page, a cut-off body
        raise TemporaryFailure(
            PLATFORM, f"X sent a response Steward could not read while trying to {action}",
            ambiguous=ambiguous,
        ) from None
    except BUG_CLASSES as error:  # JSON of a shape Steward does not know, or a plain bug
        raise connector_bug(PLATFORM, action, error, ambiguous=ambiguous) from error


class ReadsTheTime(Protocol):
    """What the connector asks of the daemon's clock (`daemon.runtime.clock.Clock`)."""

    def now(self) -> datetime: ...


def answered_at(response: requests.Response | None) -> datetime | None:
    """When X says it answered (its `Date` header), or None when it does not say."""
    date = response.headers.get("date") if response is not None else None
    try:
        return parsedate_to_datetime(date).astimezone(UTC) if date else None
    except (TypeError, ValueError):
        return None


def _problem_summary(error: tweepy.HTTPException) -> str:
    """Return X's error title/type/detail without echoing anything we sent."""
    try:
        body = error.response.json()
    except ValueError:
        return "no details"
    if not isinstance(body, dict):
        return "no details"
    parts = [str(body.get(key)) for key in ("title", "type", "reason") if body.get(key)]
    return ", ".join(parts) or "; ".join(str(message) for message in error.api_messages[:2])


class XConnector:
    """The school's X account, through tweepy's `Client` with OAuth 1.0a user context."""

    platform = PLATFORM
    brand = "X"  # the platform's name in messages
    capabilities = Capabilities(
        max_images_per_post=MAX_IMAGES,
        max_text_length=MAX_TEXT_LENGTH,
        max_image_bytes=5 * 1024 * 1024,  # X media upload: images up to 5 MB
        # "up to 4 photos, 1 animated GIF or 1 video in a Post" (media upload best practices)
        max_videos_per_post=1,
        videos_with_images=False,
        max_video_bytes=MAX_VIDEO_BYTES,
        max_animated_gif_bytes=MAX_GIF_BYTES,
        resumable_uploads=True,
        hide_replies=True,
        mute_users=True,
        list_followers=True,
        list_following=True,
        unfollow=True,
        read_settings=True,
        read_direct_messages=True,
        block_direct_messages=True,
        read_replies=True,
        read_replies_together=True,
        read_mentions=True,
        look_up_profiles=True,
        why_not={
            "delete_replies": "X cannot delete a reply by someone else",
            "read_conversations": "X's direct messages are read one by one, not as threads",
        },
    )
    _ENTERPRISE_ONLY = {
        "block_users": "blocking by API needs X's Enterprise plan",
        "remove_followers": "removing a follower (block, then unblock) by API needs X's "
                            "Enterprise plan",
    }

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        timeout: float = 20.0,
        reply_settings: str | None = None,
        sandbox_url: str | None = None,
        api_url: str | None = None,
        plan: str = "pay-per-usage",
        oauth2_access_token: str | None = None,
        oauth2_refresh_token: str | None = None,
        oauth2_client_id: str | None = None,
        oauth2_client_secret: str | None = None,
        save_tokens: Callable[[str, str, float], None] | None = None,
        clock: ReadsTheTime | None = None,
        on_usage: Callable[[Usage], None] | None = None,
        uploads: UploadJournal | None = None,
        video_chunk_bytes: int = 3 * MB,
        processing_wait_seconds: float = 900.0,
    ) -> None:
        # Blocking, and so removing a follower (block then unblock), is Enterprise-only.
        enterprise = plan == "enterprise"
        self.capabilities = replace(
            type(self).capabilities, block_users=enterprise, remove_followers=enterprise,
            why_not=dict(type(self).capabilities.why_not) | (
                {} if enterprise else self._ENTERPRISE_ONLY))
        if reply_settings is not None and reply_settings not in REPLY_SETTINGS:
            raise ValueError(f"reply_settings must be one of {', '.join(REPLY_SETTINGS)}")
        # OAuth 2.0 user context (a bearer access token and a refresh token) when given;
        # otherwise OAuth 1.0a user context. tweepy sends the bearer token with user_auth=False.
        self.user_auth = oauth2_access_token is None
        self.oauth2 = {"access_token": oauth2_access_token, "refresh_token": oauth2_refresh_token,
                       "client_id": oauth2_client_id, "client_secret": oauth2_client_secret}
        self.save_tokens = save_tokens
        self.clock = clock
        self.client = tweepy.Client(
            bearer_token=oauth2_access_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            wait_on_rate_limit=False,
        )
        # tweepy's requests for api.twitter.com go to api.x.com (or the configured address)
        self.client.session = platform_session(TWEEPY_HOST, timeout, sandbox_url,
                                               api_url or X_API_URL)
        # X charges per call (`connectors.x_costs`): every answer is priced for the ledger
        self.on_usage = on_usage
        self.client.session.hooks["response"].append(self._priced)
        self.reply_settings = reply_settings
        self._account: Account | None = None
        # where uploads in chunks are remembered (the daemon's store survives a restart)
        self.uploads: UploadJournal = uploads if uploads is not None else MemoryJournal()
        if not 0 < video_chunk_bytes <= MAX_CHUNK_BYTES:
            raise ValueError(f"video_chunk_bytes must be between 1 and {MAX_CHUNK_BYTES}")
        self.video_chunk_bytes = video_chunk_bytes
        self.processing_wait_seconds = processing_wait_seconds

    def _priced(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        """Tell `on_usage` what X charges for this exchange (nothing for what it refused)."""
        if self.on_usage is None or not 200 <= response.status_code < 300:
            return
        answer = response.text  # a list's count is read without parsing its thousand users
        request = response.request
        path = urlsplit(request.url or "").path
        body = request.body if isinstance(request.body, (bytes, str)) else None
        charged = usage(request.method or "", path, response.status_code, body, answer)
        if charged is not None:
            self.on_usage(charged)

    # -- reading -----------------------------------------------------------------------------

    def check(self) -> Account:
        """Return the authenticated account (`GET /2/users/me`)."""
        with translated_errors("read the account"):
            response = self.client.get_me(user_auth=self.user_auth)
            data = response.data
            account = Account(
                platform=PLATFORM,
                account_id=str(data.id),
                handle=str(data.username),
                name=str(data.name),
            )
        self._account = account
        return account

    def _account_or_check(self) -> Account:
        return self._account or self.check()

    def get_post(self, remote_id: str) -> PublishedPost | None:
        """Read one post back (`GET /2/tweets/{id}`); None if X says it does not exist."""
        try:
            with translated_errors("read a post"):
                response = self.client.get_tweet(
                    remote_id,
                    tweet_fields=["created_at", "attachments"],
                    user_auth=self.user_auth,
                )
                if response.data is None:  # X answers 200 with only "errors" for a deleted post
                    return None
                return self._published(response.data)
        except Rejected as error:
            if error.status == 404:
                return None
            raise

    def recent_posts(self, since: datetime) -> list[PublishedPost]:
        """Return own posts created since `since` (`GET /2/users/{id}/tweets`), newest first."""
        account = self._account_or_check()
        posts: list[PublishedPost] = []
        pagination_token = None
        with translated_errors("list recent posts"):
            for _page in range(10):
                response = self.client.get_users_tweets(
                    account.account_id,
                    start_time=since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    max_results=100,
                    pagination_token=pagination_token,
                    tweet_fields=["created_at", "attachments"],
                    user_auth=self.user_auth,
                )
                posts.extend(self._published(tweet) for tweet in response.data or [])
                pagination_token = (response.meta or {}).get("next_token")
                if not pagination_token:
                    break
        return posts

    def _published(self, tweet: tweepy.Tweet) -> PublishedPost:
        attachments = tweet.attachments or {}
        created_at = tweet.created_at
        return PublishedPost(
            ref=self._ref(str(tweet.id)),
            text=tweet.text,
            media_count=len(attachments.get("media_keys", [])),
            created_at=created_at,
        )

    def _ref(self, remote_id: str) -> PostRef:
        handle = self._account.handle if self._account else "i"
        return PostRef(PLATFORM, remote_id, f"https://x.com/{handle}/status/{remote_id}")

    # -- writing -----------------------------------------------------------------------------

    def upload_image(self, media: Media) -> str:
        """Upload one image (the bytes Steward checked) with `POST /2/media/upload`, set its alt
        text; return the media id."""
        mime_type, alt_text = media.mime_type, media.alt_text
        if mime_type not in ("image/jpeg", "image/png", "image/webp", "image/gif"):
            raise Rejected(PLATFORM, f"X does not take {mime_type} images through this upload")
        payload = base64.b64encode(media.data).decode("ascii")
        with translated_errors("upload an image"):
            response = self.client.request(
                "POST",
                "/2/media/upload",
                json={"media": payload, "media_category": "tweet_image"},
                user_auth=self.user_auth,
            )
            media_id = str(response.json()["data"]["id"])
        if alt_text:
            with translated_errors("set an image's alt text"):
                self.client.request(
                    "POST",
                    "/2/media/metadata",
                    json={"id": media_id, "metadata": {"alt_text": {"text": alt_text[:1000]}}},
                    user_auth=self.user_auth,
                )
        return media_id

    def publish(self, post: Post) -> PostRef:
        """Upload the media, then create the post; the create call is the ambiguous one.
        A video or an animated GIF goes in chunks (`upload_in_chunks`), alone in its post."""
        if len(post.media) > MAX_IMAGES:
            raise Rejected(PLATFORM, f"X allows at most {MAX_IMAGES} images in a post")
        chunked = [media for media in post.media if _chunked_category(media)]
        if chunked and len(post.media) > 1:
            raise Rejected(PLATFORM, "X takes up to 4 photos, 1 animated GIF or 1 video in a "
                           "post, not a video or animated GIF with other media")
        media_ids = [
            self.upload_in_chunks(media) if _chunked_category(media) else
            self.upload_image(media) for media in post.media
        ]
        with translated_errors("create the post", ambiguous=True):
            response = self.client.create_tweet(
                text=post.text,
                media_ids=media_ids or None,
                reply_settings=self.reply_settings,
                user_auth=self.user_auth,
            )
            remote_id = str(response.data["id"])
        for media in chunked:  # used: a later post of the same file uploads it afresh
            self.uploads.forget_upload(PLATFORM, media.sha256)
        return self._ref(remote_id)

    # -- videos and animated GIFs, in chunks -------------------------------------------------

    def upload_in_chunks(self, media: Media) -> str:
        """Upload a video (`tweet_video`) or animated GIF (`tweet_gif`) in chunks and wait for
        X to process it; return its media id, usable in a post.

        Resumable: after each step X acknowledged, the journal records how far the upload got;
        called again for the same bytes (after a failure or a restart) while X still holds the
        upload, it sends only the chunks X has not taken, or only asks the status again. If X
        no longer knows the upload (expired, or forgotten), it starts again, once."""
        category = _chunked_category(media)
        if category is None:
            raise Rejected(PLATFORM, f"X does not take {media.mime_type} in chunks")
        limit = MAX_VIDEO_BYTES if category == "tweet_video" else MAX_GIF_BYTES
        if len(media.data) > limit:
            raise Rejected(PLATFORM, f"X takes {_kind(category)}s up to {limit // MB:,} MB "
                           f"through Steward; this one is {len(media.data) / MB:,.1f} MB")
        progress = self.uploads.upload_progress(PLATFORM, media.sha256)
        now = self.clock.now().timestamp() if self.clock is not None else None
        if progress is not None and (progress.total_bytes != len(media.data) or (
                now is not None and progress.expires_at - EXPIRY_MARGIN_SECONDS <= now)):
            self.uploads.forget_upload(PLATFORM, media.sha256)  # X has forgotten it, or will
            progress = None
        if progress is not None:
            try:
                return self._continue_upload(media, category, progress)
            except Rejected as error:
                if error.status not in (400, 404):
                    raise
                # X does not know the upload any more: start again, from nothing
                self.uploads.forget_upload(PLATFORM, media.sha256)
        return self._continue_upload(media, category, self._initialize(media, category))

    def _initialize(self, media: Media, category: str) -> UploadProgress:
        total = len(media.data)
        chunk = max(self.video_chunk_bytes, -(-total // MAX_SEGMENTS))
        with translated_errors(f"start uploading a {_kind(category)}"):
            response = self.client.request(
                "POST", "/2/media/upload/initialize",
                json={"media_type": media.mime_type, "total_bytes": total,
                      "media_category": category}, user_auth=self.user_auth)
            data = response.json()["data"]
            media_id = str(data["id"])
            if not re.fullmatch(r"[0-9]{1,19}", media_id):
                raise ValueError("X's media id is not a number")
            lifetime = data.get("expires_after_secs")
            lifetime = lifetime if isinstance(lifetime, int) and lifetime > 0 else 0
            issued = answered_at(response) or (self.clock.now() if self.clock else None)
        # without X's date or a clock the expiry cannot be placed: such an upload is not resumed
        progress = UploadProgress(media_id, total, chunk, 0, False,
                                  issued.timestamp() + lifetime if issued else 0.0)
        self.uploads.record_upload(PLATFORM, media.sha256, progress)
        return progress

    def _continue_upload(self, media: Media, category: str, progress: UploadProgress) -> str:
        kind = _kind(category)
        media_id, chunk = progress.media_id, progress.chunk_bytes
        segments = -(-progress.total_bytes // chunk)
        if not progress.finalized:
            for index in range(progress.segments_sent, segments):
                piece = media.data[index * chunk:(index + 1) * chunk]
                with translated_errors(f"upload part {index + 1} of {segments} of a {kind}"):
                    self.client.request(
                        "POST", f"/2/media/upload/{media_id}/append",
                        json={"media": base64.b64encode(piece).decode("ascii"),
                              "segment_index": index}, user_auth=self.user_auth)
                progress = replace(progress, segments_sent=index + 1)
                self.uploads.record_upload(PLATFORM, media.sha256, progress)
            with translated_errors(f"finish uploading a {kind}"):
                body = self.client.request("POST", f"/2/media/upload/{media_id}/finalize",
                                           user_auth=self.user_auth).json()
            progress = replace(progress, finalized=True)
            self.uploads.record_upload(PLATFORM, media.sha256, progress)
        else:
            body = self._status(media_id, kind)
        self._await_processing(media, media_id, kind, body)
        return media_id

    def _status(self, media_id: str, kind: str) -> object:
        with translated_errors(f"ask X whether the {kind} is ready"):
            answer: object = self.client.request(
                "GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id},
                user_auth=self.user_auth).json()
            return answer

    def _await_processing(self, media: Media, media_id: str, kind: str, body: object) -> None:
        """Ask X for the upload's status every `check_after_secs` (on the daemon's clock)
        until it succeeded (return) or failed (Rejected); TemporaryFailure if X is still
        processing after `processing_wait_seconds`, or answers what Steward cannot read."""
        waited = 0.0
        while True:
            state, check_after = _processing(body, kind)
            if state == "succeeded":
                return
            if state == "failed":
                self.uploads.forget_upload(PLATFORM, media.sha256)  # the same bytes fail again
                raise Rejected(PLATFORM, f"X could not process the {kind} (its processing "
                               "failed): export it again as H.264 MP4 and hand it in again")
            if waited + check_after > self.processing_wait_seconds:
                raise TemporaryFailure(PLATFORM, f"X was still processing the {kind} after "
                                       f"{waited:.0f} seconds; Steward will look again")
            sleep = getattr(self.clock, "sleep", None)
            if not callable(sleep):
                with translated_errors(f"wait for X to process the {kind}"):
                    raise TypeError("the X connector needs a clock that can wait")
            sleep(check_after)
            waited += check_after
            body = self._status(media_id, kind)

    def delete(self, ref: PostRef) -> None:
        """Delete one of the account's posts (`DELETE /2/tweets/{id}`)."""
        with translated_errors("delete a post"):
            self.client.delete_tweet(ref.remote_id, user_auth=self.user_auth)

    # -- replies and moderation --------------------------------------------------------------

    # X's specification has no `author_id` among the post fields: the author comes with
    # `expansions=author_id` (the id on the post, the user in `includes.users`).
    _REPLY_FIELDS = ["created_at", "conversation_id"]

    def _replies(self, response_pages: list[tweepy.Response], source: str) -> list[Reply]:
        replies = []
        for response in response_pages:
            users = {str(user.id): user.username for user in
                     (response.includes or {}).get("users", [])}
            for tweet in response.data or []:
                # X leaves the author out (no `author_id`, no user in `includes`) for an
                # account it will not show, e.g. a suspended one: the author is then unknown,
                # "" as on Facebook, and moderation takes no action against "them".
                author = str(tweet.author_id) if tweet.author_id else ""
                if self._account is not None and author == self._account.account_id:
                    continue  # the school's own posts
                handle = str(users.get(author) or "")
                replies.append(Reply(
                    platform=PLATFORM, reply_id=str(tweet.id), author_id=author,
                    author_handle=handle, text=tweet.text,
                    in_reply_to=str(tweet.conversation_id or ""), created_at=tweet.created_at,
                    url=f"https://x.com/{handle or 'i'}/status/{tweet.id}",
                    raw={"source": source, **tweet.data}))
        return replies

    def _pages(self, call: Callable[..., tweepy.Response],
               token_parameter: str = "pagination_token",  # noqa: S107 - a parameter's name
               **arguments: object) -> list[tweepy.Response]:
        """Up to ten pages of a paginated call, following X's next_token (passed back as
        `token_parameter`: recent search's tweepy method calls it `next_token`)."""
        pages: list[tweepy.Response] = []
        token = None
        for _page in range(10):
            response = call(**{token_parameter: token}, **arguments) if token else \
                call(**arguments)
            pages.append(response)
            token = (response.meta or {}).get("next_token")
            if not token:
                break
        return pages

    def replies_in_conversation(self, conversation_id: str, since_id: str | None) -> list[Reply]:
        """Replies in one of the school's conversations since `since_id` (recent search)."""
        with translated_errors("read replies"):
            pages = self._pages(
                self.client.search_recent_tweets, "next_token",
                query=f"conversation_id:{conversation_id}",
                since_id=since_id, max_results=100, tweet_fields=self._REPLY_FIELDS,
                expansions=["author_id"], user_auth=self.user_auth)
            return self._replies(pages, "conversation")

    # X's recent search takes queries of up to 512 characters on self-serve plans
    SEARCH_QUERY_LENGTH = 512

    def replies_to_posts(self, post_ids: Sequence[str], cursor: str | None) -> ReplyPage:
        """Replies in all the conversations the school's posts `post_ids` started, newer than
        the post id `cursor`, with one recent search for as many conversations as a query
        holds (`conversation_id:A OR conversation_id:B ...`): a poll is one request, not one
        per post (recent search allows 300 per 15 minutes). The next cursor is the newest
        reply's id; X's ids grow with time, so one cursor serves every conversation."""
        queries: list[str] = []
        for post_id in post_ids:
            term = f"conversation_id:{post_id}"
            if queries and len(queries[-1]) + len(" OR ") + len(term) <= self.SEARCH_QUERY_LENGTH:
                queries[-1] += f" OR {term}"
            else:
                queries.append(term)
        replies: list[Reply] = []
        with translated_errors("read replies"):
            for query in queries:
                pages = self._pages(
                    self.client.search_recent_tweets, "next_token", query=query,
                    since_id=cursor, max_results=100, tweet_fields=self._REPLY_FIELDS,
                    expansions=["author_id"], user_auth=self.user_auth)
                replies += self._replies(pages, "conversation")
            return ReplyPage(tuple(replies), _newest_id(replies, cursor))

    def replies(self, post_id: str, cursor: str | None) -> ReplyPage:
        """Replies in the conversation the school's post `post_id` started, newer than the
        post id `cursor`; the next cursor is the newest reply's id."""
        replies = self.replies_in_conversation(post_id, cursor)
        with translated_errors("read replies"):
            return ReplyPage(tuple(replies), _newest_id(replies, cursor))

    def mentions(self, cursor: str | None) -> ReplyPage:
        """Posts mentioning the school newer than the post id `cursor` (the mentions
        timeline); the next cursor is the newest one's id."""
        account = self._account_or_check()
        with translated_errors("read mentions"):
            pages = self._pages(
                self.client.get_users_mentions, id=account.account_id, since_id=cursor,
                max_results=100, tweet_fields=self._REPLY_FIELDS, expansions=["author_id"],
                user_auth=self.user_auth)
            replies = self._replies(pages, "mentions")
            return ReplyPage(tuple(replies), _newest_id(replies, cursor))

    def hide(self, reply: Reply) -> None:
        """Hide a reply (only possible in conversations the school started)."""
        with translated_errors("hide a reply"):
            self.client.hide_reply(reply.reply_id, user_auth=self.user_auth)

    def unhide(self, reply_id: str) -> None:
        with translated_errors("unhide a reply"):
            self.client.unhide_reply(reply_id, user_auth=self.user_auth)

    def delete_reply(self, reply: Reply) -> None:
        """X offers no way to delete someone else's reply (`capabilities.delete_replies`)."""
        raise Unsupported(PLATFORM, self.capabilities.why_not["delete_replies"])

    def mute(self, user_id: str) -> None:
        with translated_errors("mute a user"):
            self.client.mute(user_id, user_auth=self.user_auth)

    def unmute(self, user_id: str) -> None:
        with translated_errors("unmute a user"):
            self.client.unmute(user_id, user_auth=self.user_auth)

    def dm_block(self, user_id: str) -> None:
        """Stop a user sending the school direct messages (`POST /2/users/{id}/dm/block`)."""
        with translated_errors("block direct messages from a user"):
            body = self.client.request("POST", f"/2/users/{user_id}/dm/block",
                                       user_auth=self.user_auth).json()
            if not body["data"]["blocked"]:  # X's confirmation
                raise Rejected(PLATFORM, "X did not confirm the direct-message block")

    def block(self, user_id: str) -> None:
        """Block a user (X's Enterprise plan only)."""
        account = self._account_or_check()
        with translated_errors("block a user"):
            self.client.request("POST", f"/2/users/{account.account_id}/blocking",
                                json={"target_user_id": user_id}, user_auth=self.user_auth)

    def invalidate_token(self) -> None:
        """Revoke the tokens Steward uses: after a handover the old administrator's
        authorisation must stop working. OAuth 1.0a: `POST /1.1/oauth/invalidate_token`;
        OAuth 2.0: `POST /2/oauth2/revoke` for the access and the refresh token."""
        if self.user_auth:
            with translated_errors("revoke the access token"):
                self.client.request("POST", "/1.1/oauth/invalidate_token", user_auth=True)
            return
        for kind in ("access_token", "refresh_token"):
            token = self.oauth2[kind]
            if token:
                self._oauth2_call("/2/oauth2/revoke", {"token": token, "token_type_hint": kind},
                                  "revoke the OAuth 2.0 tokens")

    def _oauth2_call(self, route: str, data: dict[str, str], action: str) -> requests.Response:
        """A form POST to X's OAuth 2.0 endpoints, authenticated as the client; its answer."""
        form = data | {"client_id": self.oauth2["client_id"]}
        secret = self.oauth2["client_secret"]
        auth = (self.oauth2["client_id"], secret) if secret else None
        with translated_errors(action):
            response: requests.Response = self.client.session.post(TWEEPY_HOST + route, data=form,
                                                                   auth=auth)
            if response.status_code == 401 or response.status_code == 400:
                raise AuthenticationFailed(
                    PLATFORM, f"X refused the OAuth 2.0 request to {action} "
                    f"({response.status_code}); an administrator must re-authorise Steward",
                    status=response.status_code)
            if response.status_code >= 500:
                raise TemporaryFailure(PLATFORM, f"X had a server error ({response.status_code})"
                                       f" while trying to {action}", status=response.status_code)
            if not 200 <= response.status_code < 300:
                raise Rejected(PLATFORM, f"X refused to {action} ({response.status_code})",
                               status=response.status_code)
            return response

    def refresh(self) -> float:
        """Exchange the refresh token for new tokens; return when the access token expires.

        X invalidates a refresh token once used, so the new pair is saved (through
        `save_tokens`, atomically, in the vault) before the client starts using it: a crash
        after this call can never leave Steward holding only a spent token.
        """
        if self.user_auth or not self.oauth2["refresh_token"]:
            raise Rejected(PLATFORM, "this account uses OAuth 1.0a tokens, which do not expire")
        action = "refresh the OAuth 2.0 token"
        response = self._oauth2_call("/2/oauth2/token", {
            "grant_type": "refresh_token", "refresh_token": self.oauth2["refresh_token"]},
            action)
        with translated_errors(action):
            body = response.json()
            access, refresh = str(body["access_token"]), str(body["refresh_token"])
            issued = answered_at(response) or (self.clock.now() if self.clock else None)
            # Without X's date or a clock the expiry cannot be placed: 0 says "unknown", and
            # the hourly refresh renews the token long before its two hours are up anyway.
            expires_at = issued.timestamp() + float(body.get("expires_in", 7200)) if issued \
                else 0.0
        if self.save_tokens is not None:
            self.save_tokens(access, refresh, expires_at)
        self.oauth2.update(access_token=access, refresh_token=refresh)
        self.client.bearer_token = access
        return expires_at

    def dm_unblock(self, user_id: str) -> None:
        with translated_errors("unblock direct messages from a user"):
            self.client.request("POST", f"/2/users/{user_id}/dm/unblock", user_auth=self.user_auth)

    # -- followers, following, settings, direct messages -------------------------------------

    def followers_page(self, pagination_token: str | None,
                       max_results: int = 1000) -> FollowerPage:
        """One page (up to `max_results`, at most 1,000) of the account's followers, newest
        first, and the next page's token. X charges per follower returned: an incremental scan
        asks for small pages."""
        account = self._account_or_check()
        params: dict[str, Any] = {"max_results": max(1, min(1000, max_results))}
        if pagination_token:
            params["pagination_token"] = pagination_token
        with translated_errors("list followers"):
            # Plain JSON through the client's own request: building 100,000 tweepy objects
            # costs more CPU than the rest of the reconciliation.
            body = self.client.request("GET", f"/2/users/{account.account_id}/followers",
                                       params=params, user_auth=self.user_auth).json()
            users = tuple(PlatformUser(str(user["id"]), str(user["username"]), str(user["name"]))
                          for user in body.get("data", []))
            return FollowerPage(users, body.get("meta", {}).get("next_token"))

    def following(self) -> list[PlatformUser]:
        """Every account the school follows."""
        account = self._account_or_check()
        users: list[PlatformUser] = []
        token = None
        with translated_errors("list the accounts the school follows"):
            for _page in range(20):
                response = self.client.get_users_following(
                    account.account_id, max_results=1000, pagination_token=token,
                    user_auth=self.user_auth)
                users += [PlatformUser(str(user.id), str(user.username), str(user.name))
                          for user in response.data or []]
                token = (response.meta or {}).get("next_token")
                if not token:
                    break
        return users

    def unfollow(self, user_id: str) -> None:
        with translated_errors("unfollow an account"):
            self.client.unfollow_user(user_id, user_auth=self.user_auth)

    def read_settings(self) -> AccountSettings:
        """What X tells of the account's privacy settings: only `protected`, a field of the
        user (`GET /2/users/me?user.fields=protected`). X has no settings endpoint on any
        plan (`/2/users/me/settings` does not exist, and direct-message settings have not
        been writable by API since 2015): the rest is a checklist for a person."""
        with translated_errors("read the account's settings"):
            response = self.client.get_me(user_fields=["protected"], user_auth=self.user_auth)
            protected = response.data.protected
            if not isinstance(protected, bool):  # a ConnectorBug: Steward does not guess
                raise TypeError(f"'protected' is a {type(protected).__name__}, not a bool")
            return AccountSettings(protected=protected)

    _DM_PAGES = 12  # over 500 events: far more than a school's account receives between runs

    def direct_messages(self, since_id: str | None) -> list[DirectMessage]:
        """Direct messages others sent the school after the event `since_id` (X keeps 30
        days), newest first.

        `GET /2/dm_events` has no `since_id` (X refuses one with a 400): it pages back from
        the newest event with `pagination_token`, so the reading stops at the first page that
        reaches `since_id`, the last event already seen. The sender is asked for with
        `expansions=sender_id`, the form X's specification allows (`sender_id` is not one of
        its `dm_event.fields`); an event whose sender X does not give has sender "" (unknown).
        """
        account = self._account_or_check()
        # X charges $0.01 per event returned, old ones included: after a first reading, pages
        # of 1, 1, 2, 4, ... events, so a poll with nothing new reads one event, not 100.
        size = 100 if since_id is None else 1
        params: dict[str, Any] = {
            "dm_event.fields": "id,text,created_at,dm_conversation_id,event_type",
            "event_types": "MessageCreate", "expansions": "sender_id", "max_results": size}
        seen = int(since_id) if since_id else None
        messages: list[DirectMessage] = []
        with translated_errors("read direct messages"):
            for _page in range(self._DM_PAGES):
                body = self.client.request("GET", "/2/dm_events", params=params,
                                           user_auth=self.user_auth).json()
                events = body.get("data", [])
                for event in events:
                    if seen is not None and int(event["id"]) <= seen:
                        continue
                    sender = str(event.get("sender_id") or "")
                    if event.get("event_type") != "MessageCreate" or \
                            sender == account.account_id:
                        continue  # the school's own messages, and joins and leaves
                    messages.append(DirectMessage(
                        platform=PLATFORM, message_id=str(event["id"]), sender_id=sender,
                        text=str(event.get("text", "")),
                        created_at=datetime.fromisoformat(event["created_at"])
                        if event.get("created_at") else None, raw=event))
                token = body.get("meta", {}).get("next_token")
                reached_seen = seen is not None and any(int(event["id"]) <= seen
                                                        for event in events)
                if not token or reached_seen:
                    break
                params["pagination_token"] = token
                if since_id is not None and _page:
                    params["max_results"] = min(100, int(params["max_results"]) * 2)
        return messages

    def profile(self, handle: str) -> Profile | None:
        """The public profile of @`handle` with its bio (`GET /2/users/by/username/{username}`,
        `user.fields=description`); None if X has no such account, or none it shows (X
        answers 200 with only `errors` for a username it does not know, and 404 for one
        suspended or deleted). A handle X could not hold is refused before asking."""
        username = handle.strip().removeprefix("@")
        if not USERNAME.fullmatch(username):
            raise Rejected(PLATFORM, f"{handle!r} is not an X handle (letters, digits and _, "
                           "at most 15)")
        with translated_errors(f"look up @{username}"):
            try:
                body = self.client.request(
                    "GET", f"/2/users/by/username/{username}",
                    params={"user.fields": "description"}, user_auth=self.user_auth).json()
            except tweepy.NotFound:
                return None
            user = body.get("data")
            if not isinstance(user, dict):
                return None
            return Profile(str(user["id"]), str(user["username"]), str(user["name"]),
                           str(user.get("description") or ""))

    def conversations(self) -> list[Conversation]:
        """X has no conversation list to watch: its messages are read one by one
        (`direct_messages`)."""
        raise Unsupported(PLATFORM, self.capabilities.why_not["read_conversations"])

    def unblock(self, user_id: str) -> None:
        account = self._account_or_check()
        with translated_errors("unblock a user"):
            self.client.request("DELETE", f"/2/users/{account.account_id}/blocking/{user_id}",
                                user_auth=self.user_auth)


def _kind(category: str) -> str:
    return "video" if category == "tweet_video" else "animated GIF"


def _chunked_category(media: Media) -> str | None:
    """`tweet_video` for a video, `tweet_gif` for an animated GIF, None for what goes in one
    request (a photo, a GIF of one picture)."""
    if media.mime_type in VIDEO_TYPES:
        return "tweet_video"
    if media.mime_type == "image/gif" and gif_frames(media.data) > 1:
        return "tweet_gif"
    return None


def gif_frames(data: bytes, enough: int = 2) -> int:
    """How many pictures a GIF holds, counted up to `enough` by walking its blocks without
    decoding (0 for what is not a well-formed GIF, which X then judges as an image)."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return 0
    at = 13 + (3 * 2 ** ((data[10] & 0x07) + 1) if data[10] & 0x80 else 0)
    frames = 0
    while at < len(data) and frames < enough:
        introducer = data[at]
        if introducer == 0x3B:
            break
        if introducer == 0x2C:
            if at + 10 > len(data):
                break
            flags = data[at + 9]
            at += 10 + (3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0) + 1
            frames += 1
        elif introducer == 0x21:
            at += 2
        else:
            break
        while at < len(data) and data[at]:  # sub-blocks, up to the empty one
            at += data[at] + 1
        at += 1
    return frames


def _processing(body: object, kind: str) -> tuple[str, float]:
    """The state and `check_after_secs` of X's answer to finalize or STATUS, read warily: an
    answer without `processing_info` is a media ready to use; anything Steward cannot read is
    a TemporaryFailure saying so, never a traceback."""
    unreadable = TemporaryFailure(PLATFORM, f"X answered the {kind}'s upload status with "
                                  "something Steward cannot read; Steward will ask again")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise unreadable
    info = data.get("processing_info")
    if info is None:
        return "succeeded", 0.0
    if not isinstance(info, dict):
        raise unreadable
    state = info.get("state")
    if state not in PROCESSING_STATES:
        raise unreadable
    check_after = info.get("check_after_secs", 1)
    if state in ("pending", "in_progress") and (
            isinstance(check_after, bool) or not isinstance(check_after, int | float)
            or not 0 <= check_after <= 3600):
        raise unreadable
    return str(state), max(1.0, float(check_after)) if isinstance(check_after, int | float) \
        else 1.0


def _newest_id(replies: list[Reply], cursor: str | None) -> str | None:
    """The cursor after `replies`: the largest post id seen (X's ids grow with time)."""
    newest = max((int(reply.reply_id) for reply in replies), default=None)
    return str(max(newest, int(cursor or 0))) if newest else cursor


__all__ = ["XConnector", "ConnectorError", "translated_errors"]
