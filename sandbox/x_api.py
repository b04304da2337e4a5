"""The X API v2 subset the sandbox speaks, with the JSON shapes of X's recorded responses.

Covered: the authenticated user, posts (create, read, delete, a user's timeline, mentions, recent
search by conversation), v2 media upload and alt text, hidden replies, followers and following
(paginated), mutes, per-user DM blocks, DM events (read), and account settings. Per-endpoint
rate limits follow X's published per-user 15-minute windows, with the `x-rate-limit-*` headers.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from datetime import UTC, datetime
from typing import Any

from sandbox.server import Reply, Route, SandboxRequest, route
from sandbox.state import SandboxState

WINDOW_SECONDS = 15 * 60
RATE_LIMITS = {  # per user per 15 minutes (X API documentation, late 2026)
    "POST /2/tweets": 100,
    "DELETE /2/tweets": 50,
    "PUT /2/tweets/hidden": 50,
    "GET /2/users/followers": 300,
    "GET /2/users/following": 300,
    "GET /2/users/mentions": 300,
    "GET /2/dm_events": 15,
    "POST /2/users/dm/block": 10,
    "POST /2/media/upload": 500,
}
DEFAULT_RATE_LIMIT = 900
PAGE_SIZE_MAX = {"followers": 1000, "following": 1000, "tweets": 100}


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

    def routes(self) -> list[Route]:
        return [
            route("GET", r"/2/users/me", self.guarded(self.me, "GET /2/users/me")),
            route("GET", r"/2/users/me/settings", self.guarded(self.get_settings, "GET /2/settings")),
            route("PUT", r"/2/users/me/settings", self.guarded(self.put_settings, "PUT /2/settings")),
            route("POST", r"/2/tweets", self.guarded(self.create_tweet, "POST /2/tweets")),
            route("GET", r"/2/tweets/(?P<id>\d+)", self.guarded(self.get_tweet, "GET /2/tweets")),
            route("DELETE", r"/2/tweets/(?P<id>\d+)", self.guarded(self.delete_tweet, "DELETE /2/tweets")),
            route("PUT", r"/2/tweets/(?P<id>\d+)/hidden",
                  self.guarded(self.hide_reply, "PUT /2/tweets/hidden")),
            route("GET", r"/2/tweets/search/recent",
                  self.guarded(self.search_recent, "GET /2/tweets/search")),
            route("GET", r"/2/users/(?P<id>\d+)/tweets",
                  self.guarded(self.users_tweets, "GET /2/users/tweets")),
            route("GET", r"/2/users/(?P<id>\d+)/mentions",
                  self.guarded(self.mentions, "GET /2/users/mentions")),
            route("GET", r"/2/users/(?P<id>\d+)/followers",
                  self.guarded(self.followers, "GET /2/users/followers")),
            route("GET", r"/2/users/(?P<id>\d+)/following",
                  self.guarded(self.following, "GET /2/users/following")),
            route("POST", r"/2/users/(?P<id>\d+)/muting", self.guarded(self.mute, "POST /2/muting")),
            route("DELETE", r"/2/users/(?P<id>\d+)/muting/(?P<target>\d+)",
                  self.guarded(self.unmute, "DELETE /2/muting")),
            route("POST", r"/2/users/(?P<id>\d+)/blocking",
                  self.guarded(self.block, "POST /2/blocking")),
            route("DELETE", r"/2/users/(?P<id>\d+)/blocking/(?P<target>\d+)",
                  self.guarded(self.unblock, "DELETE /2/blocking")),
            route("POST", r"/2/users/(?P<id>\d+)/dm/block",
                  self.guarded(self.dm_block, "POST /2/users/dm/block")),
            route("POST", r"/2/users/(?P<id>\d+)/dm/unblock",
                  self.guarded(self.dm_unblock, "POST /2/users/dm/block")),
            route("DELETE", r"/2/users/(?P<id>\d+)/following/(?P<target>\d+)",
                  self.guarded(self.unfollow, "DELETE /2/following")),
            route("GET", r"/2/dm_events", self.guarded(self.dm_events, "GET /2/dm_events")),
            route("POST", r"/2/media/upload", self.guarded(self.media_upload, "POST /2/media/upload")),
            route("POST", r"/2/oauth2/token", self.oauth2_token),
            route("POST", r"/2/oauth2/revoke", self.oauth2_revoke),
            route("POST", r"/1.1/oauth/invalidate_token",
                  self.guarded(self.invalidate_token, "POST /oauth/invalidate")),
            route("POST", r"/2/media/metadata",
                  self.guarded(self.media_metadata, "POST /2/media/metadata")),
        ]

    # -- authentication and rate limits ------------------------------------------------------

    def guarded(self, handler, limit_key: str):
        """Wrap a handler with X's authentication check and per-endpoint rate limit."""

        def guarded_handler(request: SandboxRequest) -> Reply:
            if not self._authenticated(request):
                return _problem(401, "Unauthorized", "Unauthorized")
            limit = RATE_LIMITS.get(limit_key, DEFAULT_RATE_LIMIT)
            with self.state.bookkeeping() as world:
                windows = world["x"]["rate_windows"]
                now = time.time()
                window = windows.get(limit_key)
                if window is None or window["reset"] <= now:
                    window = windows[limit_key] = {"reset": int(now) + WINDOW_SECONDS, "used": 0}
                window["used"] += 1
                remaining = limit - window["used"]
                headers = {"x-rate-limit-limit": str(limit),
                           "x-rate-limit-remaining": str(max(0, remaining)),
                           "x-rate-limit-reset": str(window["reset"])}
            if remaining < 0:
                reply = _problem(429, "Too Many Requests", "Too Many Requests")
            else:
                reply = handler(request)
            reply.headers = headers | reply.headers
            return reply

        return guarded_handler

    def _authenticated(self, request: SandboxRequest) -> bool:
        header = request.headers.get("Authorization", "")
        with self.state.read() as world:
            credentials = world["x"]["credentials"]
            if header.startswith("Bearer "):
                return bool(credentials.get("bearer_token")) and \
                    header[len("Bearer "):] == credentials["bearer_token"]
            if not header.startswith("OAuth "):
                return False
            fields = dict(re.findall(r'(\w+)="([^"]*)"', header))
            return (fields.get("oauth_consumer_key") == credentials["consumer_key"]
                    and fields.get("oauth_token") == credentials["access_token"]
                    and bool(fields.get("oauth_signature")))

    # -- users and settings ------------------------------------------------------------------

    def me(self, request: SandboxRequest) -> Reply:
        with self.state.read() as world:
            user = dict(world["x"]["users"][world["x"]["me"]])
            if "protected" in request.query.get("user.fields", ""):
                user["protected"] = world["x"]["settings"]["protected"]
            return Reply(200, {"data": user})

    def _settings_api(self) -> bool:
        with self.state.read() as world:
            return world["x"].get("plan") == "enterprise" or world["x"].get("settings_api", False)

    def get_settings(self, request: SandboxRequest) -> Reply:
        if not self._settings_api():
            return _problem(404, "Not Found", "Not found: this endpoint is not available.")
        with self.state.read() as world:
            return Reply(200, {"data": dict(world["x"]["settings"])})

    def put_settings(self, request: SandboxRequest) -> Reply:
        if not self._settings_api():
            return _problem(404, "Not Found", "Not found: this endpoint is not available.")
        changes = request.json()
        with self.state.change() as world:
            settings = world["x"]["settings"]
            unknown = set(changes) - set(settings)
            if unknown:
                return _invalid(f"unknown settings: {', '.join(sorted(unknown))}")
            settings.update(changes)
            return Reply(200, {"data": dict(settings)})

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
            unknown_media = [media_id for media_id in media_ids if media_id not in x["media"]]
            if unknown_media:
                return _invalid(f"media id not found: {unknown_media[0]}")
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
                tweet["attachments"] = {"media_keys": [x["media"][m]["media_key"] for m in media_ids]}
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
    def _public(tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        shown = {"edit_history_tweet_ids": tweet["edit_history_tweet_ids"], "id": tweet["id"],
                 "text": tweet["text"]}
        for name in ("created_at", "author_id", "conversation_id", "attachments",
                     "reply_settings", "in_reply_to_user_id", "geo"):
            if name in fields and name in tweet:
                shown[name] = tweet[name]
        return shown

    @staticmethod
    def _fields(request: SandboxRequest) -> set[str]:
        return set(filter(None, request.query.get("tweet.fields", "").split(",")))

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
            authors = dict.fromkeys(with_tweets[item["id"]]["author_id"]
                                    for item in reply.body["data"])
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
        if start:
            tweets = [t for t in tweets if t["created_at"][:19] >= start[:19]]
        if since_id:
            tweets = [t for t in tweets if int(t["id"]) > int(since_id)]
        tweets.sort(key=lambda tweet: int(tweet["id"]), reverse=True)
        return self._with_authors(self._page(request, [self._public(t, fields) for t in tweets],
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
        conversation = re.search(r"conversation_id:(\d+)", query)
        if not conversation:
            return _invalid("the sandbox supports only conversation_id: queries")
        wanted = conversation.group(1)
        return self._timeline(request, lambda tweet: tweet.get("conversation_id") == wanted
                              and tweet["id"] != wanted)

    # -- followers, following, mutes, blocks -------------------------------------------------

    def _page(self, request: SandboxRequest, items: list, maximum: int,
              newest_oldest: bool = False) -> Reply:
        offset = int(request.query.get("pagination_token") or 0)
        page = items[offset:offset + maximum]
        meta: dict[str, Any] = {"result_count": len(page)}
        if newest_oldest and page:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if offset + maximum < len(items):
            meta["next_token"] = str(offset + maximum)
        if offset:
            meta["previous_token"] = str(max(0, offset - maximum))
        body: dict[str, Any] = {"meta": meta}
        if page:
            body = {"data": page, "meta": meta}
        return Reply(200, body)

    def _users(self, request: SandboxRequest, key: str) -> Reply:
        maximum = min(int(request.query.get("max_results", 100)), PAGE_SIZE_MAX[key])
        offset = int(request.query.get("pagination_token") or 0)
        with self.state.read() as world:
            if request.match["id"] != world["x"]["me"]:
                return _problem(403, "Forbidden", "The sandbox only knows the school's lists.")
            everyone = world["x"][key]
            window = everyone[offset:offset + maximum]  # only this page is built
            users = [dict(world["x"]["users"].get(user_id, {"id": user_id, "name": user_id,
                                                            "username": user_id}))
                     for user_id in window]
        meta: dict[str, Any] = {"result_count": len(users)}
        if offset + maximum < len(everyone):
            meta["next_token"] = str(offset + maximum)
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
        since_id = request.query.get("since_id")
        with self.state.read() as world:
            events = sorted(world["x"]["dm_events"], key=lambda event: int(event["id"]),
                            reverse=True)
        if since_id:
            events = [event for event in events if int(event["id"]) > int(since_id)]
        return self._page(request, events, min(int(request.query.get("max_results", 100)), 100))

    # -- media -------------------------------------------------------------------------------

    def media_upload(self, request: SandboxRequest) -> Reply:
        payload = request.json()
        if payload.get("media_category") not in ("tweet_image", "tweet_gif", "tweet_video"):
            return _invalid("media_category must be tweet_image, tweet_gif or tweet_video")
        content = base64.b64decode(payload["media"], validate=True)
        if not content:
            return _invalid("media is empty")
        if len(content) > 5 * 1024 * 1024 and payload["media_category"] == "tweet_image":
            return _invalid("images must be at most 5 MB")
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
