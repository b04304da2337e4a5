"""What Steward does about a reply, as a table: the responses a verdict gets, in order, read
against what the platform can do.

The school's table is two lists in the configuration (`moderation.act_responses`,
`moderation.review_responses`); `allow` gets nothing (an allowed reply is not even kept). Each
name is one entry of RESPONSES below, which says what the platform must be able to do
(a flag of the connector's `Capabilities`), whether it acts on the reply's author, what it
falls back to, what makes it unnecessary, and how it is undone. `plan_responses` is the one
place that reads the table against a platform: the moderator executes its `actions` in order
and reports its `not_done` sentences, so a platform gets moderation by declaring its
capabilities, and a platform that cannot do something is reported honestly ("X cannot delete a
reply by someone else: hidden instead"), never pretended.

Two rules of the table keep the policy's order (copy, remove, report): `act` starts with
`evidence`, saved before anything on the platform changes, and ends with `report`, which tells
the head teacher and the e-safety lead what was done. `review` ends with `queue` (the
moderators' digest) and may keep `evidence` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class PlatformAbilities(Protocol):
    """What `plan_responses` reads of a platform: `connectors.capabilities.Capabilities`."""

    @property
    def why_not(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Response:
    """One response Steward knows.

    `needs`: the capability flag the platform must have (None: Steward does it itself).
    `on_author`: it acts on the reply's author, so it needs to know who that is.
    `done`: the words for the incident report once done (None: not a line of "Action taken"),
    and `missing` the words when the platform does not allow it.
    `instead`: the response done in its place where the platform cannot, said as such.
    `covered_by`: responses that make it unnecessary when they are done (a Page block also
    stops the author's messages), so it is left out without a word.
    `undo`: the connector call that undoes it on restore, and the word for having done that.
    """

    name: str
    summary: str
    verdicts: frozenset[str]
    needs: str | None = None
    on_author: bool = False
    done: str | None = None
    missing: str = ""
    verb: str = ""
    instead: str | None = None
    covered_by: tuple[str, ...] = ()
    undo: tuple[str, str] | None = None


ACT, REVIEW = "act", "review"
RESPONSES: dict[str, Response] = {response.name: response for response in (
    Response("evidence", "keep a copy of the reply in the evidence store (first: before "
             "anything on the platform changes)", frozenset({ACT, REVIEW})),
    Response("hide", "hide the reply from everyone but its author", frozenset({ACT}),
             needs="hide_replies", done="hidden", missing="not hidden", verb="hide",
             undo=("unhide", "unhidden")),
    Response("delete", "delete the reply (hidden instead where the platform cannot delete "
             "it)", frozenset({ACT}), needs="delete_replies", done="deleted", missing="not deleted",
             verb="delete",
             instead="hide"),
    Response("mute", "mute the author", frozenset({ACT}), needs="mute_users", on_author=True,
             done="author muted", missing="not muted", verb="mute", covered_by=("block",),
             undo=("unmute", "unmuted")),
    Response("dm_block", "stop the author sending the school direct messages",
             frozenset({ACT}), needs="block_direct_messages", on_author=True,
             done="author's direct messages blocked",
             missing="direct messages not blocked", verb="block their messages",
             covered_by=("block",)),
    Response("block", "block the author", frozenset({ACT}), needs="block_users",
             on_author=True, done="author blocked", missing="not blocked", verb="block",
             undo=("unblock", "unblocked")),
    Response("report", "e-mail the head teacher and the e-safety lead and write a row in the "
             "incident log (last: it says what was done)", frozenset({ACT})),
    Response("queue", "put the reply in the moderators' digest for a person to decide",
             frozenset({REVIEW})),
)}
PLATFORM_STEPS = tuple(name for name, response in RESPONSES.items() if response.needs)
DEFAULT_ACT = ("evidence", "hide", "mute", "dm_block", "block", "report")
DEFAULT_REVIEW = ("queue",)
NO_AUTHOR = "author not sanctioned: the platform did not say who wrote it"


def table_problems(verdict: str, responses: Sequence[str]) -> list[str]:
    """What is wrong with the list of responses for `verdict` ('act' or 'review'), in plain
    words for the administrator who wrote it; empty when it can be used."""
    problems = []
    for position, name in enumerate(responses, start=1):
        response = RESPONSES.get(name)
        if response is None:
            problems.append(f"item {position}, {name!r}, is not a response Steward knows "
                            f"(it knows {', '.join(RESPONSES)})")
        elif verdict not in response.verdicts:
            problems.append(f"item {position}, {name!r}, cannot answer a verdict of {verdict!r} "
                            f"(it may: {', '.join(sorted(response.verdicts))})")
        elif name in responses[:position - 1]:
            problems.append(f"item {position}, {name!r}, is listed twice")
    if problems:
        return problems
    if verdict == ACT:
        if not responses or responses[0] != "evidence":
            problems.append("must start with 'evidence': the copy is kept before anything on "
                            "the platform changes")
        if not responses or responses[-1] != "report":
            problems.append("must end with 'report': every reply acted on is reported to the "
                            "head teacher and the e-safety lead and written in the incident log")
        if "hide" in responses and "delete" in responses:
            problems.append("has both 'hide' and 'delete', which both take the reply away: "
                            "keep one")
    elif not responses or responses[-1] != "queue":
        problems.append("must end with 'queue': a reply that needs a person's decision goes "
                        "to the moderators' digest")
    return problems


@dataclass(frozen=True)
class ResponsePlan:
    """What to do about one reply on one platform. `actions`: the responses to execute, in
    order. `not_done`: sentences saying what the table asked for and the platform (or the
    reply) did not allow, for the incident report."""

    actions: tuple[str, ...]
    not_done: tuple[str, ...]

    def undo(self) -> tuple[tuple[str, str], ...]:
        """The connector calls that undo the actions (restore, when a moderator says the reply
        was wrongly flagged), in order, each with the word for having done it."""
        steps = []
        for name in self.actions:
            undo = RESPONSES[name].undo
            if undo is not None:
                steps.append(undo)
        return tuple(steps)


def plan_responses(responses: Sequence[str], abilities: PlatformAbilities, platform: str, *,
                   author_known: bool, remove_instead_of_hide: bool = False) -> ResponsePlan:
    """Read the list of `responses` (already validated) against the platform's `abilities`.

    `remove_instead_of_hide` reads 'hide' as 'delete' (which is hidden instead where the
    platform cannot delete). A response on the author is left out, once said, when the
    platform did not say who wrote the reply.
    """
    names = ["delete" if name == "hide" and remove_instead_of_hide else name
             for name in responses]

    def able(name: str) -> bool:
        response = RESPONSES[name]
        if response.on_author and not author_known:
            return False
        return response.needs is None or bool(getattr(abilities, response.needs))

    def why(name: str) -> str:
        needs = RESPONSES[name].needs or ""
        return abilities.why_not.get(needs) or f"{platform} cannot {RESPONSES[name].verb} by API"

    possible = {name for name in names if able(name)}
    actions: list[str] = []
    not_done: list[str] = []
    author_unknown = False
    for name in names:
        response = RESPONSES[name]
        if name in possible:
            actions.append(name)
        elif response.on_author and not author_known:
            author_unknown = True
        elif response.instead is not None and able(response.instead):
            actions.append(response.instead)
            not_done.append(f"{why(name)}: {RESPONSES[response.instead].done} instead")
        elif not any(cover in possible for cover in response.covered_by):
            not_done.append(f"{response.missing}: {why(name)} ({response.verb} by hand if "
                            "needed; see below)")
    if author_unknown:
        not_done.append(NO_AUTHOR)
    return ResponsePlan(tuple(actions), tuple(not_done))
