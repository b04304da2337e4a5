"""What a platform's API lets Steward do, declared rather than discovered by failing.

Reconcilers and moderation branch on these flags; a platform that cannot (say) remove a follower
by API says so here, and Steward reports instead of pretending.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """Flags for one connector. Limits are the platform's documented maxima."""

    max_images_per_post: int
    max_text_length: int
    max_image_bytes: int = 5 * 1024 * 1024
    publish_text: bool = True
    publish_images: bool = True
    delete_posts: bool = True
    find_recent_posts: bool = True
    hide_replies: bool = False
    delete_replies: bool = False
    block_users: bool = False
    mute_users: bool = False
    list_followers: bool = False
    remove_followers: bool = False
    list_following: bool = False
    unfollow: bool = False
    read_settings: bool = False
    read_direct_messages: bool = False
    block_direct_messages: bool = False
    read_conversations: bool = False
