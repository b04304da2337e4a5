"""The X API v2 subset the sandbox speaks, with the JSON shapes of X's recorded responses.

Covered: the authenticated user, posts (create, read, delete, a user's timeline, mentions, recent
search by conversation), v2 media upload and alt text, hidden replies, followers and following
(paginated), mutes, per-user DM blocks and DM events (read). No account settings: X has no API
for them.

As strict as X: OAuth 1.0a signatures are verified with the configured secrets and OAuth 2.0
tokens compared (401); every request is checked against X's OpenAPI specification
(`sandbox.x_spec`: 400 with X's "Invalid Request" body); pagination tokens are opaque; the
per-endpoint rate limits are X's published per-user 15-minute windows, with the
`x-rate-limit-*` headers on every answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from sandbox import x_spec
from sandbox.server import Reply, Route, SandboxRequest, route
from sandbox.state import SandboxState
from sandbox.x_uploads import ChunkedUploads

WINDOW_SECONDS = 15 * 60
# Per user per 15 minutes, as docs.x.com's rate-limit table gives them (late 2026), by operation.
RATE_LIMITS = {
    "GET /2/users/me": 75,
    "POST /2/tweets": 100,
    "GET /2/tweets/{id}": 900,
    "DELETE /2/tweets/{id}": 50,
    "PUT /2/tweets/{tweet_id}/hidden": 50,
    "GET /2/tweets/search/recent": 300,
    "GET /2/users/{id}/tweets": 900,
    "GET /2/users/{id}/mentions": 300,
    "GET /2/users/{id}/followers": 15,
    "GET /2/users/{id}/following": 15,
    "POST /2/users/{id}/muting": 50,
    "DELETE /2/users/{source_user_id}/muting/{target_user_id}": 50,
    "DELETE /2/users/{source_user_id}/following/{target_user_id}": 50,
    "POST /2/users/{id}/blocking": 50,
    "DELETE /2/users/{source_user_id}/blocking/{target_user_id}": 50,
    "GET /2/dm_events": 300,
    "POST /2/users/{id}/dm/block": 10,
    "POST /2/users/{id}/dm/unblock": 10,
    "POST /2/media/upload": 500,
    "POST /2/media/metadata": 500,
}
DEFAULT_RATE_LIMIT = 900
PAGE_SIZE_MAX = {"followers": 1000, "following": 1000, "tweets": 100}
_TOKEN_KEY = b"sandbox pagination tokens"
OAUTH_TIMESTAMP_SKEW = 15 * 60  # seconds an OAuth 1.0a timestamp may be off the server's clock
NONCES_KEPT = 2000  # the nonces remembered, to refuse a signed request sent twice


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Reply:
    return Reply(status, {"title": title, "detail": detail, "type": kind, "status": status})


def _invalid(detail: str) -> Reply:
    return Reply(400, {"errors": [{"message": detail}], "title": "Invalid Request",
                       "detail": "One or more parameters to your request was invalid.",
                       "type": "https://api.twitter.com/2/problems/invalid-request"})


def _not_found(kind: str, value: str) -> dict[str, Any]:
    return {"value": value, "detail": f"Could not find {kind} with id: [{value}].",
            "title": "Not Found Error", "resource_type": kind, "parameter": "id",
            "resource_id": value, "type": "https://api.twitter.com/2/problems/resource-not-found"}


class XApi:
    """Route handlers over the `x` part of the sandbox world."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._nonces: deque[str] = deque(maxlen=NONCES_KEPT)
        self._nonce_lock = threading.Lock()
        self.uploads = ChunkedUploads(state)

    def routes(self) -> list[Route]:
        g = self.guarded
        return [
            route("GET", r"/2/users/me", g(self.me, "GET /2/users/me")),
            route("GET", r"/2/users/by/username/(?P<username>[^/]+)",
                  g(self.user_by_username, "GET /2/users/by/username/{username}")),
            route("POST", r"/2/tweets", g(self.create_tweet, "POST /2/tweets")),
            route("GET", r"/2/tweets/(?P<id>[^/]+)", g(self.get_tweet, "GET /2/tweets/{id}")),
            route("DELETE", r"/2/tweets/(?P<id>[^/]+)",
                  g(self.delete_tweet, "DELETE /2/tweets/{id}")),
            route("PUT", r"/2/tweets/(?P<id>[^/]+)/hidden",
                  g(self.hide_reply, "PUT /2/tweets/{tweet_id}/hidden")),
            route("GET", r"/2/tweets/search/recent",
                  g(self.search_recent, "GET /2/tweets/search/recent")),
            route("GET", r"/2/users/(?P<id>[^/]+)/tweets",
                  g(self.users_tweets, "GET /2/users/{id}/tweets")),
            route("GET", r"/2/users/(?P<id>[^/]+)/mentions",
                  g(self.mentions, "GET /2/users/{id}/mentions")),
            route("GET", r"/2/users/(?P<id>[^/]+)/followers",
                  g(self.followers, "GET /2/users/{id}/followers")),
            route("GET", r"/2/users/(?P<id>[^/]+)/following",
                  g(self.following, "GET /2/users/{id}/following")),
            route("POST", r"/2/users/(?P<id>[^/]+)/muting",
                  g(self.mute, "POST /2/users/{id}/muting")),
            route("DELETE", r"/2/users/(?P<id>[^/]+)/muting/(?P<target>[^/]+)",
                  g(self.unmute, "DELETE /2/users/{source_user_id}/muting/{target_user_id}")),
            route("POST", r"/2/users/(?P<id>[^/]+)/blocking",
                  g(self.block, "POST /2/users/{id}/blocking")),
            route("DELETE", r"/2/users/(?P<id>[^/]+)/blocking/(?P<target>[^/]+)",
                  g(self.unblock, "DELETE /2/users/{source_user_id}/blocking/{target_user_id}")),
            route("POST", r"/2/users/(?P<id>[^/]+)/dm/block",
                  g(self.dm_block, "POST /2/users/{id}/dm/block")),
            route("POST", r"/2/users/(?P<id>[^/]+)/dm/unblock",
                  g(self.dm_unblock, "POST /2/users/{id}/dm/unblock")),
            route("DELETE", r"/2/users/(?P<id>[^/]+)/following/(?P<target>[^/]+)",
                  g(self.unfollow,
                    "DELETE /2/users/{source_user_id}/following/{target_user_id}")),
            route("GET", r"/2/dm_events", g(self.dm_events, "GET /2/dm_events")),
            route("POST", r"/2/media/upload", g(self.media_upload, "POST /2/media/upload")),
            route("GET", r"/2/media/upload",
                  g(self.uploads.status, "GET /2/media/upload")),
            route("POST", r"/2/media/upload/initialize",
                  g(self.uploads.initialize, "POST /2/media/upload/initialize")),
            route("POST", r"/2/media/upload/(?P<id>[^/]+)/append",
                  g(self.uploads.append, "POST /2/media/upload/{id}/append")),
            route("POST", r"/2/media/upload/(?P<id>[^/]+)/finalize",
                  g(self.uploads.finalize, "POST /2/media/upload/{id}/finalize")),
            route("POST", r"/2/oauth2/token", self.oauth2_token),
            route("POST", r"/2/oauth2/revoke", self.oauth2_revoke),
            route("POST", r"/1.1/oauth/invalidate_token",
                  g(self.invalidate_token, "POST /1.1/oauth/invalidate_token")),
            route("POST", r"/2/media/metadata", g(self.media_metadata, "POST /2/media/metadata")),
        ]

    # -- authentication, rate limits, the specification -------------------------------------

    def guarded(self, handler, operation_key: str):
        """Wrap a handler as X serves an operation: the credentials are checked (401), then
        the rate limit (429, with the `x-rate-limit-*` headers on every answer), then the
        request against X's specification (400), and only then is it served."""
        operation = next(item for item in x_spec.ALL_OPERATIONS if item.key == operation_key)

        def guarded_handler(request: SandboxRequest) -> Reply:
            if not self._authenticated(request, operation):
                return _problem(401, "Unauthorized", "Unauthorized")
            limit = RATE_LIMITS.get(operation_key, DEFAULT_RATE_LIMIT)
            with self.state.bookkeeping() as world:  # counted, saved with the next change
                windows = world["x"]["rate_windows"]
                now = time.time()
                window = windows.get(operation_key)
                if window is None or window["reset"] <= now:
                    window = windows[operation_key] = {"reset": int(now) + WINDOW_SECONDS,
                                                       "used": 0}
                window["used"] += 1
                remaining = limit - window["used"]
                headers = {"x-rate-limit-limit": str(limit),
                           "x-rate-limit-remaining": str(max(0, remaining)),
                           "x-rate-limit-reset": str(window["reset"])}
            if remaining < 0:
                reply = _problem(429, "Too Many Requests", "Too Many Requests")
            else:
                found = x_spec.find(request.method, request.path)
                path_parameters = found[1] if found else {}
                problems = x_spec.check(operation, path_parameters, request.query, request.body,
                                        request.headers.get("Content-Type", ""))
                if problems:
                    reply = Reply(400, x_spec.invalid_request_body(problems))
                else:
                    reply = handler(request)
            reply.headers = headers | reply.headers
            return reply

        return guarded_handler

    def _authenticated(self, request: SandboxRequest, operation: x_spec.Operation) -> bool:
        """OAuth 2.0 user tokens must be the one issued; OAuth 1.0a requests must carry an
        HMAC-SHA1 signature made with the app's and the token's secrets, over the request
        really sent, as X verifies them."""
        header = request.headers.get("Authorization", "")
        security = operation.spec["security"]
        with self.state.read() as world:
            credentials = dict(world["x"]["credentials"])
        if header.startswith("Bearer "):
            allowed = "OAuth2UserToken" in security or "BearerToken" in security
            return allowed and bool(credentials.get("bearer_token")) and \
                header[len("Bearer "):] == credentials["bearer_token"]
        if not header.startswith("OAuth ") or "UserToken" not in security:
            return False
        fields = {name: unquote(value)
                  for name, value in re.findall(r'(\w+)="([^"]*)"', header)}
        if fields.get("oauth_consumer_key") != credentials["consumer_key"] or \
                not credentials.get("access_token") or \
                fields.get("oauth_token") != credentials["access_token"] or \
                fields.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        expected = oauth1_signature(request, fields, credentials["consumer_secret"],
                                    credentials["access_token_secret"])
        if not hmac.compare_digest(expected, fields.get("oauth_signature", "")):
            return False
        # RFC 5849 3.3: a timestamp far from the server's clock, or a nonce already used with
        # it, is a replay, and X refuses it
        try:
            stamp = int(fields.get("oauth_timestamp", ""))
        except ValueError:
            return False
        if abs(time.time() - stamp) > OAUTH_TIMESTAMP_SKEW:
            return False
        nonce = f"{stamp}:{fields.get('oauth_nonce', '')}"
        with self._nonce_lock:  # in memory: a replay is refused without a write per request
            if nonce in self._nonces:
                return False
            self._nonces.append(nonce)
        return True

    # -- users -------------------------------------------------------------------------------

    def me(self, request: SandboxRequest) -> Reply:
        """The account (X has no endpoint for the account's settings: `protected`, a user
        field, is all an app can read of them)."""
        with self.state.read() as world:
            user = dict(world["x"]["users"][world["x"]["me"]])
            if "protected" in request.query.get("user.fields", "").split(","):
                user["protected"] = world["x"]["settings"]["protected"]
            return Reply(200, {"data": user})

    def user_by_username(self, request: SandboxRequest) -> Reply:
        """One account by handle, as X answers: the handle must match X's pattern (else 400),
        matched without regard to case; `description` (the bio) only when `user.fields` asks
        for it; an unknown handle is a 200 holding only `errors`."""
        username = request.match["username"]
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", username):
            return _invalid(f"The `username` query parameter value [{username}] does not match "
                            "^[A-Za-z0-9_]{1,15}$")
        fields = set(filter(None, request.query.get("user.fields", "").split(",")))
        with self.state.read() as world:
            found = [user for user in world["x"]["users"].values()
                     if user["username"].lower() == username.lower()]
            bios = world["x"].get("bios", {})
            if not found:
                return Reply(200, {"errors": [{
                    "value": username, "detail": f"Could not find user with username: "
                    f"[{username}].", "title": "Not Found Error", "resource_type": "user",
                    "parameter": "username", "resource_id": username,
                    "type": "https://api.x.com/2/problems/resource-not-found"}]})
            user = {key: found[0][key] for key in ("id", "name", "username")}
            if "description" in fields:
                user["description"] = bios.get(user["id"], "")
            if "protected" in fields:
                user["protected"] = bool(found[0].get("protected", False))
        return Reply(200, {"data": user})

    # -- posts -------------------------------------------------------------------------------

    def create_tweet(self, request: SandboxRequest) -> Reply:
        payload = request.json()
        text = payload.get("text", "")
        media_ids = (payload.get("media") or {}).get("media_ids", [])
        if not text and not media_ids:
            return _invalid("text or media is required")
        if len(media_ids) > 4:
            return _invalid("media.media_ids must have at most 4 items")
        reply_settings = payload.get("reply_settings")
        if reply_settings is not None and reply_settings not in (
                "following", "mentionedUsers", "subscribers", "verified"):
            return _invalid("reply_settings is not one of the allowed values")
        tweet_id = self.state.next_snowflake()
        with self.state.change() as world:
            x = world["x"]
            media_problem = self.uploads.problem_with_media(x, media_ids)
            if media_problem:
                return _invalid(media_problem)
            day_ago = datetime.fromtimestamp(time.time() - 86400, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            duplicate = text and any(
                t["text"] == text and t["author_id"] == x["me"] and not t["deleted"]
                and t["created_at"][:19] >= day_ago for t in x["tweets"].values())
            if duplicate:
                return _problem(403, "Forbidden",
                                "You are not allowed to create a Tweet with duplicate content.",
                                "about:blank")
            in_reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
            tweet = {
                "id": tweet_id, "text": text, "author_id": x["me"], "created_at": _now_iso(),
                "conversation_id": x["tweets"].get(in_reply_to, {}).get("conversation_id", tweet_id),
                "edit_history_tweet_ids": [tweet_id], "deleted": False, "hidden": False,
            }
            if media_ids:
                tweet["attachments"] = {"media_keys": [self.uploads.media_key(x, m)
                                                       for m in media_ids]}
            if reply_settings:
                tweet["reply_settings"] = reply_settings
            if "geo" in payload:  # recorded so that tests can prove Steward never sends it
                tweet["geo"] = payload["geo"]
            if in_reply_to:
                tweet["in_reply_to_tweet_id"] = in_reply_to
            x["tweets"][tweet_id] = tweet
        return Reply(201, {"data": {"edit_history_tweet_ids": [tweet_id], "id": tweet_id,
                                    "text": text}})

    @staticmethod
    def _public(tweet: dict[str, Any], fields: set[str],
                unshown: frozenset[str] = frozenset()) -> dict[str, Any]:
        """A post as X shows it: `unshown` are authors X will not show (a suspended
        account), whose posts come without `author_id`."""
        shown = {"edit_history_tweet_ids": tweet["edit_history_tweet_ids"], "id": tweet["id"],
                 "text": tweet["text"]}
        for name in ("created_at", "author_id", "conversation_id", "attachments",
                     "reply_settings", "in_reply_to_user_id", "geo"):
            if name in fields and name in tweet:
                shown[name] = tweet[name]
        if tweet.get("author_id") in unshown:
            shown.pop("author_id", None)
        return shown

    @staticmethod
    def _fields(request: SandboxRequest) -> set[str]:
        """The post fields asked for, under either of X's names for the parameter; an
        expansion's field comes with it, as on X (`expansions=author_id` adds `author_id`)."""
        named = request.query.get("tweet.fields", request.query.get("post.fields", ""))
        expanded = {"author_id"} & set(request.query.get("expansions", "").split(","))
        return set(filter(None, named.split(","))) | expanded

    def get_tweet(self, request: SandboxRequest) -> Reply:
        tweet_id = request.match["id"]
        with self.state.read() as world:
            tweet = world["x"]["tweets"].get(tweet_id)
            if tweet is None or tweet["deleted"]:
                return Reply(200, {"errors": [_not_found("tweet", tweet_id)]})
            return Reply(200, {"data": self._public(tweet, self._fields(request))})

    def delete_tweet(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            tweet = world["x"]["tweets"].get(request.match["id"])
            if tweet is None or tweet["author_id"] != world["x"]["me"]:
                return _problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
            tweet["deleted"] = True
        return Reply(200, {"data": {"deleted": True}})

    def hide_reply(self, request: SandboxRequest) -> Reply:
        hidden = bool(request.json().get("hidden"))
        with self.state.change() as world:
            x = world["x"]
            tweet = x["tweets"].get(request.match["id"])
            if tweet is None:
                return _problem(404, "Not Found", "Could not find the reply.")
            root = x["tweets"].get(tweet.get("conversation_id", ""))
            if root is None or root["author_id"] != x["me"]:
                return _problem(403, "Forbidden",
                                "You can only hide replies in conversations you started.")
            tweet["hidden"] = hidden
        return Reply(200, {"data": {"hidden": hidden}})

    def _with_authors(self, reply: Reply, request: SandboxRequest) -> Reply:
        """Add `includes.users` when the request asks for `expansions=author_id`."""
        if "author_id" not in request.query.get("expansions", "") or "data" not in reply.body:
            return reply
        with self.state.read() as world:
            users = world["x"]["users"]
            with_tweets = {t["id"]: t for t in world["x"]["tweets"].values()}
            unshown = set(world["x"].get("unshown_authors", []))
            authors = dict.fromkeys(author for item in reply.body["data"]
                                    if (author := with_tweets[item["id"]]["author_id"])
                                    not in unshown)
            reply.body["includes"] = {"users": [dict(users.get(a, {"id": a, "name": a,
                                                                   "username": a}))
                                                for a in authors]}
        return reply

    def _timeline(self, request: SandboxRequest, select) -> Reply:
        fields = self._fields(request)
        maximum = min(int(request.query.get("max_results", 10)), PAGE_SIZE_MAX["tweets"])
        start = request.query.get("start_time")
        since_id = request.query.get("since_id")
        with self.state.read() as world:
            tweets = [t for t in world["x"]["tweets"].values() if not t["deleted"] and select(t)]
            unshown = frozenset(world["x"].get("unshown_authors", []))
        if start:
            tweets = [t for t in tweets if t["created_at"][:19] >= start[:19]]
        if since_id:
            tweets = [t for t in tweets if int(t["id"]) > int(since_id)]
        tweets.sort(key=lambda tweet: int(tweet["id"]), reverse=True)
        return self._with_authors(self._page(request, [self._public(t, fields, unshown)
                                                       for t in tweets],
                                             maximum, newest_oldest=True), request)

    def users_tweets(self, request: SandboxRequest) -> Reply:
        author = request.match["id"]
        return self._timeline(request, lambda tweet: tweet["author_id"] == author)

    def mentions(self, request: SandboxRequest) -> Reply:
        with self.state.read() as world:
            username = world["x"]["users"].get(request.match["id"], {}).get("username", "")
        marker = f"@{username}".lower()
        return self._timeline(request, lambda tweet: marker in tweet["text"].lower()
                              and tweet["author_id"] != request.match["id"])

    def search_recent(self, request: SandboxRequest) -> Reply:
        query = request.query.get("query", "")
        if not re.fullmatch(r"conversation_id:\d+( OR conversation_id:\d+)*", query):
            return _invalid("the sandbox supports only conversation_id: queries (joined by OR)")
        if len(query) > 512:  # self-serve plans' limit
            return _invalid("There were errors processing your request: Query length must be "
                            "at most 512 characters")
        wanted = set(re.findall(r"conversation_id:(\d+)", query))
        return self._timeline(request, lambda tweet: tweet.get("conversation_id") in wanted
                              and tweet["id"] not in wanted)

    # -- followers, following, mutes, blocks -------------------------------------------------

    def _offset(self, request: SandboxRequest) -> int | Reply:
        """Where the page the request's `pagination_token` names starts; X's 400 when the
        token is not one this endpoint gave out (X's tokens are opaque, not offsets)."""
        token = request.query.get("pagination_token")
        if not token:
            return 0
        offset = _read_token(_token_scope(request), token)
        if offset is None:
            return Reply(400, x_spec.invalid_request_body([x_spec.Problem(
                f"The `pagination_token` query parameter value [{token}] is not valid",
                "pagination_token", token)]))
        return offset

    def _page(self, request: SandboxRequest, items: list, maximum: int,
              newest_oldest: bool = False) -> Reply:
        offset = self._offset(request)
        if isinstance(offset, Reply):
            return offset
        page = items[offset:offset + maximum]
        meta: dict[str, Any] = {"result_count": len(page)}
        if newest_oldest and page:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        scope = _token_scope(request)
        if offset + maximum < len(items):
            meta["next_token"] = _make_token(scope, offset + maximum)
        if offset:
            meta["previous_token"] = _make_token(scope, max(0, offset - maximum))
        body: dict[str, Any] = {"meta": meta}
        if page:
            body = {"data": page, "meta": meta}
        return Reply(200, body)

    def _users(self, request: SandboxRequest, key: str) -> Reply:
        maximum = min(int(request.query.get("max_results", 100)), PAGE_SIZE_MAX[key])
        offset = self._offset(request)
        if isinstance(offset, Reply):
            return offset
        with self.state.read() as world:
            if request.match["id"] != world["x"]["me"]:
                return _problem(403, "Forbidden", "The sandbox only knows the school's lists.")
            everyone = world["x"][key][::-1]  # as X lists them: the newest first
            window = everyone[offset:offset + maximum]  # only this page is built
            users = [dict(world["x"]["users"].get(user_id, {"id": user_id, "name": user_id,
                                                            "username": user_id}))
                     for user_id in window]
        meta: dict[str, Any] = {"result_count": len(users)}
        if offset + maximum < len(everyone):
            meta["next_token"] = _make_token(_token_scope(request), offset + maximum)
        return Reply(200, {"data": users, "meta": meta} if users else {"meta": meta})

    def followers(self, request: SandboxRequest) -> Reply:
        return self._users(request, "followers")

    def following(self, request: SandboxRequest) -> Reply:
        return self._users(request, "following")

    def mute(self, request: SandboxRequest) -> Reply:
        target = str(request.json()["target_user_id"])
        with self.state.change() as world:
            if target not in world["x"]["mutes"]:
                world["x"]["mutes"].append(target)
        return Reply(200, {"data": {"muting": True}})

    def unmute(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            if request.match["target"] in world["x"]["mutes"]:
                world["x"]["mutes"].remove(request.match["target"])
        return Reply(200, {"data": {"muting": False}})

    def block(self, request: SandboxRequest) -> Reply:
        with self.state.read() as world:
            enterprise = world["x"].get("plan") == "enterprise"
        if not enterprise:
            return _problem(403, "Forbidden", "Blocking requires the Enterprise plan.",
                            "https://api.twitter.com/2/problems/client-forbidden")
        target = str(request.json()["target_user_id"])
        with self.state.change() as world:
            if target not in world["x"]["blocks"]:
                world["x"]["blocks"].append(target)
            if target in world["x"]["followers"]:  # blocking ends the follow, as on X
                world["x"]["followers"].remove(target)
        return Reply(200, {"data": {"blocking": True}})

    def unblock(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            if request.match["target"] in world["x"]["blocks"]:
                world["x"]["blocks"].remove(request.match["target"])
        return Reply(200, {"data": {"blocking": False}})

    def oauth2_token(self, request: SandboxRequest) -> Reply:
        form = request.form()
        with self.state.change() as world:
            oauth2 = world["x"].setdefault("oauth2", {})
            if form.get("grant_type") != "refresh_token" or \
                    form.get("refresh_token") != oauth2.get("refresh_token") or \
                    form.get("client_id") != oauth2.get("client_id"):
                return Reply(400, {"error": "invalid_request",
                                   "error_description": "Value passed for the token was invalid."})
            number = oauth2.get("generation", 0) + 1
            oauth2.update(generation=number, refresh_token=f"sandbox-refresh-{number}")
            world["x"]["credentials"]["bearer_token"] = f"sandbox-access-{number}"
            return Reply(200, {"token_type": "bearer", "expires_in": 7200,
                               "access_token": f"sandbox-access-{number}", "scope": "tweet.write "
                               "users.read tweet.read offline.access",
                               "refresh_token": oauth2["refresh_token"]})

    def oauth2_revoke(self, request: SandboxRequest) -> Reply:
        token = request.form().get("token")
        with self.state.change() as world:
            oauth2 = world["x"].setdefault("oauth2", {})
            if token == world["x"]["credentials"].get("bearer_token"):
                world["x"]["credentials"]["bearer_token"] = None
            if token == oauth2.get("refresh_token"):
                oauth2["refresh_token"] = None
            oauth2.setdefault("revoked", []).append(token)
        return Reply(200, {"revoked": True})

    def invalidate_token(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            credentials = world["x"]["credentials"]
            revoked = credentials["access_token"]
            credentials.setdefault("revoked", []).append(revoked)
            credentials["access_token"] = None  # nothing works until a new token is issued
        return Reply(200, {"access_token": revoked})

    def dm_unblock(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            if request.match["id"] in world["x"]["dm_blocks"]:
                world["x"]["dm_blocks"].remove(request.match["id"])
        return Reply(200, {"data": {"blocked": False}})

    def unfollow(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            if request.match["target"] in world["x"]["following"]:
                world["x"]["following"].remove(request.match["target"])
        return Reply(200, {"data": {"following": False}})

    def dm_block(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            target = request.match["id"]
            if target not in world["x"]["dm_blocks"]:
                world["x"]["dm_blocks"].append(target)
        return Reply(200, {"data": {"blocked": True}})

    def dm_events(self, request: SandboxRequest) -> Reply:
        """The account's DM events, newest first, in pages (X's only way through them: the
        operation has no `since_id`). An event shows `id`, `event_type` and `text` and the
        `dm_event.fields` asked for; its sender only with `expansions=sender_id`, which also
        puts the senders in `includes.users`."""
        fields = set(filter(None, request.query.get("dm_event.fields", "").split(",")))
        fields |= {"id", "event_type", "text"}
        expansions = set(request.query.get("expansions", "").split(","))
        if "sender_id" in expansions:
            fields.add("sender_id")
        with self.state.read() as world:
            events = sorted(world["x"]["dm_events"], key=lambda event: int(event["id"]),
                            reverse=True)
            users = dict(world["x"]["users"])
        shown = [{name: value for name, value in event.items() if name in fields}
                 for event in events]
        reply = self._page(request, shown, int(request.query.get("max_results", 100)))
        if "sender_id" in expansions and reply.status == 200 and "data" in reply.body:
            senders = dict.fromkeys(event["sender_id"] for event in reply.body["data"]
                                    if "sender_id" in event)
            reply.body["includes"] = {"users": [
                dict(users.get(sender, {"id": sender, "name": sender, "username": sender}))
                for sender in senders]}
        return reply

    # -- media -------------------------------------------------------------------------------

    def media_upload(self, request: SandboxRequest) -> Reply:
        """One upload, as JSON (the media base64-encoded) or as a multipart form (raw bytes),
        both of which X's specification allows."""
        if request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            payload = request.form()
            schema = x_spec.OPERATIONS["POST /2/media/upload"]["bodies"]["multipart/form-data"]
            as_text = {name: value if isinstance(value, str) else "" for name, value in
                       payload.items()}
            problems = x_spec.schema_problems(as_text, schema, "$")
            if problems:
                return Reply(400, x_spec.invalid_request_body(
                    [x_spec.Problem(message) for message in problems]))
            media = payload["media"]
            content = media if isinstance(media, bytes) else media.encode("utf-8")
        else:
            payload = request.json()
            content = base64.b64decode(payload["media"], validate=True)
        if payload.get("media_category") not in ("tweet_image", "tweet_gif", "tweet_video"):
            return _invalid("media_category must be tweet_image, tweet_gif or tweet_video")
        if not content:
            return _invalid("media is empty")
        if payload["media_category"] == "tweet_video":  # docs.x.com: chunked for all videos
            return _invalid("videos must be uploaded in chunks (POST /2/media/upload/initialize)")
        if len(content) > 5 * 1024 * 1024 and payload["media_category"] == "tweet_image":
            return _invalid("images must be at most 5 MB")
        if len(content) > 15 * 1024 * 1024:
            return _invalid("animated GIFs must be at most 15 MB")
        media_id = self.state.next_snowflake()
        image_type = _sniff_image_type(content)
        record = {"id": media_id, "media_key": f"3_{media_id}", "size": len(content),
                  "sha256": hashlib.sha256(content).hexdigest(), "image_type": image_type,
                  "alt_text": None}
        with self.state.change() as world:
            world["x"]["media"][media_id] = record
        return Reply(200, {"data": {"id": media_id, "media_key": record["media_key"],
                                    "size": len(content), "expires_after_secs": 86400,
                                    "image": {"image_type": image_type}}})

    def media_metadata(self, request: SandboxRequest) -> Reply:
        payload = request.json()
        media_id = str(payload["id"])
        alt_text = ((payload.get("metadata") or {}).get("alt_text") or {}).get("text")
        with self.state.change() as world:
            media = world["x"]["media"].get(media_id)
            if media is None:
                return _problem(404, "Not Found", "Could not find the media.")
            media["alt_text"] = alt_text
        return Reply(200, {"data": {"id": media_id,
                                    "associated_metadata": {"alt_text": {"text": alt_text}}}})


def _sniff_image_type(content: bytes) -> str:
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


def _token_scope(request: SandboxRequest) -> str:
    """What a pagination token is good for: the endpoint (the path) that gave it out."""
    return request.path


def _make_token(scope: str, offset: int) -> str:
    """An opaque, base32hex pagination token (as X's are) for the page at `offset`."""
    packed = struct.pack(">I", offset)
    mac = hmac.new(_TOKEN_KEY, scope.encode() + packed, hashlib.sha256).digest()[:11]
    return base64.b32hexencode(packed + mac).decode("ascii").lower()


def _read_token(scope: str, token: str) -> int | None:
    """The offset a token made by `_make_token` for `scope` names; None for any other."""
    try:
        raw = base64.b32hexdecode(token.upper())
    except ValueError:
        return None
    if len(raw) != 15:
        return None
    packed, mac = raw[:4], raw[4:]
    expected = hmac.new(_TOKEN_KEY, scope.encode() + packed, hashlib.sha256).digest()[:11]
    return struct.unpack(">I", packed)[0] if hmac.compare_digest(mac, expected) else None


def _percent(value: str) -> str:
    """RFC 3986 percent-encoding, as OAuth 1.0a signs with it."""
    return quote(value, safe="~")


def oauth1_signature(request: SandboxRequest, oauth_fields: dict[str, str],
                     consumer_secret: str, token_secret: str) -> str:
    """The HMAC-SHA1 signature (RFC 5849, section 3.4) of the request as it arrived: method,
    the base URI (scheme, host and path the client called), and every query, form and
    `oauth_*` parameter but the signature itself."""
    host = request.headers.get("Host", "").lower()
    uri = f"http://{host}{request.path}"
    parameters = [(name, value) for name, value in request.query.items()]
    if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        parameters += parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
    parameters += [(name, value) for name, value in oauth_fields.items()
                   if name.startswith("oauth_") and name != "oauth_signature"]
    normalised = "&".join(f"{name}={value}" for name, value in
                          sorted((_percent(name), _percent(value)) for name, value in parameters))
    base = "&".join((request.method.upper(), _percent(uri), _percent(normalised)))
    key = f"{_percent(consumer_secret)}&{_percent(token_secret or '')}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
