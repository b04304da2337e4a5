"""The Instagram connector: the professional account linked to the school's Facebook Page, through
facebook-sdk's `GraphAPI` (the Instagram API with Facebook Login lives on graph.facebook.com and
takes the Page's token).

How it publishes, and why (developers.facebook.com/docs/instagram-platform/content-publishing):
- Instagram takes no upload: it fetches each picture from `image_url` itself. The connector
  hands the cleaned bytes to a `MediaHost` (the daemon's short-lived, unguessable URLs,
  `daemon.runtime.public_media`), and withdraws them once the container is ready or has failed,
  whatever happens: a file is reachable for the minutes Instagram needs, never after.
- One picture is one container (`POST /{ig-user-id}/media` with `image_url`, `caption`,
  `alt_text`); two to ten make a carousel: a container per picture with
  `is_carousel_item=true`, then one `media_type=CAROUSEL` container with `children`.
- A container is polled (`GET /{container-id}?fields=status_code`) until FINISHED, then
  published (`POST /{ig-user-id}/media_publish` with `creation_id`). `prepare` and
  `publish_prepared` are those two steps (`connectors.protocol.PublishesInSteps`): the
  publisher records the container's id between them, so after a crash it asks the container's
  status_code (PUBLISHED: done; FINISHED: publish it; EXPIRED or ERROR: a new container)
  instead of guessing.
- Before any container is made, the publishing limit is read (`GET /{ig-user-id}/
  content_publishing_limit?fields=quota_usage,config`): at the quota, `RateLimited`, so no
  picture is exposed for a post Instagram would refuse. Meta's reference shows 50 posts per
  86,400 s (its older guide said 25): Steward reads `config.quota_total`, never assumes it.
- JPEG only (Instagram publishes no other image format): anything else is `Rejected` before a
  URL is made. No `location_id` or `user_tags` is ever sent.
- What Instagram's API cannot do (block, mute, list followers, messages, settings) raises
  `Unsupported`; `capabilities` say so first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from connectors.capabilities import Capabilities
from connectors.domain import (
    Account,
    Conversation,
    ExposedMedia,
    MediaHost,
    Post,
    PostRef,
    PublishedPost,
    Reply,
    ReplyPage,
)
from connectors.errors import (
    ConnectorError,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Unsupported,  # noqa: F401 - raised through _unsupported
)
from connectors.facebook import FacebookPageConnector, _parse_graph_time

PLATFORM = "instagram"
MAX_IMAGES = 10  # a carousel's children
MAX_CAPTION = 2200
MAX_IMAGE_BYTES = 8 * 1024 * 1024  # "It should be less than 8 MiB" (error 36000/2207004)
QUOTA_RETRY_SECONDS = 3600.0  # the window rolls: look again in an hour
_STATES = {"PUBLISHED": "published", "FINISHED": "ready", "IN_PROGRESS": "processing",
           "EXPIRED": "gone", "ERROR": "gone"}
# Meta's error-code table for the Instagram API: subcodes that say what to do
_QUOTA_SUBCODE = 2207042  # "You reached maximum number of posts..."
_NOT_READY_SUBCODE = 2207027  # "The media is not ready for publishing"
_EXPIRED_SUBCODE = 2207020  # "The media you are trying to access has expired"
_FETCH_FAILED_SUBCODES = {2207052, 2207003}  # could not fetch / took too long to fetch
_MEDIA_REFUSED_SUBCODES = {2207004, 2207005, 2207009, 2207010, 2207028}  # size, format, ratio


class InstagramConnector(FacebookPageConnector):
    """One Instagram professional account, through the linked Page's token.

    The Facebook connector's transport is reused (the token in the Authorization header,
    `appsecret_proof`, usage headers, error translation); every Page call is replaced."""

    platform = PLATFORM
    brand = "Instagram"
    capabilities = Capabilities(
        max_images_per_post=MAX_IMAGES,
        max_text_length=MAX_CAPTION,
        max_image_bytes=MAX_IMAGE_BYTES,
        publish_text=False,  # every Instagram post is a photo (or a video)
        delete_posts=False,
        # Instagram's API can hide and delete comments (POST /{ig-comment-id} hide=true,
        # DELETE /{ig-comment-id}); Steward does not moderate Instagram comments yet, so the
        # flags stay off until it does, and the daemon never asks.
        why_not={
            "read_replies": "Steward does not read Instagram comments yet",
            "hide_replies": "Steward does not hide Instagram comments yet (Instagram's API "
                            "can)",
            "delete_replies": "Steward does not delete Instagram comments yet (Instagram's "
                              "API can)",
            "publish_text": "Instagram posts need a photo: a post with text only cannot go "
                            "on Instagram",
            "delete_posts": "Instagram's API cannot delete a post: a person must, in the app",
            "block_users": "Instagram cannot block anyone by API: a person must, in the app",
            "mute_users": "Instagram cannot mute anyone by API",
            "block_direct_messages": "Instagram cannot block someone's messages by API",
            "read_mentions": "Steward does not read Instagram mentions yet",
            "read_replies_together": "Instagram's comments are read post by post",
            "list_followers": "Instagram gives no list of an account's followers by API",
            "remove_followers": "Instagram cannot remove a follower by API",
            "list_following": "Instagram gives no list of the accounts an account follows",
            "unfollow": "Instagram cannot unfollow anyone by API",
            "read_settings": "Instagram's API does not show the account's privacy settings",
            "read_direct_messages": "Steward does not read Instagram messages",
            "read_conversations": "Steward does not read Instagram messages",
            "look_up_profiles": "Instagram shows nobody's profile bio by API",
        },
    )

    def __init__(self, *, instagram_user_id: str, page_access_token: str,
                 media_host: MediaHost | None, graph_version: str = "v25.0",
                 timeout: float = 20.0, sandbox_url: str | None = None,
                 api_url: str | None = None, app_id: str | None = None,
                 app_secret: str | None = None, poll_seconds: float = 2.0,
                 max_polls: int = 30, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(page_id=instagram_user_id, page_access_token=page_access_token,
                         graph_version=graph_version, timeout=timeout, sandbox_url=sandbox_url,
                         api_url=api_url, app_id=app_id, app_secret=app_secret)
        self.user_id = instagram_user_id
        self.media_host = media_host
        self.poll_seconds = poll_seconds
        self.max_polls = max_polls
        self.sleep = sleep

    # -- errors: Instagram's subcodes first, then the Graph API's codes -----------------------

    def _translate_graph_error(self, error: Any, action: str, ambiguous: bool) -> ConnectorError:
        result = error.result if isinstance(error.result, dict) else {}
        details = result.get("error", {}) if isinstance(result.get("error"), dict) else {}
        subcode = details.get("error_subcode")
        said = str(details.get("error_user_msg") or details.get("message") or "")
        status = self.last_response.status
        if subcode == _QUOTA_SUBCODE:
            return RateLimited(PLATFORM, "Instagram's publishing limit is reached (posts per "
                               "24 hours): the post waits", retry_after=QUOTA_RETRY_SECONDS,
                               status=status)
        if subcode == _NOT_READY_SUBCODE:
            return TemporaryFailure(PLATFORM, f"Instagram is still processing the picture "
                                    f"while trying to {action}", status=status)
        if subcode in _FETCH_FAILED_SUBCODES:
            return TemporaryFailure(PLATFORM, "Instagram could not fetch the picture from "
                                    "Steward's public address: check instagram."
                                    "public_base_url and the reverse proxy "
                                    "(docs/administrator.md)", status=status)
        if subcode in _MEDIA_REFUSED_SUBCODES:
            return Rejected(PLATFORM, f"Instagram refused the picture: {said}", status=status)
        if subcode == _EXPIRED_SUBCODE:
            return Rejected(PLATFORM, "Instagram's container expired before it was published "
                            "(containers last 24 hours)", status=status)
        return super()._translate_graph_error(error, action, ambiguous)

    # -- the account -------------------------------------------------------------------------

    def check(self) -> Account:
        """The professional account (`GET /{ig-user-id}?fields=id,username,name`)."""
        with self._translated_errors("read the Instagram account"):
            user = self.graph.get_object(self.user_id, fields="id,username,name")
            account = Account(platform=PLATFORM, account_id=str(user["id"]),
                              handle=str(user.get("username") or user["id"]),
                              name=str(user.get("name", "")))
        self._account = account
        return account

    def publishing_quota(self) -> tuple[int, int]:
        """(posts published by API in the rolling window, the most allowed), as Instagram says."""
        with self._translated_errors("read Instagram's publishing limit"):
            answer = self.graph.get_connections(self.user_id, "content_publishing_limit",
                                                fields="quota_usage,config")
            entry = answer["data"][0]
            return int(entry.get("quota_usage", 0)), int(entry["config"]["quota_total"])

    # -- publishing in two steps -------------------------------------------------------------

    def publish(self, post: Post) -> PostRef:
        """Both steps at once (without the publisher's record in between)."""
        return self.publish_prepared(self.prepare(post))

    def prepare(self, post: Post) -> str:
        if not post.media:
            raise Rejected(PLATFORM, self.capabilities.why_not["publish_text"])
        if len(post.media) > MAX_IMAGES:
            raise Rejected(PLATFORM, f"an Instagram carousel carries at most {MAX_IMAGES} photos")
        if len(post.text) > MAX_CAPTION:
            raise Rejected(PLATFORM, f"an Instagram caption takes at most {MAX_CAPTION} "
                           "characters")
        for media in post.media:
            if media.mime_type != "image/jpeg":
                raise Rejected(PLATFORM, f"Instagram publishes JPEG photos only; "
                               f"'{media.path.name}' is {media.mime_type}")
        if self.media_host is None:
            raise Rejected(PLATFORM, "Instagram fetches each photo from a public address and "
                           "none is configured (instagram.public_base_url): nothing was sent")
        used, allowed = self.publishing_quota()
        if used >= allowed:
            raise RateLimited(PLATFORM, f"Instagram's publishing limit is reached ({used} of "
                              f"{allowed} posts in 24 hours): the post waits",
                              retry_after=QUOTA_RETRY_SECONDS)
        exposed: list[ExposedMedia] = []
        try:
            if len(post.media) == 1:
                media = post.media[0]
                exposed.append(self.media_host.expose(media.data, media.mime_type))
                container = self._container({"image_url": exposed[0].url,
                                             "caption": post.text,
                                             "alt_text": media.alt_text})
            else:
                children = []
                for media in post.media:
                    exposed.append(self.media_host.expose(media.data, media.mime_type))
                    child = self._container({"image_url": exposed[-1].url,
                                             "is_carousel_item": "true",
                                             "alt_text": media.alt_text})
                    self._wait_until_finished(child)
                    children.append(child)
                container = self._container({"media_type": "CAROUSEL", "caption": post.text,
                                             "children": ",".join(children)})
            self._wait_until_finished(container)
            return container
        finally:
            for item in exposed:  # Instagram has fetched them, or never will
                self.media_host.withdraw(item)

    def _container(self, arguments: dict[str, str]) -> str:
        with self._translated_errors("make an Instagram media container"):
            answer = self.graph.request(f"{self.graph.version}/{self.user_id}/media",
                                        post_args=arguments, method="POST")
            return str(answer["id"])

    def _status(self, container_id: str) -> str:
        with self._translated_errors("read an Instagram container's status"):
            answer = self.graph.get_object(container_id, fields="status_code")
            return str(answer["status_code"])

    def _wait_until_finished(self, container_id: str) -> None:
        for poll in range(self.max_polls):
            status = self._status(container_id)
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                raise Rejected(PLATFORM, f"Instagram could not process the picture (container "
                               f"status {status})")
            if poll + 1 < self.max_polls:
                self.sleep(self.poll_seconds)
        raise TemporaryFailure(PLATFORM, f"Instagram was still processing the picture after "
                               f"{self.max_polls} looks; Steward will try again")

    def prepared_state(self, prepared_id: str) -> str:
        try:
            status = self._status(prepared_id)
        except Rejected:
            return "gone"  # Instagram knows no such container (any more)
        return _STATES.get(status, "processing")

    def publish_prepared(self, prepared_id: str) -> PostRef:
        with self._translated_errors("publish the Instagram post", ambiguous=True):
            answer = self.graph.request(f"{self.graph.version}/{self.user_id}/media_publish",
                                        post_args={"creation_id": prepared_id}, method="POST")
            media_id = str(answer["id"])
        try:
            with self._translated_errors("read the Instagram post's address"):
                permalink = str(self.graph.get_object(media_id, fields="permalink")["permalink"])
        except ConnectorError:  # published all the same: the receipt names the account
            permalink = f"https://www.instagram.com/{self._account.handle}/" if self._account \
                else "https://www.instagram.com/"
        return PostRef(PLATFORM, media_id, permalink)

    # -- reading posts back ------------------------------------------------------------------

    def _published(self, data: dict[str, Any]) -> PublishedPost:
        children = data.get("children", {}).get("data", [])
        created = data.get("timestamp")
        return PublishedPost(
            ref=PostRef(PLATFORM, str(data["id"]), str(data.get("permalink", ""))),
            text=str(data.get("caption", "")),
            media_count=len(children) if children else 1,
            created_at=_parse_graph_time(created) if created else None)

    def get_post(self, remote_id: str) -> PublishedPost | None:
        try:
            with self._translated_errors("read an Instagram post"):
                return self._published(self.graph.get_object(
                    remote_id, fields="id,caption,media_type,timestamp,permalink,children{id}"))
        except Rejected:
            return None

    def recent_posts(self, since: datetime) -> list[PublishedPost]:
        """The account's posts since `since`, newest first (`GET /{ig-user-id}/media`)."""
        posts: list[PublishedPost] = []
        with self._translated_errors("list recent Instagram posts"):
            arguments: dict[str, Any] = {
                "fields": "id,caption,media_type,timestamp,permalink,children{id}", "limit": 50}
            for _page in range(10):
                page = self.graph.get_connections(self.user_id, "media", **arguments)
                batch = [self._published(item) for item in page.get("data", [])]
                posts.extend(post for post in batch
                             if post.created_at is None or post.created_at >= since)
                older = any(post.created_at is not None and post.created_at < since
                            for post in batch)
                after = page.get("paging", {}).get("cursors", {}).get("after")
                if older or not after or not page.get("paging", {}).get("next"):
                    break
                arguments["after"] = after
        return posts

    # -- not yet, or not by API --------------------------------------------------------------

    def delete(self, ref: PostRef) -> None:
        raise self._unsupported("delete_posts")

    def replies(self, post_id: str, cursor: str | None) -> ReplyPage:
        raise self._unsupported("read_replies")

    def replies_to_posts(self, post_ids: Sequence[str], cursor: str | None) -> ReplyPage:
        raise self._unsupported("read_replies_together")

    def hide(self, reply: Reply) -> None:
        raise self._unsupported("hide_replies")

    def unhide(self, reply_id: str) -> None:
        raise self._unsupported("hide_replies")

    def delete_reply(self, reply: Reply) -> None:
        raise self._unsupported("delete_replies")

    def block(self, user_id: str) -> None:
        raise self._unsupported("block_users")

    def unblock(self, user_id: str) -> None:
        raise self._unsupported("block_users")

    def conversations(self) -> list[Conversation]:
        raise self._unsupported("read_conversations")
