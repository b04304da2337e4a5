"""The Instagram Graph API subset the sandbox speaks (Instagram API with Facebook Login), for the
professional account linked to the sandbox's Page.

Publishing is Meta's two steps (developers.facebook.com/docs/instagram-platform/content-publishing):
`POST /{ig-user-id}/media` makes a container, `GET /{container-id}?fields=status_code` says
whether it is ready, `POST /{ig-user-id}/media_publish` with `creation_id` publishes it, and
`GET /{ig-user-id}/content_publishing_limit` says how much of the rolling 24-hour quota is used.

As strictly as Instagram:
- Instagram takes no upload: it fetches `image_url` itself ("We cURL media used in publishing
  attempts"). So does the sandbox, over HTTP, and only on loopback (it is nobody's fetcher).
  A URL it cannot fetch, a file that is not a JPEG (the only image format Instagram
  publishes), over 8 MiB, or with an aspect ratio outside 4:5 to 1.91:1 is refused with
  the error code and subcode of Meta's error-code table
  (developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes).
- A carousel takes 2 to 10 children, each a FINISHED `is_carousel_item` container of the same
  account; a child cannot be published on its own.
- A container expires 24 hours after it was made (status EXPIRED) and is published at most
  once (status PUBLISHED; a second media_publish is refused).
- The publishing limit is the account's `quota_total` posts per `quota_duration` seconds
  (a carousel counts as one), enforced on media_publish with code 9, subcode 2207042.
  Meta's reference for content_publishing_limit shows `quota_total: 50` over 86400 s (its
  older guide said 25): the sandbox's world says 50, and a test may change it.
- Containers can be made to report IN_PROGRESS for a number of status reads
  (`instagram.processing_reads`), so that a client must poll.
Every error is Meta's error object: message, type, code, error_subcode, fbtrace_id.
"""

from __future__ import annotations

import ipaddress
import struct
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from sandbox.graph_api import VERSION, GraphApi
from sandbox.server import Reply, Route, SandboxRequest, route
from sandbox.state import SandboxState

CONTAINER_LIFETIME_SECONDS = 24 * 3600
MAX_IMAGE_BYTES = 8 * 1024 * 1024  # "It should be less than 8 MiB" (error 36000/2207004)
MIN_ASPECT, MAX_ASPECT = 4 / 5, 1.91
MAX_CAROUSEL_CHILDREN = 10
MAX_CAPTION = 2200
FETCH_TIMEOUT_SECONDS = 5.0


def _ig_error(code: int, message: str, subcode: int | None = None, *, status: int = 400,
              user_message: str | None = None, transient: bool = False) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "is_transient": transient, "fbtrace_id": "SandboxTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_message:
        error["error_user_msg"] = user_message
    return Reply(status, {"error": error})


def _now_graph(at: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if at is None else at, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S+0000")


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) in a JPEG's first SOF segment; None when `data` is no JPEG."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        length = struct.unpack(">H", data[index + 2:index + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                      0xCE, 0xCF) and index + 9 <= len(data):
            height, width = struct.unpack(">HH", data[index + 5:index + 9])
            return width, height
        if marker == 0xDA:  # the scan began before any frame header
            return None
        index += 2 + length
    return None


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class InstagramApi:
    """Route handlers over the `instagram` part of the sandbox world, behind the Graph API's
    checks of version, token and appsecret_proof (the Page's token, as with Facebook Login)."""

    def __init__(self, state: SandboxState, graph: GraphApi) -> None:
        self.state = state
        self.graph = graph

    def routes(self) -> list[Route]:
        g = self.graph.guarded
        user = VERSION + r"/(?P<user>178\d+)"
        return [
            route("POST", user + r"/media", g(self.create_container)),
            route("GET", user + r"/media", g(self.list_media)),
            route("POST", user + r"/media_publish", g(self.publish_container)),
            route("GET", user + r"/content_publishing_limit", g(self.publishing_limit)),
            route("GET", VERSION + r"/(?P<object>\d+)", g(self.get_object)),
        ]

    # -- reading -----------------------------------------------------------------------------

    def get_object(self, request: SandboxRequest) -> Reply:
        """The account, a container or a published media; anything else is the Page's."""
        object_id = request.match["object"]
        fields = self.graph._fields(request)
        with self.state.read() as world:
            instagram = world["instagram"]
            if object_id == instagram["user"]["id"]:
                user = instagram["user"]
                wanted = fields or {"id"}
                return Reply(200, {k: v for k, v in user.items() if k in wanted} | {"id": user["id"]})
            container = instagram["containers"].get(object_id)
            if container is not None:
                return Reply(200, self._container_view(world, container, fields))
            media = instagram["media"].get(object_id)
            if media is not None and not media["deleted"]:
                return Reply(200, self._media_view(media, fields))
        return self.graph.get_object(request)

    def _container_view(self, world: dict[str, Any], container: dict[str, Any],
                        fields: set[str]) -> dict[str, Any]:
        status = self._status(container)
        if status == "IN_PROGRESS" and "status_code" in fields:
            with self.state.change():
                container["reads_left"] -= 1
        view: dict[str, Any] = {"id": container["id"]}
        if "status_code" in fields or not fields:
            view["status_code"] = status
        if "status" in fields:
            view["status"] = {"IN_PROGRESS": "In Progress", "FINISHED": "Finished",
                              "EXPIRED": "Expired", "PUBLISHED": "Published",
                              "ERROR": "Error"}[status]
        return view

    @staticmethod
    def _status(container: dict[str, Any]) -> str:
        if container["published"]:
            return "PUBLISHED"
        if time.time() - container["created_at"] >= CONTAINER_LIFETIME_SECONDS:
            return "EXPIRED"
        if container.get("reads_left", 0) > 0:
            return "IN_PROGRESS"
        return "FINISHED"

    @staticmethod
    def _media_view(media: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        view: dict[str, Any] = {"id": media["id"]}
        for field in ("caption", "media_type", "timestamp", "permalink"):
            if field in fields and media.get(field) is not None:
                view[field] = media[field]
        if any(field.startswith("children") for field in fields) and media["children"]:
            view["children"] = {"data": [{"id": child} for child in media["children"]]}
        return view

    def list_media(self, request: SandboxRequest) -> Reply:
        with self.state.read() as world:
            if request.match["user"] != world["instagram"]["user"]["id"]:
                return self._no_such_object(request.match["user"])
            media = [m for m in world["instagram"]["media"].values() if not m["deleted"]]
        media.sort(key=lambda item: (item["timestamp"], item["id"]), reverse=True)
        fields = self.graph._fields(request)
        limit = min(int(request.query.get("limit", 25)), 100)
        after = int(request.query.get("after") or 0)
        return self.graph._paged(request, [self._media_view(m, fields) for m in media], after,
                                 limit)

    def publishing_limit(self, request: SandboxRequest) -> Reply:
        with self.state.read() as world:
            instagram = world["instagram"]
            if request.match["user"] != instagram["user"]["id"]:
                return self._no_such_object(request.match["user"])
            config = dict(instagram["publishing_limit"])
            usage = self._usage(instagram)
        entry: dict[str, Any] = {"quota_usage": usage}
        if "config" in self.graph._fields(request):
            entry["config"] = config
        return Reply(200, {"data": [entry]})

    @staticmethod
    def _usage(instagram: dict[str, Any]) -> int:
        window = instagram["publishing_limit"]["quota_duration"]
        now = time.time()
        return sum(1 for at in instagram["published_at"] if now - at < window)

    @staticmethod
    def _no_such_object(object_id: str) -> Reply:
        return _ig_error(100, f"Unsupported request. Object with ID '{object_id}' does not "
                         "exist, cannot be loaded due to missing permissions, or does not "
                         "support this operation.", 33)

    # -- containers --------------------------------------------------------------------------

    def create_container(self, request: SandboxRequest) -> Reply:
        with self.state.read() as world:
            instagram = world["instagram"]
            if request.match["user"] != instagram["user"]["id"]:
                return self._no_such_object(request.match["user"])
            if instagram["user"].get("account_type") not in ("BUSINESS", "MEDIA_CREATOR"):
                return _ig_error(10, "(#10) The user is not an Instagram Business or Creator "
                                 "account", status=403)
        caption = str(request.param("caption") or "")
        if len(caption) > MAX_CAPTION:
            return _ig_error(100, "(#100) The caption is too long", 2207010,
                             user_message=f"Captions take at most {MAX_CAPTION} characters.")
        forbidden = [name for name in ("location_id", "user_tags")
                     if request.param(name) is not None]
        media_type = request.param("media_type")
        if media_type == "CAROUSEL":
            return self._carousel(request, caption, forbidden)
        if media_type not in (None, "IMAGE"):
            return _ig_error(100, "(#100) The sandbox publishes images and carousels only "
                             "(media_type IMAGE or CAROUSEL)")
        image_url = request.param("image_url")
        if not image_url:
            return _ig_error(100, "(#100) The parameter image_url is required")
        fetched = self._fetch(str(image_url))
        if isinstance(fetched, Reply):
            return fetched
        carousel_item = str(request.param("is_carousel_item", "false")).lower() == "true"
        container_id = self.state.next_number()
        with self.state.change() as world:
            instagram = world["instagram"]
            instagram["fetches"].append({"url": str(image_url), "bytes": len(fetched)})
            instagram["containers"][container_id] = {
                "id": container_id, "kind": "IMAGE", "caption": "" if carousel_item else caption,
                "is_carousel_item": carousel_item, "children": [], "bytes": len(fetched),
                "created_at": time.time(), "published": False,
                "reads_left": int(instagram.get("processing_reads", 0)),
                "location_parameters": forbidden, "alt_text": request.param("alt_text")}
        return Reply(200, {"id": container_id})

    def _carousel(self, request: SandboxRequest, caption: str, forbidden: list[str]) -> Reply:
        children = [child for child in str(request.param("children") or "").split(",") if child]
        if len(children) < 2:
            return _ig_error(100, "(#100) A carousel needs at least 2 children", 2207028,
                             user_message="Carousels take 2 to 10 photos or videos.")
        if len(children) > MAX_CAROUSEL_CHILDREN:
            return _ig_error(100, f"(#100) A carousel takes at most {MAX_CAROUSEL_CHILDREN} "
                             "children", 2207028,
                             user_message="Carousels take 2 to 10 photos or videos.")
        container_id = self.state.next_number()
        with self.state.change() as world:
            containers = world["instagram"]["containers"]
            for child in children:
                item = containers.get(child)
                if item is None or not item["is_carousel_item"]:
                    return _ig_error(100, f"(#100) The child {child} is not a carousel item "
                                     "container of this account", 2207008)
                status = self._status(item)
                if status == "EXPIRED":
                    return _ig_error(-2, "The media you are trying to access has expired. "
                                     "Please try to upload again.", 2207020)
                if status != "FINISHED":
                    return _ig_error(9007, "Media ID is not available", 2207027,
                                     user_message="The media is not ready for publishing, "
                                     "please wait for a moment")
            containers[container_id] = {
                "id": container_id, "kind": "CAROUSEL_ALBUM", "caption": caption,
                "is_carousel_item": False, "children": children, "created_at": time.time(),
                "published": False, "reads_left": int(world["instagram"].get("processing_reads", 0)),
                "location_parameters": forbidden}
        return Reply(200, {"id": container_id})

    def _fetch(self, url: str) -> bytes | Reply:
        """Fetch the image as Instagram does; the image, or Meta's error for what is wrong."""
        cannot = _ig_error(9004, "The media could not be fetched from this uri: " + url,
                           2207052, user_message="Media download has failed. The media URI "
                           "doesn't meet our requirements.")
        if urlsplit(url).scheme not in ("http", "https") or not _loopback(url):
            return cannot
        session = requests.Session()
        session.trust_env = False  # loopback: never through a proxy
        try:
            with session.get(url, timeout=FETCH_TIMEOUT_SECONDS, stream=True,
                             allow_redirects=False) as answer:
                if answer.status_code != 200:
                    return cannot
                data = answer.raw.read(MAX_IMAGE_BYTES + 1, decode_content=True)
        except requests.Timeout:
            return _ig_error(-2, "It takes too long to download the media.", 2207003,
                             transient=True)
        except (requests.RequestException, OSError, ValueError):
            return cannot
        finally:
            session.close()
        if len(data) > MAX_IMAGE_BYTES:
            return _ig_error(36000, "The image size is too large.", 2207004,
                             user_message="The image is too large to download. It should be "
                             "less than 8 MiB.")
        size = jpeg_size(data)
        if size is None:
            return _ig_error(36001, "The image format is not supported.", 2207005,
                             user_message="The image format is not supported. Supported "
                             "formats are: JPEG")
        width, height = size
        if not height or not MIN_ASPECT <= width / height <= MAX_ASPECT:
            return _ig_error(36003, "The aspect ratio is not supported.", 2207009,
                             user_message=f"The submitted image with aspect ratio "
                             f"{width}:{height} cannot be published. Please submit an image "
                             "with a valid aspect ratio.")
        return data

    def publish_container(self, request: SandboxRequest) -> Reply:
        creation_id = str(request.param("creation_id") or "")
        if not creation_id:
            return _ig_error(100, "(#100) The parameter creation_id is required")
        media_id = self.state.next_number()
        with self.state.change() as world:
            instagram = world["instagram"]
            if request.match["user"] != instagram["user"]["id"]:
                return self._no_such_object(request.match["user"])
            container = instagram["containers"].get(creation_id)
            if container is None:
                return _ig_error(24, "The requested resource does not exist", 2207008,
                                 user_message="Media builder not found")
            if container["is_carousel_item"]:
                return _ig_error(100, "(#100) A carousel item cannot be published on its own")
            status = self._status(container)
            if status == "PUBLISHED":
                return _ig_error(100, "(#100) The media container has already been published",
                                 2207008)
            if status == "EXPIRED":
                return _ig_error(-2, "The media you are trying to access has expired. Please "
                                 "try to upload again.", 2207020)
            if status == "IN_PROGRESS":
                return _ig_error(9007, "Media ID is not available", 2207027,
                                 user_message="The media is not ready for publishing, please "
                                 "wait for a moment")
            if self._usage(instagram) >= instagram["publishing_limit"]["quota_total"]:
                return _ig_error(9, "Application request limit reached", 2207042,
                                 user_message="You reached maximum number of posts that is "
                                 "allowed to be published by Content Publishing API.")
            now = time.time()
            container["published"] = True
            instagram["published_at"].append(now)
            children = [self.state.next_number() for _ in container["children"]]
            instagram["media"][media_id] = {
                "id": media_id, "caption": container["caption"],
                "media_type": container["kind"], "children": children,
                "timestamp": _now_graph(now), "container": creation_id, "deleted": False,
                "permalink": f"https://www.instagram.com/p/sandbox{media_id}/",
                "location_parameters": container["location_parameters"]}
        return Reply(200, {"id": media_id})

