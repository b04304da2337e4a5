"""The Facebook Page connector, through facebook-sdk's `GraphAPI`.

How it calls the Graph API, and why:
- facebook-sdk 3.1.0 (2018) rejects every current Graph API version in its constructor, so the
  client is built without `version` and `graph.version` is set afterwards.
- A text post is `POST /{page-id}/feed`; photos are uploaded unpublished to `/{page-id}/photos`
  and attached to one feed post with `attached_media`, so several photos make one post.
- No `place`, `coordinates` or `tags` parameter is ever sent.
- The SDK drops response headers and status codes: a session response hook keeps the last ones,
  so the usage headers (`X-App-Usage`, `X-Business-Use-Case-Usage`) feed rate limiting and errors
  can be told apart.
- The SDK puts the access token in the query string of every GET and DELETE, where a school's
  TLS-inspecting proxy logs it. `_SignedGraph` wraps its `request`: the SDK is given no token,
  and the token travels in the `Authorization` header instead; and, when the app secret is
  configured, every call carries `appsecret_proof` (HMAC-SHA256 of the token with the app
  secret), without which an app with Meta's "Require App Secret" on (Meta recommends it) refuses
  every call. facebook-sdk 3.1.0's constructor takes no app secret, hence the wrapper.
- `debug_token` (when the Page token expires) is asked with the app token (`app_id|app_secret`),
  as Meta requires, not with the Page token. The Page token it inspects goes as `input_token`,
  the one place Meta documents for it.
- Only the Graph API's errors and the network become `TemporaryFailure`; an exception of
  Steward's own code (a KeyError on an answer of a shape it does not know) is a `ConnectorBug`
  (`connectors.bugs`), so everything that reads an answer happens inside `_translated_errors`.
- What a Page cannot do by API (mute, block messages, list followers, read settings, find
  mentions) raises `Unsupported`; `capabilities` says so first, with why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import facebook
import requests

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
from connectors.transport import GRAPH_API_HOST, platform_session

PLATFORM = "facebook"
MAX_IMAGES = 10
MAX_TEXT_LENGTH = 63206
# https://developers.facebook.com/docs/graph-api/guides/error-handling
_AUTH_CODES = {102, 190, 463, 467, 10, 200, 299}
_THROTTLE_CODES = {4, 17, 32, 341, 368, 613, 80001, 80002, 80004, 80005, 80006}
_TRANSIENT_CODES = {1, 2}
_NO_CAPABILITY = 3  # the app may never make this call
_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}
_USAGE_HEADERS = ("x-app-usage", "x-business-use-case-usage", "x-page-usage")


class _ResponseLog(threading.local):
    """The status and usage headers of the last response on this thread."""

    status: int | None = None
    usage: dict[str, Any] = {}


def _regain_seconds(usage: dict[str, Any]) -> float | None:
    """Read `estimated_time_to_regain_access` (minutes) out of the usage headers, if any."""
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for value in usage.values()
        for entries in (value.values() if isinstance(value, dict) else [])
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    ]
    known = [float(minute) for minute in minutes if minute]
    return max(known) * 60 if known else None


class _CallToken(threading.local):
    """The token the call under way on this thread is made with."""

    token: str | None = None


class _HeaderToken(requests.auth.AuthBase):
    """Put the token of the call under way in the `Authorization` header (Meta takes
    `OAuth <token>` there), so that it is never in a URL."""

    def __init__(self, call: _CallToken) -> None:
        self.call = call

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.call.token:
            request.headers["Authorization"] = f"OAuth {self.call.token}"
        return request


class _SignedGraph(facebook.GraphAPI):  # type: ignore[misc]  # facebook-sdk ships no types
    """facebook-sdk's client with its `request` wrapped: the token in the `Authorization`
    header, never in the query string, and `appsecret_proof` on every call when the app secret
    is known."""

    def __init__(self, *, token: str, app_secret: str | None, timeout: float) -> None:
        super().__init__(access_token=None, timeout=timeout)  # the SDK never adds a token
        self.token = token
        self.app_secret = app_secret
        self.call = _CallToken()

    def proof(self, token: str) -> str:
        """Meta's appsecret_proof: HMAC-SHA256 of the access token, keyed with the app secret."""
        assert self.app_secret is not None
        return hmac.new(self.app_secret.encode("utf-8"), token.encode("utf-8"),
                        hashlib.sha256).hexdigest()

    def request(self, path: str, args: dict[str, Any] | None = None,
                post_args: dict[str, Any] | None = None, files: Any = None,
                method: str | None = None, *, token: str | None = None) -> Any:
        """The SDK's request, with `token` (by default the Page token) in the header and its
        proof in the body of a POST or else the query (a proof is no credential by itself)."""
        use = token or self.token
        args = {key: value for key, value in (args or {}).items() if key != "access_token"}
        if post_args is not None:
            post_args = {key: value for key, value in post_args.items()
                         if key != "access_token"}
        if self.app_secret:
            (post_args if post_args is not None else args)["appsecret_proof"] = self.proof(use)
        self.call.token = use
        try:
            return super().request(path, args=args, post_args=post_args, files=files,
                                   method=method)
        finally:
            self.call.token = None

    def put_object(self, parent_object: str, connection_name: str, **data: Any) -> Any:
        """The SDK's `put_object`, without its check that it holds a token (it holds none:
        the token goes in the header)."""
        return self.request(f"{self.version}/{parent_object}/{connection_name}",
                            post_args=data, method="POST")


class FacebookPageConnector:
    """One Facebook Page, through a Page access token."""

    platform = PLATFORM
    brand = "Facebook"  # the platform's name in messages
    capabilities = Capabilities(
        max_images_per_post=MAX_IMAGES,
        max_text_length=MAX_TEXT_LENGTH,
        max_image_bytes=10 * 1024 * 1024,  # Graph API photo uploads: 10 MB
        hide_replies=True,
        delete_replies=True,
        block_users=True,
        read_conversations=True,
        read_replies=True,
        block_scope="from the Page",
        why_not={
            "read_mentions": "Facebook offers no search for posts that name a Page",
            "read_replies_together": "Facebook's comments are read post by post",
            "mute_users": "a Page cannot mute anyone on Facebook",
            "block_direct_messages": "Facebook cannot block someone's messages to a Page by "
                                     "API (blocking them from the Page stops their messages)",
            "list_followers": "Facebook gives no list of a Page's followers by API",
            "remove_followers": "Facebook cannot remove a Page's follower by API",
            "list_following": "Facebook gives no list of the Pages a Page follows by API",
            "unfollow": "Facebook cannot make a Page unfollow anyone by API",
            "read_settings": "Facebook offers no API for a Page's messaging setting",
            "read_direct_messages": "Facebook shows only that a conversation exists, not its "
                                    "messages, without Messenger permissions",
            "look_up_profiles": "Facebook shows a Page nobody's profile by API",
        },
    )

    def __init__(
        self,
        *,
        page_id: str,
        page_access_token: str,
        graph_version: str = "v25.0",
        timeout: float = 20.0,
        sandbox_url: str | None = None,
        api_url: str | None = None,
        app_id: str | None = None,
        app_secret: str | None = None,
    ) -> None:
        self.page_id = page_id
        self.app_id = app_id
        self.graph = _SignedGraph(token=page_access_token, app_secret=app_secret,
                                  timeout=timeout)
        self.graph.version = graph_version  # after construction: see the module docstring
        self.graph.session = platform_session(GRAPH_API_HOST, timeout, sandbox_url, api_url)
        self.graph.session.auth = _HeaderToken(self.graph.call)
        self.last_response = _ResponseLog()
        self.graph.session.hooks["response"].append(self._remember_response)
        self._account: Account | None = None

    def _remember_response(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.last_response.status = response.status_code
        usage: dict[str, Any] = {}
        for header in _USAGE_HEADERS:
            if header in response.headers:
                try:
                    usage[header] = json.loads(response.headers[header])
                except ValueError:
                    continue
        self.last_response.usage = usage

    @property
    def usage(self) -> dict[str, Any]:
        """The usage headers of the last response, parsed (empty when the platform sent none)."""
        return dict(self.last_response.usage)

    @contextmanager
    def _translated_errors(self, action: str, *, ambiguous: bool = False) -> Iterator[None]:
        """Turn facebook-sdk and requests errors inside the block into the project's errors."""
        self.last_response.status = None
        try:
            yield
        except facebook.GraphAPIError as error:
            raise self._translate_graph_error(error, action, ambiguous) from None
        except requests.Timeout:
            raise TemporaryFailure(
                self.platform, f"{self.brand} did not answer in time while trying to {action}",
                ambiguous=ambiguous,
            ) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError):
            raise TemporaryFailure(
                self.platform, f"could not reach {self.brand} (connection failed) while trying to {action}",
                ambiguous=ambiguous,
            ) from None
        except json.JSONDecodeError:  # not JSON at all: a proxy's error page, a cut-off body
            raise TemporaryFailure(
                self.platform,
                f"{self.brand} sent a response Steward could not read while trying to {action}",
                ambiguous=ambiguous, status=self.last_response.status,
            ) from None
        except BUG_CLASSES as error:  # JSON of a shape Steward does not know, or a plain bug
            raise connector_bug(self.platform, action, error, ambiguous=ambiguous) from error

    def _translate_graph_error(self, error: facebook.GraphAPIError, action: str,
                               ambiguous: bool) -> ConnectorError:
        status = self.last_response.status
        result = error.result if isinstance(error.result, dict) else {}
        details = result.get("error", {}) if isinstance(result.get("error"), dict) else {}
        code = details.get("code")
        kind = details.get("type", "")
        if status is not None and status >= 500 or code in _TRANSIENT_CODES:
            return TemporaryFailure(
                self.platform, f"{self.brand} had a server error ({status}, code {code}) while trying to "
                f"{action}", ambiguous=ambiguous, status=status,
            )
        if status is None and not details:
            # facebook-sdk raises GraphAPIError("Maintype was not text, image, or querystring")
            # for a body it cannot read, such as an HTML error page from a proxy.
            return TemporaryFailure(
                self.platform, f"{self.brand} sent a response Steward could not read while trying to "
                f"{action}", ambiguous=ambiguous,
            )
        if code == _NO_CAPABILITY:
            # "(#3) Application does not have the capability to make this API call": the API
            # will never let this app do it (e.g. delete a post it did not make), so a person
            # must, on facebook.com; asking again would only be refused again.
            return Unsupported(
                self.platform, f"{self.brand} does not let this app {action} (code 3, the app lacks the "
                "capability): a person must do it on facebook.com", status=status)
        if code in _THROTTLE_CODES or status == 429:
            return RateLimited(
                self.platform, f"{self.brand} rate limit reached (code {code}) while trying to {action}",
                retry_after=_regain_seconds(self.last_response.usage), status=status,
            )
        if "appsecret_proof" in str(details.get("message", "")):
            return AuthenticationFailed(
                self.platform, f"{self.brand} refused the call to {action}: the Meta app requires the "
                "app secret ('Require App Secret') and Steward's is missing or wrong; run "
                "`steward credentials set facebook.app_secret`", status=status)
        if code in _AUTH_CODES or kind == "OAuthException" and status in (401, 403) or status == 401:
            return AuthenticationFailed(
                self.platform, f"{self.brand} refused the Page token or a permission (code {code}) while "
                f"trying to {action}; an administrator must renew it", status=status,
            )
        if status == 404 or code == 803 or (code == 100 and details.get("error_subcode") == 33):
            return Rejected(self.platform, f"{self.brand} found nothing to {action} (404)", status=404)
        return Rejected(
            self.platform, f"{self.brand} refused to {action} (status {status}, code {code})", status=status
        )

    # -- reading -----------------------------------------------------------------------------

    def check(self) -> Account:
        """Return the Page these credentials act for (`GET /{page-id}?fields=id,name,username`)."""
        with self._translated_errors("read the Page"):
            page = self.graph.get_object(self.page_id, fields="id,name,username")
            account = Account(
                platform=PLATFORM,
                account_id=str(page["id"]),
                handle=str(page.get("username") or page["id"]),
                name=str(page.get("name", "")),
            )
        self._account = account
        return account

    def get_post(self, remote_id: str) -> PublishedPost | None:
        """Read one post back; None if Facebook says it does not exist."""
        try:
            with self._translated_errors("read a post"):
                data = self.graph.get_object(
                    remote_id, fields="id,message,created_time,attachments{subattachments,type}"
                )
                return self._published(data)
        except Rejected as error:
            if error.status == 404:
                return None
            raise

    def recent_posts(self, since: datetime) -> list[PublishedPost]:
        """Return the Page's own posts created since `since` (`GET /{page-id}/published_posts`)."""
        posts: list[PublishedPost] = []
        with self._translated_errors("list recent posts"):
            arguments: dict[str, Any] = {
                "fields": "id,message,created_time,attachments{subattachments,type}",
                "since": int(since.timestamp()),
                "limit": 100,
            }
            for _page in range(10):
                page = self.graph.get_connections(self.page_id, "published_posts", **arguments)
                posts.extend(self._published(item) for item in page.get("data", []))
                after = page.get("paging", {}).get("cursors", {}).get("after")
                if not after or not page.get("paging", {}).get("next"):
                    break
                arguments["after"] = after
        return posts

    def _published(self, data: dict[str, Any]) -> PublishedPost:
        attachments = data.get("attachments", {}).get("data", [])
        media_count = 0
        for attachment in attachments:
            children = attachment.get("subattachments", {}).get("data", [])
            media_count += len(children) if children else 1
        created = data.get("created_time")
        return PublishedPost(
            ref=self._ref(str(data["id"])),
            text=data.get("message", ""),
            media_count=media_count,
            created_at=_parse_graph_time(created) if created else None,
        )

    def _ref(self, remote_id: str) -> PostRef:
        return PostRef(PLATFORM, remote_id, f"https://www.facebook.com/{remote_id}")

    # -- writing -----------------------------------------------------------------------------

    def upload_photo(self, media: Media) -> str:
        """Upload one photo (the bytes Steward checked) unpublished to the Page; return its id
        for `attached_media`."""
        with self._translated_errors("upload a photo"):
            result = self.graph.request(
                f"{self.graph.version}/{self.page_id}/photos",
                post_args={"published": "false", "alt_text_custom": media.alt_text},
                # A neutral name: the file's own name may say who or where the picture is.
                files={"source": (f"photo{_SUFFIXES.get(media.mime_type, '')}", media.data)},
                method="POST",
            )
            return str(result["id"])

    def publish(self, post: Post) -> PostRef:
        """Upload the photos unpublished, then create one feed post that carries them all."""
        if len(post.media) > MAX_IMAGES:
            raise Rejected(PLATFORM, f"a Facebook post carries at most {MAX_IMAGES} photos")
        photo_ids = [self.upload_photo(media) for media in post.media]
        arguments: dict[str, str] = {"message": post.text}
        for index, photo_id in enumerate(photo_ids):
            arguments[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        with self._translated_errors("create the post", ambiguous=True):
            result = self.graph.put_object(self.page_id, "feed", **arguments)
            remote_id = str(result["id"])
        return self._ref(remote_id)

    def delete(self, ref: PostRef) -> None:
        """Delete one of the Page's posts (`DELETE /{post-id}`)."""
        with self._translated_errors("delete a post"):
            self.graph.delete_object(ref.remote_id)

    # -- comments and moderation -------------------------------------------------------------

    def comments_on(self, post_id: str, after: str | None) -> tuple[list[Reply], str | None]:
        """Comments and replies to comments on a Page post, oldest first, after the cursor
        `after`; return them and the cursor to continue from next time."""
        replies: list[Reply] = []
        arguments: dict[str, Any] = {
            "fields": "id,message,created_time,from,permalink_url,parent{id}",
            "filter": "stream", "order": "chronological", "limit": 100}
        if after:
            arguments["after"] = after
        cursor = after
        with self._translated_errors("read comments"):
            for _page in range(20):
                page = self.graph.get_connections(post_id, "comments", **arguments)
                for item in page.get("data", []):
                    author = item.get("from") or {}
                    if str(author.get("id", "")) == self.page_id:
                        continue  # the Page's own answers
                    replies.append(Reply(
                        platform=PLATFORM, reply_id=str(item["id"]),
                        author_id=str(author.get("id", "")),
                        author_handle=str(author.get("name", "")), text=item.get("message", ""),
                        in_reply_to=post_id,
                        created_at=_parse_graph_time(item["created_time"])
                        if item.get("created_time") else None,
                        url=item.get("permalink_url", ""), raw=item))
                cursor = page.get("paging", {}).get("cursors", {}).get("after", cursor)
                if not page.get("paging", {}).get("next"):
                    break
                arguments["after"] = cursor
        return replies, cursor

    def replies(self, post_id: str, cursor: str | None) -> ReplyPage:
        """Comments on the Page's post `post_id` after the cursor (`comments_on`)."""
        replies, after = self.comments_on(post_id, cursor)
        return ReplyPage(tuple(replies), after)

    def mentions(self, cursor: str | None) -> ReplyPage:
        raise Unsupported(PLATFORM, self.capabilities.why_not["read_mentions"])

    def replies_to_posts(self, post_ids: Sequence[str], cursor: str | None) -> ReplyPage:
        """A Page's comments are read post by post, each with its own cursor (`replies`)."""
        raise Unsupported(PLATFORM, self.capabilities.why_not["read_replies_together"])

    def hide(self, reply: Reply) -> None:
        with self._translated_errors("hide a comment"):
            self.graph.request(f"{self.graph.version}/{reply.reply_id}",
                               post_args={"is_hidden": "true"}, method="POST")

    def unhide(self, reply_id: str) -> None:
        with self._translated_errors("unhide a comment"):
            self.graph.request(f"{self.graph.version}/{reply_id}",
                               post_args={"is_hidden": "false"}, method="POST")

    def delete_reply(self, reply: Reply) -> None:
        with self._translated_errors("delete a comment"):
            self.graph.delete_object(reply.reply_id)

    def token_expiry(self) -> datetime | None:
        """When the Page token expires (`GET /debug_token`, asked with the app token, as Meta
        requires); None if it does not. Without the app's id and secret Meta will not say:
        `Rejected`, in plain words."""
        if not (self.app_id and self.graph.app_secret):
            raise Rejected(PLATFORM, "Steward cannot check when the Page token expires without "
                           "the Meta app's id and secret (facebook.app_id, and "
                           "`steward credentials set facebook.app_secret`)")
        app_token = f"{self.app_id}|{self.graph.app_secret}"
        with self._translated_errors("check the Page token"):
            data = self.graph.request(f"{self.graph.version}/debug_token",
                                      args={"input_token": self.graph.token},
                                      token=app_token)["data"]
            valid = bool(data.get("is_valid", False))
            expires = int(data.get("expires_at") or 0)
        if not valid:
            raise AuthenticationFailed(PLATFORM, "the Page token is no longer valid; an "
                                       "administrator must issue a new one")
        return datetime.fromtimestamp(expires, UTC) if expires else None

    def conversations(self) -> list[Conversation]:
        """The Page's message threads, newest first (needs pages_messaging; may be refused)."""
        with self._translated_errors("read the Page's conversations"):
            page = self.graph.get_connections(self.page_id, "conversations",
                                              fields="id,updated_time,message_count")
            return [Conversation(str(item["id"]), item.get("updated_time"),
                                 item.get("message_count")) for item in page.get("data", [])]

    def block(self, user_id: str) -> None:
        """Block a person from the Page (`POST /{page-id}/blocked`)."""
        with self._translated_errors("block a user from the Page"):
            self.graph.request(f"{self.graph.version}/{self.page_id}/blocked",
                               post_args={"user": user_id}, method="POST")

    def unblock(self, user_id: str) -> None:
        with self._translated_errors("unblock a user from the Page"):
            self.graph.request(f"{self.graph.version}/{self.page_id}/blocked",
                               args={"user": user_id}, method="DELETE")

    # -- what a Page cannot do by API (capabilities say so first) ----------------------------

    def _unsupported(self, capability: str) -> Unsupported:
        return Unsupported(PLATFORM, self.capabilities.why_not[capability])

    def mute(self, user_id: str) -> None:
        raise self._unsupported("mute_users")

    def unmute(self, user_id: str) -> None:
        raise self._unsupported("mute_users")

    def dm_block(self, user_id: str) -> None:
        raise self._unsupported("block_direct_messages")

    def followers_page(self, pagination_token: str | None,
                       max_results: int = 1000) -> FollowerPage:
        raise self._unsupported("list_followers")

    def following(self) -> list[PlatformUser]:
        raise self._unsupported("list_following")

    def unfollow(self, user_id: str) -> None:
        raise self._unsupported("unfollow")

    def read_settings(self) -> AccountSettings:
        raise self._unsupported("read_settings")

    def direct_messages(self, since_id: str | None) -> list[DirectMessage]:
        raise self._unsupported("read_direct_messages")

    def profile(self, handle: str) -> Profile | None:
        raise self._unsupported("look_up_profiles")


def _parse_graph_time(value: str) -> datetime:
    """Parse the Graph API's `2019-08-28T08:00:00+0000` timestamps."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
