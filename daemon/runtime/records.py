"""What the Store hands out (daemon/runtime/store.py): plain values, so that no module but the
store knows a column's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One submission's post on one platform, and where it is on its way there."""

    submission_id: str
    platform: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    sending_since: datetime | None
    remote_id: str | None
    url: str | None
    last_error: str | None
    # A platform that posts in two steps (Instagram: a container, then media_publish): the
    # first step's id, recorded before the second is asked, so a crash can be resolved by
    # asking the platform what became of it.
    prepared_id: str | None = None


@dataclass(frozen=True)
class StoredSubmission:
    """An accepted submission: what was approved, by whom, and when it goes out."""

    id: str
    name: str
    content_sha256: str
    publish_at: datetime
    status: str
    signers: list[str]
    received_at: datetime
    folder: Path
    posts: dict[str, Any]


@dataclass(frozen=True)
class StoredTakedown:
    """Posts to take down because of a pupil's consent (their keyed hash, never their name),
    or one post on request. Status: waiting (a grace period the DSL may end), due, done, kept."""

    id: int
    pupil_hash: str | None
    submission_id: str | None
    reason: str  # restricted, withdrawn, request
    status: str
    due_at: datetime
    created_at: datetime
    changed_at: datetime
    done_at: datetime | None


@dataclass(frozen=True)
class UpcomingPost:
    """A post still to go out, for `steward status`; `deliveries` reads `x pending, ...`."""

    name: str
    publish_at: datetime
    status: str
    deliveries: str


@dataclass(frozen=True)
class ChecklistItem:
    """What only a person can do, open until a person confirms it (`resolved_at`)."""

    key: str
    platform: str
    text: str
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class StoredFollower:
    """A follower as the last reconcile saw them, and how the policy classed them."""

    user_id: str
    handle: str
    first_seen: datetime
    status: str


@dataclass(frozen=True)
class ParentListChange:
    """What replacing the verified parents' list did: addresses added, removed, kept, and
    links removed with the addresses they belonged to."""

    added: int
    removed: int
    unchanged: int
    unlinked: int


@dataclass(frozen=True)
class StoredHandover:
    """One administrator's handover to another, and the steps done so far."""

    id: int
    old: str
    new: str
    reason: str
    started_at: datetime
    finished_at: datetime | None
    steps: dict[str, Any]


@dataclass(frozen=True)
class StoredReply:
    """A reply or comment moderation collected, with what was decided and done about it."""

    id: int
    platform: str
    reply_id: str
    author_id: str
    author_handle: str
    in_reply_to: str
    url: str
    received_at: datetime
    verdict: str
    score: float
    reasons: list[str]
    status: str
    decision: str | None
    evidence_path: str | None
    evidence_sha256: str | None
    incident: str | None
    actions: list[str]
    text: str | None
    label: str | None
    digest_sent: bool
    updated_at: datetime


@dataclass(frozen=True)
class StoredIncident:
    """A row of the eSafety incident log."""

    number: str
    occurred_at: datetime
    platform: str
    nature: str
    action_taken: str
    reported_to: str
    outcome: str
    evidence_sha256: str | None
    evidence_path: str | None
    reply: int | None
