"""What the designated safeguarding lead reads and decides: the replies waiting for review, an
incident's file (its message, evidence and actions), and closing an incident with its outcome.

Everything shown here was written by strangers (handles, texts, links) or read from a file
that could have been changed: it is shown through `visible`, so no character can hide, forge
or reorder what the DSL reads. The review queue names a reply's verdict by its layers and
score, never by its words, unless the DSL asks for the texts. An incident's evidence file is
checked against the SHA-256 recorded when it was saved before it is shown.

Closing an incident writes its outcome to the incident log and to the audit log (who, when,
what), so the governors' report shows it. The audit log never holds children's names or
abusive words, so an outcome that names a pupil on the roster, or reads as abuse to the
moderation classifier, is refused, saying why (a check, not a guarantee: a name spelled in a
way the roster matching does not know, or words the classifier misses, still get through).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.settings import StewardSettings
from daemon.audit.chain import AuditLog
from daemon.runtime.access import cannot_read
from daemon.runtime.records import StoredIncident, StoredReply
from daemon.runtime.store import Store
from policies.displayed_text import visible

CLOSED = "closed"  # how a closed incident's outcome begins: "closed 2026-11-23 10:00 by ..."
MAX_OUTCOME = 500  # characters: a line of the incident log, not a case file


class CaseworkError(Exception):
    """What the DSL asked for cannot be done; the message says why and what to do instead."""


class UnknownIncident(CaseworkError):
    """There is no incident with that number."""


class UnusableOutcome(CaseworkError):
    """The outcome given is empty or too long."""


class AlreadyClosed(CaseworkError):
    """The incident was closed before (closing it again needs --amend)."""


class OutcomeRefused(CaseworkError):
    """The outcome would put a child's name or abusive words into the audit log."""


class RosterUnreadable(CaseworkError):
    """This user cannot read the pupil roster, so the outcome cannot be checked for names."""


# -- the review queue --------------------------------------------------------------------------

def waiting_for_review(store: Store) -> list[StoredReply]:
    """Replies that wait for a moderator's decision, oldest first."""
    return store.replies_awaiting_review()


def why_waiting(reply: StoredReply) -> str:
    """Why a reply waits: sent for review, held by the cap, or seen in a dry run."""
    if reply.status == "dry-run":
        return "dry run: would have been acted on"
    if reply.decision == "cap":
        return "would have been acted on; held: the hourly cap was reached"
    return "sent for review"


def queue_lines(replies: list[StoredReply], zone: ZoneInfo, show_text: bool) -> list[str]:
    """The queue as plain lines: reference, platform, when, author, verdict, score and layers
    (and, when `show_text`, each text, escaped, under its line)."""
    if not replies:
        return ["Nothing waits for review."]
    lines = [f"{len(replies)} repl{'y waits' if len(replies) == 1 else 'ies wait'} for a "
             "moderator's decision, oldest first:", ""]
    for reply in replies:
        when = reply.received_at.astimezone(zone)
        reasons = "; ".join(visible(reason) for reason in reply.reasons) or "no layer"
        lines.append(f"R{reply.id:<5} {reply.platform:<9} {when:%Y-%m-%d %H:%M}  "
                     f"{visible(reply.author_handle)}  {reply.verdict} {reply.score:.2f} "
                     f"({reasons}); {why_waiting(reply)}")
        if show_text:
            lines += quoted(reply.text, "        ") if reply.text is not None \
                else ["        (the text was not kept)"]
    lines += ["", "Decide each with `steward moderate decide R12 act|allow`."]
    if not show_text:
        lines.append("The texts are not shown; `steward moderate queue --show-text` shows "
                     "them, escaped.")
    return lines


def quoted(text: str | None, indent: str = "  ") -> list[str]:
    """`text` as quoted lines, each escaped (`visible`), so a newline in it cannot forge a
    line of Steward's own."""
    return [f"{indent}> {visible(line)}" for line in (text or "").split("\n")]


# -- an incident's file ------------------------------------------------------------------------

@dataclass
class Evidence:
    """What the evidence file holds, and whether it is as Steward saved it."""

    path: Path | None
    recorded_sha256: str | None
    actual_sha256: str | None = None
    record: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # why it cannot be shown, or cannot be trusted

    @property
    def intact(self) -> bool:
        return self.problem is None and self.actual_sha256 == self.recorded_sha256


def read_evidence(path: str | None, recorded_sha256: str | None) -> Evidence:
    """Read an evidence file and check its SHA-256 against the one recorded when it was
    saved; never raises for a missing, unreadable, altered or damaged file (it says which)."""
    if not path:
        return Evidence(None, recorded_sha256, problem="no evidence file was recorded for "
                        "this incident")
    evidence = Evidence(Path(path), recorded_sha256)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        evidence.problem = ("the evidence file is not there: it was moved or deleted (the "
                            "evidence store is append-only; look in the backups)")
        return evidence
    except PermissionError:
        evidence.problem = cannot_read(Path(path), "the evidence file")
        return evidence
    except OSError as error:
        evidence.problem = f"the evidence file cannot be read ({error.strerror})"
        return evidence
    evidence.actual_sha256 = hashlib.sha256(data).hexdigest()
    if evidence.actual_sha256 != recorded_sha256:
        evidence.problem = (
            f"the file's SHA-256 is {evidence.actual_sha256}, not the {recorded_sha256} "
            "recorded when it was saved: it was changed after Steward saved it. Keep it as "
            "it is and tell the administrator; the audit log's evidence.saved event holds the "
            "recorded SHA-256 too")
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        evidence.problem = evidence.problem or "the evidence file is not readable JSON"
        return evidence
    evidence.record = record if isinstance(record, dict) else {}
    return evidence


@dataclass
class IncidentFile:
    """An incident, the reply it was about, and its evidence."""

    incident: StoredIncident
    reply: StoredReply | None
    evidence: Evidence


def incident_file(store: Store, number: str) -> IncidentFile:
    """The file of incident `number` (any case); UnknownIncident if there is none."""
    incident = store.incident(number.strip().upper())
    if incident is None:
        raise UnknownIncident(f"there is no incident {visible(number)} "
                            "(`steward incidents export` lists them)")
    reply = store.reply(incident.reply) if incident.reply is not None else None
    return IncidentFile(incident, reply, read_evidence(incident.evidence_path,
                                                       incident.evidence_sha256))


def _when(text: object, zone: ZoneInfo) -> str:
    """An ISO time from the evidence in the school's zone, or as written if it is not one."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return visible(text)
    if moment.tzinfo is None:
        return visible(text)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S}"


def incident_lines(case: IncidentFile, zone: ZoneInfo) -> list[str]:
    """The incident's file as plain lines: the incident, the message and its author from the
    evidence (or, when the evidence cannot be shown, from the database), the evidence's check,
    and each action with what came of it."""
    incident, reply, evidence = case.incident, case.reply, case.evidence
    when = incident.occurred_at.astimezone(zone)
    lines = [f"Incident {incident.number}",
             f"  recorded:     {when:%Y-%m-%d %H:%M} ({zone})",
             f"  platform:     {incident.platform}",
             f"  nature:       {visible(incident.nature)}",
             f"  reported to:  {visible(incident.reported_to)}",
             f"  outcome:      {visible(incident.outcome)}", ""]
    record = evidence.record
    if record:
        kept = record.get("verdict")
        verdict: dict[str, Any] = kept if isinstance(kept, dict) else {}
        lines += [f"The message{f' (R{reply.id})' if reply else ''}, as kept in the evidence:",
                  *quoted(record.get("text")),
                  f"  author:       {visible(record.get('author_handle'))} (id "
                  f"{visible(record.get('author_id') or 'unknown')})",
                  f"  link:         {visible(record.get('permalink'))}",
                  f"  in reply to:  {visible(record.get('in_reply_to'))}",
                  f"  posted:       {_when(record.get('created_at'), zone)}",
                  f"  collected:    {_when(record.get('collected_at'), zone)}",
                  f"  verdict:      {visible(verdict.get('verdict'))} "
                  f"{visible(verdict.get('score'))} ("
                  + "; ".join(visible(reason) for reason in verdict.get("reasons") or [])
                  + ")", ""]
    elif reply is not None:
        lines += [f"The message (R{reply.id}), as Steward's database holds it (the evidence "
                  "cannot be shown):", *quoted(reply.text),
                  f"  author:       {visible(reply.author_handle)} (id "
                  f"{visible(reply.author_id or 'unknown')})",
                  f"  link:         {visible(reply.url)}", ""]
    lines.append(f"Evidence: {visible(evidence.path) if evidence.path else 'none'}")
    if evidence.intact:
        lines.append(f"  SHA-256 {evidence.actual_sha256}: the same as recorded when it was "
                     "saved, so the file is as Steward saved it")
    else:
        lines.append(f"  NOT CHECKED OUT: {evidence.problem}")
    lines += ["", "Actions taken, and what came of each:"]
    actions = separate_actions(incident.action_taken)
    lines += [f"  - {visible(action)}" for action in actions] or ["  (none recorded)"]
    return lines


def separate_actions(action_taken: str) -> list[str]:
    """The actions in an incident's `action_taken`, which the moderator joins with "; ". An
    action may itself hold "; " inside brackets ("not blocked: ... (block by hand if needed;
    see below)"), so only a separator outside brackets separates."""
    actions: list[str] = []
    current: list[str] = []
    depth = 0
    index = 0
    while index < len(action_taken):
        character = action_taken[index]
        if character in "([":
            depth += 1
        elif character in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and action_taken.startswith("; ", index):
            actions.append("".join(current))
            current, index = [], index + 2
            continue
        current.append(character)
        index += 1
    actions.append("".join(current))
    return [action.strip() for action in actions if action.strip()]


# -- closing an incident -----------------------------------------------------------------------

def usable_outcome(outcome: str) -> str:
    """`outcome` as one line of the incident log; UnusableOutcome if empty or overlong."""
    text = " ".join(outcome.split())  # one line in the incident log's spreadsheet
    if not text:
        raise UnusableOutcome("--outcome is empty: say what was done, e.g. --outcome \"parent "
                            "spoken to; account reported to X\"")
    if len(text) > MAX_OUTCOME:
        raise UnusableOutcome(f"--outcome is {len(text)} characters; keep it under "
                            f"{MAX_OUTCOME} (the case notes belong in the school's own "
                            "safeguarding records, not the incident log)")
    return text


def outcome_problems(outcome: str, settings: StewardSettings) -> list[str]:
    """Why `outcome` must not go into the audit log: a pupil on the roster named in it, or
    words the moderation classifier would act on. Without a roster (none configured), names
    are not checked, as in posts; a roster that cannot be read or used is not passed over:
    RosterUnreadable or OutcomeRefused."""
    from daemon.moderation.rules import moderation_rules  # noqa: PLC0415
    from daemon.posts.rosters import load_roster, roster_path  # noqa: PLC0415
    from policies.moderation import classify_many  # noqa: PLC0415
    from policies.roster import RosterError, find_pupil_names  # noqa: PLC0415

    problems = []
    try:
        roster = load_roster(settings)
    except RosterError as error:
        path = roster_path(settings)
        if not os.access(path, os.R_OK):
            raise RosterUnreadable(
                cannot_read(path, "the pupil roster") + ". The outcome is checked against it "
                "for pupils' names before it is recorded, so nothing was recorded.") from None
        raise OutcomeRefused(f"the outcome was not recorded: it cannot be checked for pupils' "
                             f"names, because {error}; fix the roster first") from None
    if roster is not None and len(roster):
        for match in find_pupil_names(outcome, roster, window=settings.pupils.words_between,
                                      allow_initials=settings.pupils.allow_first_name_and_initial,
                                      allow_first_names=settings.pupils.allow_first_names):
            where = match.disguise if match.start < 0 else f"at word {match.start + 1}"
            problems.append(f"it names a pupil ({match.kind}, {where})")
    [verdict] = classify_many([outcome], moderation_rules(settings))
    if verdict.verdict == "act":
        problems.append("it reads as abusive or threatening to the moderation classifier ("
                        + ", ".join(verdict.reasons) + ")")
    return problems


def close_incident(store: Store, audit: AuditLog, settings: StewardSettings, number: str,
                   outcome: str, by: str, now: datetime, *, amend: bool = False) -> str:
    """Close incident `number` with `outcome`, written by `by`: the incident log's outcome
    becomes "closed <when> by <who>: <outcome>" and `incident.closed` is recorded. Return
    what the log now says. UnknownIncident, UnusableOutcome (empty or overlong), AlreadyClosed
    (unless `amend`), or OutcomeRefused (a name or abuse in it)."""
    text = usable_outcome(outcome)
    problems = outcome_problems(text, settings)
    if problems:
        raise OutcomeRefused(
            "the outcome was not recorded: " + "; ".join(problems) + ". The outcome goes into "
            "the audit log and the governors' report, which never hold children's names or "
            "abusive words: describe what was done without them (\"the pupil's parents were "
            "told\", \"the threat was reported to the police\")")
    zone = ZoneInfo(settings.school.time_zone)
    closed = f"{CLOSED} {now.astimezone(zone):%Y-%m-%d %H:%M} by {by}: {text}"
    key = number.strip().upper()
    before = store.close_incident(key, closed, closed_prefix=f"{CLOSED} ",
                                  replace_closed=amend)
    if before is None:
        raise UnknownIncident(f"there is no incident {visible(number)} "
                            "(`steward incidents export` lists them)")
    if before.startswith(f"{CLOSED} ") and not amend:
        raise AlreadyClosed(f"{key} is already closed ({visible(before)}); to record a "
                            "different outcome, run the command again with --amend")
    audit.record("incident.closed", clause=settings.policy.clause_id("incident-log"),
                 incident=key, outcome=text, by=by, amended=before.startswith(f"{CLOSED} "))
    return closed
