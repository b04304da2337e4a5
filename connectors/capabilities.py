"""What a platform's API lets Steward do, declared rather than discovered by failing.

Reconcilers and moderation branch on these flags, never on a platform's name: a platform that
cannot (say) remove a follower by API says so here, and Steward reports instead of pretending.
A new platform gets moderation by declaring what it can do: the response table
(`moderation.act_responses`, `policies.moderation.responses`) is read against these flags.

`why_not` says, for a flag that is off, why, in words an incident report can show the head
teacher ("X cannot delete a reply by someone else"); a flag without an entry is reported as
"<platform> cannot do this by API".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Capabilities:
    """Flags for one connector. Limits are the platform's documented maxima."""

    max_images_per_post: int
    max_text_length: int
    max_image_bytes: int = 5 * 1024 * 1024
    publish_text: bool = True
    publish_images: bool = True
    # videos and animated GIFs: how many a post takes (0: none), whether beside photos, and how
    # large a file the connector uploads
    max_videos_per_post: int = 0
    videos_with_images: bool = False
    max_video_bytes: int = 0
    max_animated_gif_bytes: int = 0
    # an upload in chunks continues after a crash from the last chunk the platform took, within
    # the platform's expiry, instead of starting again (`connectors.uploads`)
    resumable_uploads: bool = False
    delete_posts: bool = True
    find_recent_posts: bool = True
    # reading what others write
    read_replies: bool = False  # replies or comments on the school's own posts
    # replies to many posts in one call (`replies_to_posts`: one cursor for them all), so a
    # poll costs one request whatever the number of posts watched
    read_replies_together: bool = False
    read_mentions: bool = False  # posts elsewhere that name the school's account
    # moderation: what can be done to a reply and to its author
    hide_replies: bool = False
    delete_replies: bool = False
    block_users: bool = False
    mute_users: bool = False
    block_direct_messages: bool = False
    # the account's followers, the accounts it follows, its settings and its messages
    list_followers: bool = False
    remove_followers: bool = False
    list_following: bool = False
    unfollow: bool = False
    read_settings: bool = False
    read_direct_messages: bool = False
    read_conversations: bool = False
    look_up_profiles: bool = False  # another account's public profile (bio) by its handle
    # words for people: where a block applies ("from the Page"; empty: the whole platform),
    # and why a flag is off
    block_scope: str = ""
    why_not: Mapping[str, str] = field(default_factory=dict, hash=False)
