"""What each X call costs: X's API is pay-per-usage (docs.x.com/x-api/getting-started/pricing,
late 2026). Reads are charged per resource returned, writes per request:

    Posts: Read                    $0.005 per post returned
    User: Read                     $0.010 per user returned
    DM Event: Read                 $0.010 per event returned
    Following/Followers: Read      $0.010 per user returned
    Content: Create                $0.015 per post
    Content: Create (with URL)     $0.200 per post that carries a link
    DM Interaction: Create         $0.015 per request (a DM block)
    User Interaction: Create       $0.015 per request (a mute, a block)
    Interaction: Delete            $0.010 per request (deleting a post, unmuting, unfollowing)
    Content: Manage                $0.005 per request (hiding a reply, media and its alt text;
                                   each step of an upload in chunks is counted as one, erring
                                   high, since X's table does not single them out)
    Media: Read                    $0.005 per media returned (the status of an upload)

An hourly full scan of a 2,000-follower account reads 48,000 followers a day: $480. That is
why the follower reconciler scans incrementally (followers come newest first) and the daemon
keeps a monthly budget (`x.monthly_budget_usd`).

`usage` reads one exchange (the request and X's answer) and says what X charges for it; the
connector hands that to the daemon's ledger. Calls X does not charge for (OAuth) cost nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# class -> (US dollars per unit, what a unit is)
COST_CLASSES: dict[str, tuple[float, str]] = {
    "Posts: Read": (0.005, "post returned"),
    "User: Read": (0.010, "user returned"),
    "DM Event: Read": (0.010, "event returned"),
    "Following/Followers: Read": (0.010, "user returned"),
    "Content: Create": (0.015, "request"),
    "Content: Create (with URL)": (0.200, "request"),
    "DM Interaction: Create": (0.015, "request"),
    "User Interaction: Create": (0.015, "request"),
    "Interaction: Delete": (0.010, "request"),
    "Content: Manage": (0.005, "request"),
    "Media: Read": (0.005, "media returned"),
}
# (method, path pattern, operation, cost class), first match wins
OPERATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("GET", r"/2/users/me", "GET /2/users/me", "User: Read"),
    ("GET", r"/2/users/by/username/[^/]+", "GET /2/users/by/username/{username}", "User: Read"),
    ("GET", r"/2/users/\d+/followers", "GET /2/users/{id}/followers",
     "Following/Followers: Read"),
    ("GET", r"/2/users/\d+/following", "GET /2/users/{id}/following",
     "Following/Followers: Read"),
    ("GET", r"/2/tweets/search/recent", "GET /2/tweets/search/recent", "Posts: Read"),
    ("GET", r"/2/users/\d+/tweets", "GET /2/users/{id}/tweets", "Posts: Read"),
    ("GET", r"/2/users/\d+/mentions", "GET /2/users/{id}/mentions", "Posts: Read"),
    ("GET", r"/2/tweets/\d+", "GET /2/tweets/{id}", "Posts: Read"),
    ("GET", r"/2/dm_events", "GET /2/dm_events", "DM Event: Read"),
    ("POST", r"/2/tweets", "POST /2/tweets", "Content: Create"),
    ("DELETE", r"/2/tweets/\d+", "DELETE /2/tweets/{id}", "Interaction: Delete"),
    ("PUT", r"/2/tweets/\d+/hidden", "PUT /2/tweets/{id}/hidden", "Content: Manage"),
    ("POST", r"/2/media/upload", "POST /2/media/upload", "Content: Manage"),
    ("POST", r"/2/media/upload/initialize", "POST /2/media/upload/initialize",
     "Content: Manage"),
    ("POST", r"/2/media/upload/\d+/append", "POST /2/media/upload/{id}/append",
     "Content: Manage"),
    ("POST", r"/2/media/upload/\d+/finalize", "POST /2/media/upload/{id}/finalize",
     "Content: Manage"),
    ("GET", r"/2/media/upload", "GET /2/media/upload", "Media: Read"),
    ("POST", r"/2/media/metadata", "POST /2/media/metadata", "Content: Manage"),
    ("POST", r"/2/users/\d+/muting", "POST /2/users/{id}/muting", "User Interaction: Create"),
    ("DELETE", r"/2/users/\d+/muting/\d+", "DELETE /2/users/{id}/muting/{target}",
     "Interaction: Delete"),
    ("POST", r"/2/users/\d+/blocking", "POST /2/users/{id}/blocking",
     "User Interaction: Create"),
    ("DELETE", r"/2/users/\d+/blocking/\d+", "DELETE /2/users/{id}/blocking/{target}",
     "Interaction: Delete"),
    ("DELETE", r"/2/users/\d+/following/\d+", "DELETE /2/users/{id}/following/{target}",
     "Interaction: Delete"),
    ("POST", r"/2/users/\d+/dm/block", "POST /2/users/{id}/dm/block", "DM Interaction: Create"),
    ("POST", r"/2/users/\d+/dm/unblock", "POST /2/users/{id}/dm/unblock",
     "Interaction: Delete"),
)
_COMPILED = tuple((method, re.compile(pattern + r"\Z"), operation, cost_class)
                  for method, pattern, operation, cost_class in OPERATIONS)
_LINK = re.compile(r"https?://|\bwww\.", re.IGNORECASE)


@dataclass(frozen=True)
class Usage:
    """One charged X call: which operation, its cost class, how many units, and the price."""

    operation: str
    cost_class: str
    units: int
    usd: float


_RESULT_COUNT = re.compile(r'"result_count"\s*:\s*(\d+)')


def usage(method: str, path: str, status: int, request_body: bytes | str | None,
          answer: Any) -> Usage | None:
    """What X charges for one exchange (`answer`: its JSON, or its text, read only as far as
    the price needs: a list's `meta.result_count`), or None when it charges nothing: an
    operation X does not bill, or a refused call (X bills what it serves)."""
    if not 200 <= status < 300:
        return None
    found = next(((operation, cost_class) for wanted, pattern, operation, cost_class in _COMPILED
                  if wanted == method and pattern.match(path)), None)
    if found is None:
        return None
    operation, cost_class = found
    price, unit = COST_CLASSES[cost_class]
    if unit == "request":
        if cost_class == "Content: Create" and _has_link(request_body):
            cost_class = "Content: Create (with URL)"
            price = COST_CLASSES[cost_class][0]
        return Usage(operation, cost_class, 1, price)
    if isinstance(answer, str):  # the text of the answer: parsed only without a count
        counted = _RESULT_COUNT.search(answer)
        if counted:
            count = int(counted.group(1))
            return Usage(operation, cost_class, count, round(count * price, 6))
        try:
            answer = json.loads(answer)
        except ValueError:
            return None
    data = answer.get("data") if isinstance(answer, dict) else None
    count = len(data) if isinstance(data, list) else (1 if isinstance(data, dict) else 0)
    return Usage(operation, cost_class, count, round(count * price, 6))


def _has_link(body: bytes | str | None) -> bool:
    if not body:
        return False
    try:
        text = json.loads(body).get("text", "")
    except (ValueError, AttributeError):
        return False
    return bool(_LINK.search(str(text)))
