"""The Facebook Graph API subset the sandbox speaks, for one Page.

Covered: reading the Page, feed posts with several unpublished photos attached (`attached_media`),
reading and deleting posts, the Page's published posts (paginated with cursors), comments and
replies to comments, hiding and deleting comments, and blocking a user from the Page. Every
answer carries `X-App-Usage` and `X-Business-Use-Case-Usage` headers as the real API does, and the
Content-Type facebook-sdk insists on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.server import Reply, Route, SandboxRequest, route
from sandbox.state import SandboxState

# When each Graph API version stops working (Meta's changelog, "Available until"): a call to a
# version past its date, or to one not released, is refused as Meta refuses it.
RETIRED_AFTER = {
    16: "2025-05-14", 17: "2025-09-12", 18: "2026-01-26", 19: "2026-05-21", 20: "2026-09-24",
    21: "2027-01-21", 22: "2027-05-20", 23: "2027-10-08", 24: "2028-02-18", 25: "2028-07-29",
    26: "2099-12-31",  # v26.0 (July 2026): no date yet
}
VERSION = r"/v(?P<version>\d+)\.(?P<minor>\d+)"


def _graph_error(status: int, code: int, message: str, kind: str = "OAuthException",
                 subcode: int | None = None, blame: list[str] | None = None) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code,
                             "fbtrace_id": "SandboxTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if blame:
        error["error_data"] = {"blame_field_specs": [[name] for name in blame]}
    return Reply(status, {"error": error})


def _token(request: SandboxRequest) -> str | None:
    """The access token, wherever Meta takes it: the `Authorization` header (`OAuth` or
    `Bearer`), the POST body or the query string."""
    header = request.headers.get("Authorization", "")
    for scheme in ("OAuth ", "Bearer "):
        if header.startswith(scheme):
            return header[len(scheme):].strip()
    token = request.param("access_token")
    return str(token) if token is not None else None


def _proof_refused(request: SandboxRequest, token: str, app: dict[str, Any]) -> Reply | None:
    """Meta's answer when `appsecret_proof` is wrong, or missing while the app requires it
    ("Require App Secret"); None when the call may go on."""
    proof = request.param("appsecret_proof")
    if proof is None:
        if app.get("require_proof"):
            return _graph_error(400, 100, "API calls from the server require an "
                                "appsecret_proof argument", "GraphMethodException")
        return None
    expected = hmac.new(str(app.get("secret", "")).encode(), token.encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(str(proof), expected):
        return _graph_error(400, 100, "Invalid appsecret_proof provided in the API argument",
                            "GraphMethodException")
    return None


# What Meta's reference lists for each publishing call the sandbox serves (besides the token
# and its proof); any other parameter is refused, as Meta refuses it.
_ALWAYS = {"access_token", "appsecret_proof", "method", "format", "suppress_http_code",
           "pretty", "fields"}
PUBLISHING_PARAMETERS = {
    "create_post": {"message", "link", "published", "scheduled_publish_time", "place", "tags",
                    "targeting", "feed_targeting", "child_attachments", "multi_share_optimized",
                    "no_story", "backdated_time", "coordinates", "target_location",
                    "location"},
    "upload_photo": {"source", "url", "published", "caption", "message", "alt_text_custom",
                     "temporary", "no_story", "place", "tags", "backdated_time",
                     "scheduled_publish_time", "coordinates", "target_location", "location"},
    "update_object": {"is_hidden", "message", "attachment_id", "attachment_url"},
    "block_user": {"user", "uid", "asid", "psid"},
    "unblock_user": {"user", "uid", "asid", "psid"},
    # Instagram (POST /{ig-user-id}/media and /media_publish, Meta's IG User reference)
    "create_container": {"image_url", "caption", "is_carousel_item", "media_type", "children",
                         "alt_text", "location_id", "user_tags", "product_tags",
                         "collaborators", "video_url", "cover_url", "share_to_feed",
                         "thumb_offset", "audio_name", "upload_type"},
    "publish_container": {"creation_id"},
}


def _unknown_parameters(request: SandboxRequest, handler: str) -> list[str]:
    allowed = PUBLISHING_PARAMETERS.get(handler)
    if allowed is None:
        return []
    sent = set(request.query) | set(request.form())
    return sorted(name for name in sent - allowed - _ALWAYS
                  if not (handler == "create_post" and re.fullmatch(r"attached_media\[\d+\]",
                                                                    name)))


def _now_graph() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class GraphApi:
    """Route handlers over the `facebook` part of the sandbox world."""

    def __init__(self, state: SandboxState, base_url: str = "https://graph.facebook.com") -> None:
        self.state = state
        self.base_url = base_url

    def routes(self) -> list[Route]:
        g = self.guarded
        return [
            route("GET", VERSION + r"/(?P<page>\d+)/published_posts", g(self.published_posts)),
            route("GET", VERSION + r"/(?P<page>\d+)/conversations", g(self.conversations)),
            route("GET", VERSION + r"/debug_token", g(self.debug_token)),
            route("GET", VERSION + r"/(?P<page>\d+)/feed", g(self.published_posts)),
            route("POST", VERSION + r"/(?P<page>\d+)/photos", g(self.upload_photo)),
            route("POST", VERSION + r"/(?P<page>\d+)/feed", g(self.create_post)),
            route("POST", VERSION + r"/(?P<page>\d+)/blocked", g(self.block_user)),
            route("DELETE", VERSION + r"/(?P<page>\d+)/blocked", g(self.unblock_user)),
            route("GET", VERSION + r"/(?P<object>[\d_]+)/comments", g(self.comments)),
            route("GET", VERSION + r"/(?P<object>[\d_]+)", g(self.get_object)),
            route("POST", VERSION + r"/(?P<object>[\d_]+)", g(self.update_object)),
            route("DELETE", VERSION + r"/(?P<object>[\d_]+)", g(self.delete_object)),
        ]

    def guarded(self, handler):
        """Check the Graph API version and the access token, and add the usage headers."""

        def guarded_handler(request: SandboxRequest) -> Reply:
            retires = RETIRED_AFTER.get(int(request.match["version"]), "0000-00-00")
            if datetime.now(UTC).strftime("%Y-%m-%d") >= retires:
                return _graph_error(400, 2635, f"(#2635) You are calling a deprecated version of "
                                    f"the Graph API (v{request.match['version']}.0). Please update "
                                    f"to the latest version.", "OAuthException")
            with self.state.read() as world:
                expected = world["facebook"]["page_access_token"]
                page_id = world["facebook"]["page"]["id"]
                app = dict(world["facebook"].get("app") or {})
            token = _token(request)
            if "access_token" in request.query:  # Meta serves it, and a proxy logs it
                with self.state.change() as world:
                    world["facebook"]["tokens_in_urls"] = \
                        world["facebook"].get("tokens_in_urls", 0) + 1
            if token is None:
                return _graph_error(400, 104, "An access token is required to request this "
                                    "resource.")
            app_token = f"{app.get('id')}|{app.get('secret')}"
            if token != expected and not (handler == self.debug_token and token == app_token):
                return _graph_error(400, 190, "Error validating access token: the session is "
                                    "invalid or has expired.", subcode=463)
            refused = _proof_refused(request, token, app)
            if refused is not None:
                return refused
            unknown = _unknown_parameters(request, handler.__name__)
            if unknown:
                return _graph_error(400, 100, "(#100) Invalid parameter", "OAuthException",
                                    blame=unknown)
            reply = handler(request)
            usage = {"call_count": 1, "total_cputime": 1, "total_time": 1}
            reply.headers = {
                "x-app-usage": json.dumps(usage),
                "x-business-use-case-usage": json.dumps({page_id: [usage | {
                    "type": "pages", "estimated_time_to_regain_access": 0}]}),
                "facebook-api-version": f"v{request.match['version']}.0",
            } | reply.headers
            return reply

        return guarded_handler

    def _is_page(self, world: dict[str, Any], page: str) -> bool:
        return page == world["facebook"]["page"]["id"]

    # -- publishing --------------------------------------------------------------------------

    def upload_photo(self, request: SandboxRequest) -> Reply:
        source = request.form().get("source")
        if not isinstance(source, bytes) or not source:
            return _graph_error(400, 324, "(#324) Requires upload file", "OAuthException")
        forbidden = _location_parameters(request)
        photo_id = self.state.next_number()
        published = str(request.param("published", "true")).lower() != "false"
        with self.state.change() as world:
            if not self._is_page(world, request.match["page"]):
                return _graph_error(400, 100, "Unsupported post request.", "GraphMethodException")
            world["facebook"]["photos"][photo_id] = {
                "id": photo_id, "size": len(source), "published": published,
                "alt_text_custom": request.param("alt_text_custom"), "created_time": _now_graph(),
                "location_parameters": forbidden,
            }
            if not published:
                return Reply(200, {"id": photo_id})
            post_id = f"{world['facebook']['page']['id']}_{photo_id}"
            world["facebook"]["posts"][post_id] = self._new_post(
                post_id, request.param("message") or request.param("caption") or "", [photo_id],
                forbidden)
        return Reply(200, {"id": photo_id, "post_id": post_id})

    def create_post(self, request: SandboxRequest) -> Reply:
        message = request.param("message", "")
        attached: list[str] = []
        for index in range(100):
            value = request.param(f"attached_media[{index}]")
            if value is None:
                break
            attached.append(str(json.loads(value)["media_fbid"]))
        if not message and not attached:
            return _graph_error(400, 100, "(#100) The post is empty.", "OAuthException")
        forbidden = _location_parameters(request)
        with self.state.change() as world:
            if not self._is_page(world, request.match["page"]):
                return _graph_error(400, 100, "Unsupported post request.", "GraphMethodException")
            photos = world["facebook"]["photos"]
            unknown = [photo for photo in attached if photo not in photos]
            if unknown:
                return _graph_error(400, 100, f"(#100) Invalid media_fbid {unknown[0]}",
                                    "OAuthException")
            post_id = f"{world['facebook']['page']['id']}_{self.state.next_number()}"
            world["facebook"]["posts"][post_id] = self._new_post(post_id, message, attached,
                                                                 forbidden)
        return Reply(200, {"id": post_id})

    @staticmethod
    def _new_post(post_id: str, message: str, photos: list[str],
                  location_parameters: list[str]) -> dict[str, Any]:
        return {"id": post_id, "message": message, "created_time": _now_graph(),
                "photos": photos, "deleted": False, "is_hidden": False,
                "location_parameters": location_parameters}

    # -- reading -----------------------------------------------------------------------------

    def _post_view(self, post: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        view: dict[str, Any] = {"id": post["id"], "created_time": post["created_time"]}
        if post["message"]:
            view["message"] = post["message"]
        wants_attachments = any(field.startswith("attachments") for field in fields)
        if wants_attachments and post["photos"]:
            media = [{"type": "photo", "target": {"id": photo,
                                                  "url": f"https://www.facebook.com/{photo}"},
                      "media": {"image": {"height": 720, "width": 960}}}
                     for photo in post["photos"]]
            if len(media) == 1:
                view["attachments"] = {"data": media}
            else:
                view["attachments"] = {"data": [{"type": "album", "subattachments":
                                                 {"data": media}}]}
        if "permalink_url" in fields:
            view["permalink_url"] = f"https://www.facebook.com/{post['id']}"
        return view

    @staticmethod
    def _fields(request: SandboxRequest) -> set[str]:
        return set(filter(None, re.split(r",(?![^{]*\})", request.query.get("fields", ""))))

    def get_object(self, request: SandboxRequest) -> Reply:
        object_id = request.match["object"]
        fields = self._fields(request)
        with self.state.read() as world:
            facebook = world["facebook"]
            if object_id == facebook["page"]["id"]:
                page = facebook["page"]
                wanted = fields or {"id", "name"}
                return Reply(200, {key: value for key, value in page.items() if key in wanted}
                             | {"id": page["id"]})
            post = facebook["posts"].get(object_id)
            if post is not None and not post["deleted"]:
                return Reply(200, self._post_view(post, fields))
            comment = facebook["comments"].get(object_id)
            if comment is not None and not comment["deleted"]:
                return Reply(200, self._comment_view(comment))
        return _graph_error(400, 100, f"Unsupported get request. Object with ID '{object_id}' "
                            "does not exist, cannot be loaded due to missing permissions, or "
                            "does not support this operation.", "GraphMethodException", 33)

    def published_posts(self, request: SandboxRequest) -> Reply:
        fields = self._fields(request)
        limit = min(int(request.query.get("limit", 25)), 100)
        since = request.query.get("since")
        after = int(request.query.get("after") or 0)
        with self.state.read() as world:
            if not self._is_page(world, request.match["page"]):
                return _graph_error(400, 100, "Unsupported get request.", "GraphMethodException")
            posts = [post for post in world["facebook"]["posts"].values() if not post["deleted"]]
        if since:
            floor = datetime.fromtimestamp(int(since), UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
            posts = [post for post in posts if post["created_time"] >= floor]
        posts.sort(key=lambda post: (post["created_time"], post["id"]), reverse=True)
        return self._paged(request, [self._post_view(p, fields) for p in posts], after, limit)

    def _paged(self, request: SandboxRequest, items: list, after: int, limit: int) -> Reply:
        page = items[after:after + limit]
        body: dict[str, Any] = {"data": page}
        if page:
            body["paging"] = {"cursors": {"before": str(after), "after": str(after + len(page))}}
            if after + limit < len(items):
                query = dict(request.query) | {"after": str(after + limit)}
                body["paging"]["next"] = f"{self.base_url}{request.path}?{urlencode(query)}"
        return Reply(200, body)

    # -- comments and moderation -------------------------------------------------------------

    @staticmethod
    def _comment_view(comment: dict[str, Any]) -> dict[str, Any]:
        return {"id": comment["id"], "message": comment["message"],
                "created_time": comment["created_time"],
                "from": {"id": comment["from_id"], "name": comment["from_name"]},
                "is_hidden": comment["is_hidden"],
                "permalink_url": f"https://www.facebook.com/{comment['id']}"}

    def comments(self, request: SandboxRequest) -> Reply:
        parent = request.match["object"]
        limit = min(int(request.query.get("limit", 25)), 100)
        after = int(request.query.get("after") or 0)
        with self.state.read() as world:
            found = [self._comment_view(c) for c in world["facebook"]["comments"].values()
                     if c["parent_id"] == parent and not c["deleted"]]
        found.sort(key=lambda comment: comment["created_time"])
        return self._paged(request, found, after, limit)

    def update_object(self, request: SandboxRequest) -> Reply:
        object_id = request.match["object"]
        with self.state.change() as world:
            comment = world["facebook"]["comments"].get(object_id)
            if comment is None or comment["deleted"]:
                return _graph_error(400, 100, "Unsupported post request.", "GraphMethodException",
                                    33)
            if request.param("is_hidden") is not None:
                comment["is_hidden"] = str(request.param("is_hidden")).lower() == "true"
        return Reply(200, {"success": True})

    def delete_object(self, request: SandboxRequest) -> Reply:
        object_id = request.match["object"]
        with self.state.change() as world:
            for collection in ("posts", "comments"):
                item = world["facebook"][collection].get(object_id)
                if item is not None and not item["deleted"]:
                    item["deleted"] = True
                    return Reply(200, {"success": True})
        return _graph_error(400, 100, "Unsupported delete request.", "GraphMethodException", 33)

    def block_user(self, request: SandboxRequest) -> Reply:
        user = request.param("user") or request.param("uid")
        if not user:
            return _graph_error(400, 100, "(#100) The parameter user is required",
                                "OAuthException")
        with self.state.change() as world:
            if user not in world["facebook"]["blocked"]:
                world["facebook"]["blocked"].append(user)
        return Reply(200, {user: True})


    def debug_token(self, request: SandboxRequest) -> Reply:
        """What Meta says of `input_token`, to an app token only (`app_id|app_secret`)."""
        with self.state.read() as world:
            facebook = world["facebook"]
            app = facebook.get("app") or {}
            if _token(request) != f"{app.get('id')}|{app.get('secret')}":
                return _graph_error(400, 100, "(#100) You must provide an app access token, or "
                                    "a user access token that is an owner or developer of the "
                                    "app", "OAuthException")
            valid = request.param("input_token") == facebook["page_access_token"]
            return Reply(200, {"data": {"app_id": app.get("id"), "type": "PAGE",
                                        "is_valid": valid,
                                        "expires_at": facebook.get("token_expires_at", 0),
                                        "profile_id": facebook["page"]["id"],
                                        "scopes": ["pages_manage_posts", "pages_read_engagement",
                                                   "pages_manage_engagement"]}})

    def conversations(self, request: SandboxRequest) -> Reply:
        with self.state.read() as world:
            found = sorted(world["facebook"]["conversations"],
                           key=lambda conversation: conversation["updated_time"], reverse=True)
        return Reply(200, {"data": [dict(item) for item in found]})

    def unblock_user(self, request: SandboxRequest) -> Reply:
        user = request.param("user") or request.param("uid")
        with self.state.change() as world:
            if user in world["facebook"]["blocked"]:
                world["facebook"]["blocked"].remove(user)
        return Reply(200, {"success": True})


def _location_parameters(request: SandboxRequest) -> list[str]:
    """Return any location parameters a request carried, so tests can prove none were sent."""
    names = ("place", "coordinates", "location", "tags", "target_location")
    return [name for name in names if request.param(name) is not None]
