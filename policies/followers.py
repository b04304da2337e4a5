"""Who may follow the school, and what to do about those who may not (pure).

St Mary's: followers "will only be accepted once their associated e-mail has been verified as
the e-mail they have provided on records held by the school office", and the account "will only
follow and accept followers of established and known organisations". Each follower is a
verified parent, an allow-listed organisation, or unverified: within the grace period (invited,
not yet linked) or overdue. What is done with overdue followers depends on what the platform's
API can do; destructive actions are capped per run, and above the cap nothing destructive
happens at all (a broken parent list must never mass-block parents).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# The rules' ids in the school's clause catalogue (policies.clauses): the reconciler's audit
# events cite the clauses the school maps them to.
RULE_FOLLOWERS = "followers"
RULE_FOLLOWING = "following"

# The allow-listed organisations as `organisation_ids` gives them: (user ids, handles in lower
# case without "@").
KnownOrganisations = tuple[set[str], set[str]]


@dataclass(frozen=True)
class Organisation:
    handle: str
    user_id: str | None
    name: str
    why: str


@dataclass(frozen=True)
class Follower:
    user_id: str
    handle: str
    first_seen: datetime


@dataclass(frozen=True)
class Action:
    kind: str  # "remove" | "block" | "checklist" | "unfollow" | "keep"
    user_id: str
    handle: str
    status: str
    reason: str


def organisation_ids(organisations: tuple[Organisation, ...]) -> KnownOrganisations:
    ids = {org.user_id for org in organisations if org.user_id}
    handles = {org.handle.lower().lstrip("@") for org in organisations}
    return ids, handles


def classify_follower(follower: Follower, verified: set[str], organisations: KnownOrganisations,
                      now: datetime, grace: timedelta) -> str:
    ids, handles = organisations
    if follower.user_id in verified:
        return "verified-parent"
    if follower.user_id in ids or follower.handle.lower() in handles:
        return "organisation"
    return "unverified-new" if now - follower.first_seen <= grace else "unverified-overdue"


def plan_followers(statuses: dict[str, tuple[Follower, str]], can_remove: bool,
                   can_block: bool, policy: str, cap: int) -> tuple[list[Action], bool]:
    """Actions for overdue followers; return (actions, capped). `policy` is report, remove or
    block; where the platform cannot (or above the cap) everything becomes a checklist item."""
    overdue = [follower for follower, status in statuses.values()
               if status == "unverified-overdue"]
    can = {"remove": can_remove, "block": can_block}
    destructive = policy in can and can[policy]
    capped = destructive and len(overdue) > cap
    actions = []
    for follower in sorted(overdue, key=lambda item: item.first_seen):
        if destructive and not capped:
            actions.append(Action(policy, follower.user_id, follower.handle,
                                  "unverified-overdue",
                                  "not a verified parent or a known organisation, past the "
                                  "grace period"))
        else:
            why = ("above the cap of destructive actions per run" if capped else
                   "the platform's API cannot remove followers on this plan" if policy != "report"
                   else "the school's policy is to report")
            actions.append(Action("checklist", follower.user_id, follower.handle,
                                  "unverified-overdue", why))
    return actions, capped


def plan_following(following: Sequence[Mapping[str, str]],
                   organisations: KnownOrganisations) -> list[Action]:
    ids, handles = organisations
    return [Action("unfollow", user["id"], user["username"], "not-an-organisation",
                   "the school follows only established and known organisations")
            for user in following
            if user["id"] not in ids and user["username"].lower() not in handles]
