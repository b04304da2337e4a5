"""Things that happen to the school's accounts from outside: a new follower, a reply, a comment, a DM.
An `x.user` event with a `description` is an account's owner writing its bio.

Scenario files and `POST /_sandbox/events` both describe them as small dictionaries with a `kind`;
`apply_event` makes them true in the sandbox's world, shaped as the platform would store them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.state import SandboxState

EVENT_KINDS = ("x.user", "x.follow", "x.following", "x.reply", "x.mention", "x.dm",
               "x.setting", "x.media_processing_fails", "facebook.comment", "facebook.message")


def _x_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _graph_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _ensure_x_user(x: dict[str, Any], event: dict[str, Any]) -> str:
    user_id = str(event["user_id"])
    x["users"].setdefault(user_id, {
        "id": user_id,
        "username": event.get("username", f"user{user_id}"),
        "name": event.get("name", event.get("username", f"User {user_id}")),
    })
    return user_id


def _latest_school_tweet(x: dict[str, Any]) -> str | None:
    own = [tweet for tweet in x["tweets"].values()
           if tweet["author_id"] == x["me"] and not tweet["deleted"]]
    return max(own, key=lambda tweet: int(tweet["id"]))["id"] if own else None


def apply_event(state: SandboxState, event: dict[str, Any]) -> dict[str, Any]:
    """Apply one event to the world; return what was created (ids), for the caller to use.

    Raise ValueError for an unknown kind or a missing field, naming it.
    """
    kind = event.get("kind")
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(EVENT_KINDS)}")
    if kind == "x.media_processing_fails":  # the next `count` finalized videos or GIFs fail
        with state.change() as world:
            x = world["x"]
            x["processing_failures"] = x.get("processing_failures", 0) + int(event.get("count", 1))
        return {}
    if kind.startswith("x.") and kind not in ("x.setting", "x.media_processing_fails"):
        tweet_id = state.next_snowflake()
        with state.change() as world:
            x = world["x"]
            user_id = _ensure_x_user(x, event)
            if "description" in event:  # the account's owner writes its bio
                x.setdefault("bios", {})[user_id] = str(event["description"])
            if kind == "x.follow" and user_id not in x["followers"]:
                x["followers"].append(user_id)
            elif kind == "x.following" and user_id not in x["following"]:
                x["following"].append(user_id)
            elif kind in ("x.reply", "x.mention"):
                target = event.get("in_reply_to", "latest")
                if kind == "x.reply" and target == "latest":
                    target = _latest_school_tweet(x)
                    if target is None:
                        raise ValueError("x.reply needs a school post to reply to; none exists")
                if kind == "x.reply" and target not in x["tweets"]:
                    raise ValueError(f"x.reply: there is no post {target} to reply to")
                school = x["users"][x["me"]]["username"]
                text = event["text"]
                if kind == "x.mention" and f"@{school}".lower() not in text.lower():
                    text = f"@{school} {text}"
                tweet = {"id": tweet_id, "text": text, "author_id": user_id,
                         "created_at": _x_now(), "edit_history_tweet_ids": [tweet_id],
                         "conversation_id": tweet_id, "deleted": False, "hidden": False}
                if kind == "x.reply":
                    tweet["conversation_id"] = x["tweets"][target]["conversation_id"]
                    tweet["in_reply_to_user_id"] = x["me"]
                    tweet["in_reply_to_tweet_id"] = target
                    if f"@{school}".lower() not in text.lower():
                        tweet["text"] = f"@{school} {text}"
                x["tweets"][tweet_id] = tweet
                return {"id": tweet_id}
            elif kind == "x.dm":
                x["dm_events"].append({"id": tweet_id, "event_type": "MessageCreate",
                                       "text": event["text"], "sender_id": user_id,
                                       "created_at": _x_now(),
                                       "dm_conversation_id": f"{user_id}-{x['me']}"})
                return {"id": tweet_id}
            return {"user_id": user_id}
    if kind == "x.setting":
        with state.change() as world:
            world["x"]["settings"][event["name"]] = event["value"]
        return {}
    if kind == "facebook.message":
        with state.change() as world:
            conversation = {"id": f"t_{state.next_number()}", "updated_time": _graph_now(),
                            "message_count": 1}
            world["facebook"]["conversations"].append(conversation)
            return {"id": conversation["id"]}
    with state.change() as world:
        facebook = world["facebook"]
        target = event.get("on", "latest")
        if target != "latest" and target not in facebook["posts"]:
            raise ValueError(f"facebook.comment: there is no post {target} to comment on")
        if target == "latest":
            live = [post for post in facebook["posts"].values() if not post["deleted"]]
            if not live:
                raise ValueError("facebook.comment needs a Page post to comment on; none exists")
            target = max(live, key=lambda post: post["created_time"])["id"]
        comment_id = f"{target.split('_')[-1]}_{state.next_number()}"
        facebook["comments"][comment_id] = {
            "id": comment_id, "parent_id": target, "message": event["text"],
            "from_id": str(event["from_id"]), "from_name": event.get("from_name", "A visitor"),
            "created_time": _graph_now(), "is_hidden": False, "deleted": False,
        }
        return {"id": comment_id}
