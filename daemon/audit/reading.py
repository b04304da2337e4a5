"""Reading the audit log as a person: events in chain order, filtered by time, type and
platform, written as plain lines or as CSV for a spreadsheet.

Everything here only reads. The log itself never holds children's names, post text or abusive
content, so neither does anything printed from it.

But it does hold names chosen by others: a post folder's name (whoever dropped it in the inbox),
a follower's handle (anyone on the platform). So every field is shown through `visible`: a
newline cannot forge a second line, an escape sequence cannot drive the reader's terminal, a
bidi override cannot reorder what is shown; and a CSV cell goes through `spreadsheet_cell`, so a
name cannot become a formula when the export is opened in a spreadsheet.
"""

from __future__ import annotations

import csv
import fnmatch
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from daemon.audit.chain import LONGEST_LINE, split_line
from policies.clauses import ClauseCatalogue
from policies.displayed_text import visible

CHAIN_FIELDS = ("timestamp", "event", "level", "seq", "prev", "hash", "signature", "key",
                "audit")
CSV_COLUMNS = ["seq", "date", "time", "event", "level", "platform", "post", "summary", "clause",
               "hash"]

# Sentences for the events people ask about most; other events list their fields.
TEMPLATES = {
    "submission.received": "received {name}",
    "submission.accepted": "accepted {name}, approved by {approved_by}",
    "submission.refused": "refused {name}: broke {rules} ({clauses}); the SLT was told why",
    "post.scheduled": "scheduled {name} for {publish_at} on {platforms}",
    "post.published": "published {name} on {platform}: {url}",
    "post.failed": "could not publish {name} on {platform}: {reason}",
    "submission.archived": "finished {name}: {status}",
    "reply.hidden": "hid reply {reply} on {platform}",
    "reply.deleted": "deleted reply {reply} on {platform}",
    "user.blocked": "blocked the author of reply {reply} on {platform}",
    "user.muted": "muted the author of reply {reply} on {platform}",
    "incident.recorded": "incident {incident} on {platform}: {nature}; {action_taken}; "
                         "reported to {reported_to}",
    "audit.checkpoint": "signed checkpoint ({reason}), sealing the {events_covered} events "
                        "before it",
    "audit.continued": "log continues from {previous_file} ({reason})",
    "service.started": "Steward started ({mode}; platforms {platforms})",
    "service.stopped": "Steward stopped ({reason})",
}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: escaped as by `visible`, and prefixed with
    an apostrophe when it starts with a character that would make it a formula (= + - @, tab,
    carriage return). Numbers pass unchanged."""
    if not isinstance(value, str):
        return value
    shown = visible(value)
    return "'" + shown if value.startswith(FORMULA_STARTS) else shown


def parse_when(text: str, zone: ZoneInfo, end_of_day: bool = False) -> datetime:
    """A date (YYYY-MM-DD: the start of that day, or its end for --until) or a date and time,
    in the school's time zone unless it says otherwise."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    start = datetime.combine(day, time(), tzinfo=zone)
    return start + timedelta(days=1) if end_of_day else start


@dataclass(frozen=True)
class EventFilter:
    """Which events to show; every part optional. `types` are names or patterns: `post`
    means every `post.*` event, `*.failed` every failure."""

    since: datetime | None = None
    until: datetime | None = None
    types: tuple[str, ...] = ()
    platform: str | None = None

    def admits(self, entry: dict[str, Any]) -> bool:
        if self.since or self.until:
            moment = event_time(entry)
            if moment is None or (self.since and moment < self.since) or \
                    (self.until and moment >= self.until):
                return False
        if self.types and not any(_type_matches(entry.get("event", ""), pattern)
                                  for pattern in self.types):
            return False
        if self.platform and self.platform not in _platforms_of(entry):
            return False
        return True


def _type_matches(event: str, pattern: str) -> bool:
    if any(mark in pattern for mark in "*?["):
        return fnmatch.fnmatchcase(event, pattern)
    return event == pattern or event.startswith(pattern + ".")


def _platforms_of(entry: dict[str, Any]) -> set[str]:
    found = set()
    for field in ("platform", "platforms"):
        value = entry.get(field)
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, (list, dict)):
            found.update(str(item) for item in value)
    return found


def event_time(entry: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(entry.get("timestamp")))
    except ValueError:
        return None


def read_events(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Every event in the files, in order (files as ordered by `ordered_files`). A line that is
    not an event is skipped here; `steward audit verify` is what judges the log."""
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as handle:
            # A line as long as a whole file of zeros is not an event: read in bounded pieces,
            # and none of such a line's pieces is taken for one.
            inside_a_long_line = False
            for raw in iter(partial(handle.readline, LONGEST_LINE + 1), ""):
                if inside_a_long_line or len(raw) > LONGEST_LINE:
                    inside_a_long_line = not raw.endswith("\n")
                    continue
                parts = split_line(raw.rstrip("\n"))
                if parts is None:
                    continue
                try:
                    entry = json.loads(parts[0])
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    entry["hash"] = parts[1]
                    yield entry


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    return str(value)


def summary(entry: dict[str, Any]) -> str:
    """One sentence for an event."""
    fields = {key: _text(value) for key, value in entry.items()}
    template = TEMPLATES.get(entry.get("event", ""))
    if template:
        try:
            return template.format(**fields)
        except (KeyError, IndexError):
            pass
    details = [f"{key} {_text(value)}" for key, value in entry.items()
               if key not in CHAIN_FIELDS and key != "clause"]
    return "; ".join(details)


def plain_line(entry: dict[str, Any], zone: ZoneInfo,
               clauses: ClauseCatalogue | None = None) -> str:
    """`2026-11-22 09:00  #12  post.published  published welcome-back on x: https://...`,
    then the clause (`[id: title]`, the title from the school's catalogue `clauses`)."""
    moment = event_time(entry)
    when = f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S}" if moment else "(no time)"
    flag = {"warning": "WARNING ", "error": "ERROR "}.get(entry.get("level", ""), "")
    clause = ""
    if entry.get("clause"):
        title = clauses.title(str(entry["clause"])) if clauses is not None else ""
        clause = f"  [{entry['clause']}: {title}]" if title else f"  [{entry['clause']}]"
    return visible(f"{when}  #{entry.get('seq', '?'):<6} {entry.get('event', '?'):<28} "
                   f"{flag}{summary(entry)}{clause}")


def write_csv(entries: Iterable[dict[str, Any]], zone: ZoneInfo, out: TextIO) -> int:
    """Events as CSV (`CSV_COLUMNS`), one row each, every cell through `spreadsheet_cell`;
    return how many."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for entry in entries:
        moment = event_time(entry)
        local = moment.astimezone(zone) if moment else None
        writer.writerow([spreadsheet_cell(cell) for cell in [
            entry.get("seq", ""), f"{local:%Y-%m-%d}" if local else "",
            f"{local:%H:%M:%S}" if local else "", entry.get("event", ""),
            entry.get("level", ""), ", ".join(sorted(_platforms_of(entry))),
            entry.get("name", ""), summary(entry),
            _text(entry.get("clause") or entry.get("clauses") or ""), entry.get("hash", "")]])
        count += 1
    return count
