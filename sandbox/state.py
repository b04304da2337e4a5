"""The sandbox's world: accounts, posts, media, followers and the rest, kept as plain JSON data.

All mutation goes through `SandboxState.change()`, which holds one lock and, when a state file is
configured, writes the whole state atomically (temporary file, fsync, rename) before the change is
acknowledged, so a sandbox killed at any moment restarts with what it had answered.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TWITTER_EPOCH_MS = 1288834974657

DEFAULT_X_CREDENTIALS = {
    "consumer_key": "sandbox-consumer-key",
    "consumer_secret": "sandbox-consumer-secret",
    "access_token": "1500000000000000001-sandboxaccesstoken",
    "access_token_secret": "sandbox-access-token-secret",
}
DEFAULT_FACEBOOK_CREDENTIALS = {"page_id": "100000000000001", "page_access_token": "sandbox-page-token"}
DEFAULT_FACEBOOK_APP = {"app_id": "200000000000002", "app_secret": "sandbox-app-secret"}
DEFAULT_INSTAGRAM_USER_ID = "17841400000000001"  # the professional account linked to the Page


def empty_instagram() -> dict[str, Any]:
    """The sandbox's Instagram professional account, linked to the sandbox's Page."""
    return {
        "user": {"id": DEFAULT_INSTAGRAM_USER_ID, "username": "oakfieldprimary",
                 "name": "Oakfield Primary School", "account_type": "BUSINESS"},
        "containers": {},
        "media": {},
        "fetches": [],  # every image the sandbox fetched, as Instagram does
        "published_at": [],  # when each post was published (the rolling publishing limit)
        "publishing_limit": {"quota_total": 50, "quota_duration": 86400},
        "processing_reads": 0,  # status reads a new container reports IN_PROGRESS for
    }



def empty_world() -> dict[str, Any]:
    """Return a world with one school X account and one Facebook Page, and nothing else."""
    x_account_id = DEFAULT_X_CREDENTIALS["access_token"].split("-", 1)[0]
    page_id = DEFAULT_FACEBOOK_CREDENTIALS["page_id"]
    return {
        "x": {
            "credentials": dict(DEFAULT_X_CREDENTIALS),
            "me": x_account_id,
            "users": {
                x_account_id: {"id": x_account_id, "username": "OakfieldPrimary",
                               "name": "Oakfield Primary School"},
            },
            "tweets": {},
            "media": {},
            "followers": [],
            "following": [],
            "blocks": [],
            "mutes": [],
            "dm_blocks": [],
            "dm_events": [],
            "settings": {"protected": False, "geo_enabled": False, "allow_dms_from": "following"},
            "plan": "pay-per-usage",
            "rate_windows": {},
        },
        "facebook": {
            "page": {"id": page_id, "name": "Oakfield Primary School", "username": "oakfieldprimary",
                     "instagram_business_account": {"id": DEFAULT_INSTAGRAM_USER_ID}},
            "page_access_token": DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"],
            # The Meta app the token belongs to; `require_proof` is Meta's "Require App Secret"
            "app": {"id": DEFAULT_FACEBOOK_APP["app_id"],
                    "secret": DEFAULT_FACEBOOK_APP["app_secret"], "require_proof": False},
            "tokens_in_urls": 0,  # requests that carried a token in the query string
            "users": {},
            "posts": {},
            "photos": {},
            "comments": {},
            "blocked": [],
            "conversations": [],
        },
        "instagram": empty_instagram(),
        "faults": [],
        "request_counts": {},
        "sequence": 0,
    }


class SandboxState:
    """The world, a lock around it, and (optionally) the file it is persisted to."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.state_file = Path(state_file) if state_file else None
        self._lock = threading.RLock()
        self._unsaved = False
        if self.state_file is not None and self.state_file.exists():
            self.world = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.world.setdefault("instagram", empty_instagram())  # a state file from before
        else:
            self.world = empty_world()
            self._save()

    @contextmanager
    def change(self) -> Iterator[dict[str, Any]]:
        """Lock the world for a change, and persist it when the change is done."""
        with self._lock:
            yield self.world
            self._save()

    @contextmanager
    def bookkeeping(self) -> Iterator[dict[str, Any]]:
        """Lock the world for a change that is only bookkeeping (a rate window's count): it
        is written with the next change, or at flush, not on its own."""
        with self._lock:
            yield self.world
            self._unsaved = True

    def count(self, key: str) -> None:
        """Count a request (the tests' view of what the platforms were asked). Only counted:
        written with the next change, or at flush, so that a daemon's idle health checks do
        not rewrite the file."""
        with self._lock:
            counts = self.world["request_counts"]
            counts[key] = counts.get(key, 0) + 1
            self._unsaved = True

    def flush(self) -> None:
        """Write the state if anything was counted since it was last written."""
        with self._lock:
            if self._unsaved:
                self._save()

    @contextmanager
    def read(self) -> Iterator[dict[str, Any]]:
        """Lock the world for reading."""
        with self._lock:
            yield self.world

    def snapshot(self) -> dict[str, Any]:
        """Return a deep copy of the whole world (what `GET /_sandbox/state` returns)."""
        with self._lock:
            return copy.deepcopy(self.world)

    def next_snowflake(self) -> str:
        """Return a new X-style id: milliseconds since the Twitter epoch, then a sequence number."""
        with self._lock:
            self.world["sequence"] = (self.world["sequence"] + 1) % 4096
            milliseconds = int(time.time() * 1000) - TWITTER_EPOCH_MS
            return str((milliseconds << 22) | (1 << 12) | self.world["sequence"])

    def next_number(self) -> str:
        """Return a new Facebook-style numeric id."""
        with self._lock:
            self.world["sequence"] = self.world["sequence"] + 1
            return str(int(time.time() * 1000) * 1000 + self.world["sequence"] % 1000)

    def _save(self) -> None:
        self._unsaved = False
        if self.state_file is None:
            return
        temporary = self.state_file.with_name(self.state_file.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.world, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.state_file)
