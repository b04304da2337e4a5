"""X's chunked media upload, as strictly as X runs it (docs.x.com, x-api/media: the quickstart
"Chunked media upload" and "Best practices"; the v2 OpenAPI specification for the shapes):

    POST /2/media/upload/initialize      {media_type, total_bytes, media_category}
    POST /2/media/upload/{id}/append     {media (base64) | multipart, segment_index}
    POST /2/media/upload/{id}/finalize   (no body)
    GET  /2/media/upload?command=STATUS&media_id={id}

What is enforced:
- initialize: `media_type` and `total_bytes` are required; the category (default: by type)
  must fit the type (`tweet_video` a video, `tweet_gif` a GIF) and its size limit (image 5 MB,
  GIF 15 MB, video 8 GB: a default account's, X's best-practices table).
- append: each chunk at most 5 MB (X's APPEND: "It must be <= 5 MB"), base64 or raw;
  `segment_index` 0-999 in order: the next one, or one already sent again (X lets a failed
  chunk be retried; the new bytes replace the old), never one beyond a gap; never more bytes
  than `total_bytes`; nothing after finalize.
- finalize: every segment from 0 present and their sizes adding up to `total_bytes`; a
  second finalize answers the upload's status (so a client that lost the first answer can ask
  again). A video or GIF is then processed: `pending`, then `in_progress`, then `succeeded`,
  or `failed` when its bytes are not a video (an MP4/MOV has an `ftyp` box at offset 4) or the
  test said so (the `x.media_processing_fails` event). `check_after_secs` says when to look
  again; a STATUS before then is counted in `early_status_polls`, as X's rate limit would.
- expiry: an upload session lives `expires_after_secs` (a day) from initialize; after it,
  its id is unknown to every call, and a post cannot use it.
- posts (`sandbox.x_api.create_tweet` calls `problem_with_media`): a chunked media id is
  usable only once processing succeeded, and a post takes at most 1 video or 1 animated GIF,
  alone (X: "up to 4 photos, 1 animated GIF or 1 video in a Post").

Time is the sandbox's: `time.time()`, moved on by `POST /_sandbox/time/advance`, which brings
an upload's next processing step and its expiry that much closer (`advance`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Any

from sandbox.server import Reply, SandboxRequest
from sandbox.state import SandboxState

MB = 1024 * 1024
CHUNK_MAX = 5 * MB
SEGMENTS_MAX = 1000  # segment_index 0-999
EXPIRES_AFTER_SECS = 86400
SIZE_LIMITS = {"tweet_image": 5 * MB, "tweet_gif": 15 * MB, "tweet_video": 8 * 1024 * MB}
MEDIA_KEY_PREFIX = {"tweet_image": "3", "tweet_gif": "16", "tweet_video": "7"}
# the processing steps after finalize: (seconds after it, state, progress)
PROCESSING = ((0, "pending", 0), (1, "in_progress", 45), (3, "done", 100))


def _invalid(detail: str) -> Reply:
    return Reply(400, {"errors": [{"message": detail}], "title": "Invalid Request",
                       "detail": "One or more parameters to your request was invalid.",
                       "type": "https://api.twitter.com/2/problems/invalid-request"})


def _default_category(media_type: str) -> str:
    if media_type.startswith("video/"):
        return "tweet_video"
    return "tweet_gif" if media_type == "image/gif" else "tweet_image"


def _looks_like_video(content: bytes) -> bool:
    return content[4:8] == b"ftyp"


class ChunkedUploads:
    """The handlers of X's chunked upload, over `world["x"]["uploads"]`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # -- the upload session -----------------------------------------------------------------

    def _live(self, x: dict[str, Any], media_id: str) -> dict[str, Any] | Reply:
        upload = x.setdefault("uploads", {}).get(media_id)
        if upload is None or upload["expires_at"] <= time.time():
            return _invalid(f"The media_id [{media_id}] is not a valid upload (unknown or "
                            "expired)")
        return upload

    def initialize(self, request: SandboxRequest) -> Reply:
        payload = request.json()
        media_type, total = payload.get("media_type"), payload.get("total_bytes")
        if not media_type:
            return _invalid("media_type is required")
        if total is None:
            return _invalid("total_bytes is required")
        category = payload.get("media_category") or _default_category(media_type)
        if category not in SIZE_LIMITS:
            return _invalid(f"media_category {category} cannot be attached to a post")
        if category == "tweet_video" and not media_type.startswith("video/"):
            return _invalid(f"media_type {media_type} is not a video (media_category "
                            "tweet_video)")
        if category == "tweet_gif" and media_type != "image/gif":
            return _invalid(f"media_type {media_type} is not a GIF (media_category tweet_gif)")
        if category == "tweet_image" and not media_type.startswith("image/"):
            return _invalid(f"media_type {media_type} is not an image (media_category "
                            "tweet_image)")
        if total <= 0:
            return _invalid("total_bytes must be more than 0")
        if total > SIZE_LIMITS[category]:
            return _invalid(f"total_bytes {total} is over the limit of {SIZE_LIMITS[category]} "
                            f"bytes for {category}")
        media_id = self.state.next_snowflake()
        upload = {"id": media_id, "media_key": f"{MEDIA_KEY_PREFIX[category]}_{media_id}",
                  "media_type": media_type, "category": category, "total_bytes": total,
                  "segments": {}, "finalized_at": None, "outcome": None,
                  "expires_at": time.time() + EXPIRES_AFTER_SECS, "check_at": 0.0,
                  "appends": 0, "finalizes": 0}  # what the client sent, for tests to read
        with self.state.change() as world:
            world["x"].setdefault("uploads", {})[media_id] = upload
        return Reply(200, {"data": {"id": media_id, "media_key": upload["media_key"],
                                    "expires_after_secs": EXPIRES_AFTER_SECS}})

    def append(self, request: SandboxRequest) -> Reply:
        media_id = request.match["id"]
        if request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            form = request.form()
            media, index_text = form.get("media"), str(form.get("segment_index", ""))
            if media is None or not index_text.isdigit():
                return _invalid("media and segment_index (0-999) are required")
            index = int(index_text)
            content = media if isinstance(media, bytes) else media.encode("utf-8")
        else:
            payload = request.json()
            index = payload["segment_index"]
            if len(payload["media"]) > CHUNK_MAX:
                return _invalid(f"media must be at most {CHUNK_MAX} bytes (base64-encoded)")
            try:
                content = base64.b64decode(payload["media"], validate=True)
            except (binascii.Error, ValueError):
                return _invalid("media is not base64")
        if not 0 <= index < SEGMENTS_MAX:
            return _invalid("segment_index must be between 0 and 999")
        if not content:
            return _invalid("media is empty")
        if len(content) > CHUNK_MAX:
            return _invalid(f"media must be at most {CHUNK_MAX} bytes")
        with self.state.change() as world:
            upload = self._live(world["x"], media_id)
            if isinstance(upload, Reply):
                return upload
            if upload["finalized_at"] is not None:
                return _invalid(f"The media_id [{media_id}] has been finalized: no more "
                                "segments")
            segments = upload["segments"]
            if index > len(segments):
                return _invalid(f"segment_index {index} is out of order: the next segment is "
                                f"{len(segments)}")
            sizes = sum(item["size"] for key, item in segments.items() if int(key) != index)
            if sizes + len(content) > upload["total_bytes"]:
                return _invalid(f"the segments add up to more than total_bytes "
                                f"({upload['total_bytes']})")
            segments[str(index)] = {"size": len(content),
                                    "data": base64.b64encode(content).decode("ascii")}
            upload["appends"] += 1
            expires_at = int(upload["expires_at"])
        return Reply(200, {"data": {"expires_at": expires_at}})

    def finalize(self, request: SandboxRequest) -> Reply:
        media_id = request.match["id"]
        with self.state.change() as world:
            upload = self._live(world["x"], media_id)
            if isinstance(upload, Reply):
                return upload
            if upload["finalized_at"] is None:
                segments = upload["segments"]
                if not segments or sorted(map(int, segments)) != list(range(len(segments))):
                    return _invalid("segments are missing: append every segment from 0 before "
                                    "finalize")
                content = b"".join(base64.b64decode(segments[str(index)]["data"])
                                   for index in range(len(segments)))
                if len(content) != upload["total_bytes"]:
                    return _invalid(f"File size does not match: {len(content)} bytes appended, "
                                    f"total_bytes is {upload['total_bytes']}")
                upload["segments"] = {key: {"size": item["size"]}
                                      for key, item in segments.items()}  # the bytes are X's now
                upload["sha256"] = hashlib.sha256(content).hexdigest()
                upload["size"] = len(content)
                fails = world["x"].get("processing_failures", 0)
                if fails:
                    world["x"]["processing_failures"] = fails - 1
                bad = (upload["category"] == "tweet_video" and not _looks_like_video(content)) \
                    or (upload["category"] == "tweet_gif" and content[:4] != b"GIF8")
                upload["outcome"] = "failed" if fails or bad else "succeeded"
                upload["finalized_at"] = time.time()
            upload["finalizes"] += 1
            return Reply(200, {"data": self._status(upload, time.time())})

    def status(self, request: SandboxRequest) -> Reply:
        if request.query.get("command", "STATUS") != "STATUS":
            return _invalid("command must be STATUS")
        media_id = request.query["media_id"]
        with self.state.change() as world:
            upload = self._live(world["x"], media_id)
            if isinstance(upload, Reply):
                return upload
            if upload["finalized_at"] is None:
                return _invalid(f"The media_id [{media_id}] has not been finalized")
            now = time.time()
            if now < upload["check_at"]:
                world["x"]["early_status_polls"] = world["x"].get("early_status_polls", 0) + 1
            return Reply(200, {"data": self._status(upload, now)})

    @staticmethod
    def _state(upload: dict[str, Any], now: float) -> tuple[str, int, float | None]:
        """(state, progress, when the next step comes: None when there is none)."""
        if upload["category"] == "tweet_image":
            return "succeeded", 100, None
        elapsed = now - upload["finalized_at"]
        state, progress, following = "pending", 0, None
        for index, (after, name, percent) in enumerate(PROCESSING):
            if elapsed >= after:
                state, progress = name, percent
                following = PROCESSING[index + 1][0] if index + 1 < len(PROCESSING) else None
        if state == "done":
            state = upload["outcome"]
        if state == "failed":
            progress = 0
        when = upload["finalized_at"] + following if following is not None else None
        return state, progress, when

    def _status(self, upload: dict[str, Any], now: float) -> dict[str, Any]:
        state, progress, when = self._state(upload, now)
        data: dict[str, Any] = {"id": upload["id"], "media_key": upload["media_key"],
                                "size": upload["size"],
                                "expires_after_secs": max(0, int(upload["expires_at"] - now))}
        if upload["category"] != "tweet_image":
            info: dict[str, Any] = {"state": state, "progress_percent": progress}
            if when is not None:
                info["check_after_secs"] = max(1, int(round(when - now)))
                upload["check_at"] = now + info["check_after_secs"]
            data["processing_info"] = info
        if upload["category"] == "tweet_video" and state == "succeeded":
            data["video"] = {"video_type": "video/mp4"}
        return data

    # -- what a post may carry --------------------------------------------------------------

    def problem_with_media(self, x: dict[str, Any], media_ids: list[str]) -> str | None:
        """Why X would refuse a post with `media_ids` (None: it would take them)."""
        now = time.time()
        kinds = []
        for media_id in media_ids:
            if media_id in x["media"]:
                kinds.append("tweet_image")
                continue
            upload = x.get("uploads", {}).get(media_id)
            if upload is None or upload["expires_at"] <= now:
                return f"media id not found: {media_id}"
            if upload["finalized_at"] is None:
                return f"media id {media_id} has not been finalized"
            state = self._state(upload, now)[0]
            if state != "succeeded":
                return f"media id {media_id} is not ready to be posted (processing {state})"
            kinds.append(upload["category"])
        moving = [kind for kind in kinds if kind != "tweet_image"]
        if moving and len(kinds) > 1:
            return "a post takes up to 4 photos, 1 animated GIF or 1 video"
        return None

    def media_key(self, x: dict[str, Any], media_id: str) -> str:
        if media_id in x["media"]:
            return str(x["media"][media_id]["media_key"])
        return str(x["uploads"][media_id]["media_key"])

    @staticmethod
    def advance(world: dict[str, Any], seconds: float) -> None:
        """`seconds` pass for every upload: its processing steps and its expiry come closer."""
        for upload in world["x"].get("uploads", {}).values():
            upload["expires_at"] -= seconds
            upload["check_at"] -= seconds
            if upload["finalized_at"] is not None:
                upload["finalized_at"] -= seconds
