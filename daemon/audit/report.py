"""`steward audit report --html`: one self-contained HTML page a governor can open and read.

What Steward did over a period, from the audit log alone: posts published and refused per
week, refusals by rule and by the school's policy clause (its title and text from the school's
clause catalogue), moderation actions per platform, follower and settings changes, handovers and
incidents (with each one's outcome: open, closed by the DSL, or restored), with inline SVG charts
and the verification result at the top. No scripts, no external files, nothing fetched: it opens
the same from a USB stick in ten years. The audit log holds no children's names, post text or
abusive content, so neither does this.

It is written for governors: rules are named in plain English (RULE_NAMES), and the
verification banner says in words whether the record can be trusted and, when it cannot, what
to do next (daemon.audit.plain_verdict); the auditor's sentence, with its hashes, comes below.

The page is the Jinja2 template `templates/report.html.j2` (package data, so that the markup
reads as markup and a change to the page is a change to one file), rendered with autoescaping
on and every value shown through `visible`: follower handles, names and reasons are written by
strangers. This module counts and lays out the charts; the template writes every character.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from daemon.audit.plain_verdict import plain_verdict
from daemon.audit.reading import event_time, summary, visible
from daemon.audit.verification import ChainReport
from policies.clauses import DEFAULT_CATALOGUE, RULE_DEFAULTS, ClauseCatalogue

PUBLISHED_COLOUR = "#1b5e20"  # the screenshot test looks for these exact colours
REFUSED_COLOUR = "#b71c1c"
ACTION_COLOUR = "#0d47a1"
MODERATION_EVENTS = {"reply.hidden": "replies hidden", "reply.deleted": "replies deleted",
                     "user.blocked": "authors blocked", "user.muted": "authors muted",
                     "user.dm_blocked": "direct messages blocked",
                     "moderation.restored": "actions undone"}
FOLLOWER_PREFIXES = ("follower.", "following.", "followers.", "registry.", "reconcile.followers")
SETTINGS_PREFIXES = ("settings.",)

# The rules a post can be refused by, as a governor would name them. A rule not listed here (one
# added later) is named by what it checks (policies.clauses.RULE_DEFAULTS), and a rule this
# Steward does not know (an event of another release) by its id.
RULE_NAMES = {
    "submission-format": "Not a post Steward can read",
    "media-files": "Missing or unusable pictures",
    "location-metadata": "Location data in pictures",
    "faces": "Faces in photos",
    "picture-size": "Pictures too large to check",
    "photo-consent": "Photo consent",
    "restricted-list": "Pupils who must never be shown",
    "hidden-characters": "Hidden characters",
    "pupil-names": "Pupils' names",
    "personal-data": "Personal information",
    "links": "Links",
    "platform-fit": "Too long, or too many pictures, for a platform",
    "alt-text": "Pictures without a description",
    "schedule": "Publishing time",
    "slt-approval": "SLT approval",
    "second-reader": "A second colleague's approval",
    "duplicate": "Already submitted",
    "internal-error": "Steward could not finish checking",
}
_WHAT_RULES_CHECK = {rule.id: rule.what for rule in RULE_DEFAULTS}


def rule_name(rule: str) -> str:
    """A rule as governors read it: `pupil-names` is "Pupils' names"."""
    if rule in RULE_NAMES:
        return RULE_NAMES[rule]
    what = _WHAT_RULES_CHECK.get(rule)
    return what[0].upper() + what[1:] if what else rule


@dataclass
class Tally:
    """The counts a report is drawn from, gathered in one pass over the events."""

    published_per_week: Counter = field(default_factory=Counter)
    refused_per_week: Counter = field(default_factory=Counter)
    published_submissions: set = field(default_factory=set)
    platform_posts: Counter = field(default_factory=Counter)
    refusals: int = 0
    refusals_by_rule: Counter = field(default_factory=Counter)
    refusals_by_clause: Counter = field(default_factory=Counter)
    moderation: dict = field(default_factory=lambda: defaultdict(Counter))
    follower_changes: list = field(default_factory=list)
    settings_changes: list = field(default_factory=list)
    handovers: list = field(default_factory=list)
    incidents: list = field(default_factory=list)
    outcomes: dict = field(default_factory=dict)  # incident number -> its latest outcome
    problems: Counter = field(default_factory=Counter)
    takedowns: list = field(default_factory=list)  # seconds from register change to removal
    spend_per_month: dict = field(default_factory=lambda: defaultdict(float))  # US$
    spend_per_operation: dict = field(default_factory=lambda: defaultdict(float))
    events: int = 0


def week_of(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday of the (school's local) week a moment falls in."""
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def tally(events: Iterable[dict[str, Any]], zone: ZoneInfo) -> Tally:
    """Count `events` (the school's time zone `zone` decides the weeks)."""
    counts = Tally()
    for entry in events:
        counts.events += 1
        name = entry.get("event", "")
        moment = event_time(entry)
        week = week_of(moment, zone) if moment else None
        if name == "post.published":
            counts.platform_posts[entry.get("platform", "?")] += 1
            submission = entry.get("submission") or entry.get("name")
            if submission not in counts.published_submissions:
                counts.published_submissions.add(submission)
                counts.published_per_week[week] += 1
        elif name == "submission.refused":
            counts.refusals += 1
            counts.refused_per_week[week] += 1
            counts.refusals_by_rule.update(entry.get("rules") or ["(unnamed)"])
            counts.refusals_by_clause.update(entry.get("clauses") or ["(none)"])
        elif name in MODERATION_EVENTS:
            counts.moderation[entry.get("platform", "?")][MODERATION_EVENTS[name]] += 1
        elif name.startswith(FOLLOWER_PREFIXES):
            counts.follower_changes.append(entry)
        elif name.startswith(SETTINGS_PREFIXES):
            counts.settings_changes.append(entry)
        elif name.startswith("handover."):
            counts.handovers.append(entry)
        elif name == "spend.daily":
            platform = entry.get("platform", "?")
            counts.spend_per_month[(platform, str(entry.get("day", "?"))[:7])] += float(
                entry.get("usd") or 0)
            for operation, usd in (entry.get("operations") or {}).items():
                counts.spend_per_operation[(platform, operation)] += float(usd or 0)
        elif name == "takedown.done":
            counts.takedowns.append(float(entry.get("seconds") or 0))
        elif name == "incident.recorded":
            counts.incidents.append(entry)
            counts.outcomes[entry.get("incident")] = "open"
        elif name == "incident.closed":
            counts.outcomes[entry.get("incident")] = (
                f"{entry.get('outcome', '')} (closed {_when(entry, zone)} by "
                f"{entry.get('by', '?')})")
        if name == "moderation.restored" and entry.get("incident"):
            undone = entry.get("undone") or []
            counts.outcomes[entry["incident"]] = "restored: wrongly flagged" + (
                f" ({', '.join(str(step) for step in undone)})" if undone else "")
        if entry.get("level") == "error":
            counts.problems[name] += 1
    return counts


def shown(value: Any) -> Any:
    """Every value the template writes, before autoescaping: text with each control, bidi or
    invisible character spelled out (`visible`); markup the template made itself left alone."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return visible(value)
    return value


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("daemon.audit", "templates"), autoescape=True,
                       finalize=shown, undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


# -- charts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shape:
    """One element of a chart, drawn in order: a `line` (x, y to x2, y2), a `text` at x, y, or
    a `rect` (a bar) with an optional tooltip. Numbers come formatted, so the page is stable."""

    kind: str
    x: str
    y: str
    colour: str = ""
    text: str = ""
    anchor: str = ""
    size: int = 11
    width: str = ""
    height: str = ""
    x2: str = ""
    y2: str = ""
    tooltip: str = ""


@dataclass(frozen=True)
class Chart:
    """An inline SVG chart: its title (read aloud by screen readers), size and shapes."""

    title: str
    width: int
    height: int
    shapes: list[Shape]


def grouped_bars(title: str, groups: list[tuple[str, list[int]]],
                 series: list[tuple[str, str]]) -> Chart:
    """A vertical grouped bar chart: `groups` are (label, one value per series), `series` are
    (name, colour). Crisp edges, so the colours are exact."""
    width, height, left, bottom, top = 760, 260, 40, 50, 30
    plot_height = height - bottom - top
    step = max(1, math.ceil(max([value for _, values in groups for value in values] + [1]) / 4))
    biggest = step * 4  # round ticks: 0, step, 2 step, 3 step, 4 step
    slot = (width - left - 10) / max(len(groups), 1)
    bar = max(2.0, min(28.0, (slot - 6) / max(len(series), 1)))
    shapes = [Shape("line", str(left), str(top + plot_height), "#555", x2=str(width - 10),
                    y2=str(top + plot_height))]
    for tick in range(0, 5):
        value = step * tick
        y = top + plot_height - plot_height * value / biggest
        shapes.append(Shape("text", str(left - 6), f"{y + 4:.0f}", text=str(value), anchor="end"))
    for index, (label, values) in enumerate(groups):
        x0 = left + index * slot + 3
        for number, value in enumerate(values):
            bar_height = plot_height * value / biggest
            shapes.append(Shape("rect", f"{x0 + number * bar:.1f}",
                                f"{top + plot_height - bar_height:.1f}", series[number][1],
                                width=f"{bar - 1:.1f}", height=f"{bar_height:.1f}",
                                tooltip=f"{label}: {value} {series[number][0]}"))
        if len(groups) <= 16 or index % max(1, len(groups) // 12) == 0:
            shapes.append(Shape("text", f"{x0 + slot / 2 - 3:.0f}", str(top + plot_height + 16),
                                text=label, anchor="middle"))
    for number, (name, colour) in enumerate(series):
        x = left + number * 190
        shapes += [Shape("rect", str(x), str(height - 18), colour, width="12", height="12"),
                   Shape("text", str(x + 17), str(height - 8), text=name, size=12)]
    return Chart(title, width, height, shapes)


def horizontal_bars(title: str, items: list[tuple[str, int]], colour: str) -> Chart:
    """One bar per item, longest first, labelled with its name and count."""
    row, label_width, width = 24, 300, 760
    height = row * max(len(items), 1) + 10
    biggest = max([value for _, value in items] + [1])
    shapes = []
    for index, (label, value) in enumerate(items):
        y = 5 + index * row
        length = (width - label_width - 60) * value / biggest
        shapes += [Shape("text", str(label_width - 8), str(y + 15), text=label, anchor="end",
                         size=12),
                   Shape("rect", str(label_width), str(y + 3), colour, width=f"{length:.1f}",
                         height="16"),
                   Shape("text", f"{label_width + length + 6:.0f}", str(y + 15), text=str(value),
                         size=12)]
    return Chart(title, width, height, shapes)


# -- the page ----------------------------------------------------------------------------------

STYLE = Markup("""
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 820px; margin: 2em auto;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; font-size: 1.25em;
border-bottom: 1px solid #ccc; }
.verified, .warning, .failed { padding: 0.8em 1em; border-radius: 4px; font-weight: bold; }
.verified { background: #e8f5e9; border: 2px solid #2e7d32; }
.warning { background: #fff8e1; border: 2px solid #f9a825; }
.failed { background: #ffebee; border: 2px solid #c62828; }
.next { background: #ffebee; padding: 0.6em 1em; border-left: 4px solid #c62828; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .muted { color: #666; font-size: 0.9em; }
.figures td:last-child { text-align: right; font-weight: bold; }
@media print { h2 { break-after: avoid; } svg { break-inside: avoid; } }
""")  # noqa: S704 - a constant of Steward's own, never anyone's text


def _when(entry: dict[str, Any], zone: ZoneInfo) -> str:
    moment = event_time(entry)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment else ""


def _weeks(counts: Tally, start: date | None, end: date | None) -> list[date]:
    known = [week for week in set(counts.published_per_week) | set(counts.refused_per_week)
             if week is not None]
    if not known and not (start and end):
        return []
    first = start - timedelta(days=start.weekday()) if start else min(known)
    last = end - timedelta(days=end.weekday()) if end else max(known)
    if known:
        first, last = min(first, min(known)), max(last, max(known))
    weeks: list[date] = []
    week = first
    while week <= last and len(weeks) < 160:
        weeks.append(week)
        week += timedelta(days=7)
    return weeks


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def takedown_figure(durations: list[float]) -> str:
    """`2 takedowns, each within 1 min (the longest 40 s)`: consent takedowns finished."""
    if not durations:
        return "none"
    ordered = sorted(durations)
    middle = ordered[len(ordered) // 2]
    return (f"{len(ordered)} takedown{'s' if len(ordered) != 1 else ''}: typically "
            f"{_duration(middle)}, the longest {_duration(ordered[-1])} (a withdrawal "
            "includes its grace period)")


def render_report(events: Iterable[dict[str, Any]], verification: ChainReport, *,
                  school: str, zone: ZoneInfo, generated: datetime,
                  since: datetime | None = None, until: datetime | None = None,
                  clauses: ClauseCatalogue = DEFAULT_CATALOGUE) -> str:
    """The report on `events` as one HTML page. `clauses` is the school's clause catalogue:
    refusals are shown with its clauses' titles and texts (a clause it does not hold, from
    events written under another catalogue, is shown by its id alone)."""
    counts = tally(events, zone)
    period_start = since.astimezone(zone).date() if since else None
    period_end = (until.astimezone(zone) - timedelta(seconds=1)).date() if until else None
    weeks = _weeks(counts, period_start, period_end)
    figures = [
        ("Posts published", len(counts.published_submissions)),
        ("of which on each platform", ", ".join(
            f"{platform} {number}" for platform, number in
            sorted(counts.platform_posts.items())) or "none"),
        ("Posts refused before publication", counts.refusals),
        ("Moderation actions", sum(sum(c.values()) for c in counts.moderation.values())),
        ("Incidents logged", len(counts.incidents)),
        ("Follower and following changes", len(counts.follower_changes)),
        ("Privacy settings found changed (a person sets them back)", len(counts.settings_changes)),
        ("Handover steps", len(counts.handovers)),
        ("Posts taken down for consent (from the register's change to removal)",
         takedown_figure(counts.takedowns)),
        ("Errors needing an administrator", sum(counts.problems.values()))]
    if counts.spend_per_month:  # X bills per call: what the platforms cost, month by month
        figures.append(("Platform API spend (US$)", "; ".join(
            f"{platform} {month} ${usd:.2f}" for (platform, month), usd in
            sorted(counts.spend_per_month.items()))))
        figures.append(("Dearest operations (US$)", ", ".join(
            f"{platform} {operation} ${usd:.2f}" for (platform, operation), usd in
            sorted(counts.spend_per_operation.items(), key=lambda item: -item[1])[:5])))
    weekly = grouped_bars("Posts published and refused per week",
                          [(f"{week:%d %b}", [counts.published_per_week.get(week, 0),
                                              counts.refused_per_week.get(week, 0)])
                           for week in weeks],
                          [("published", PUBLISHED_COLOUR), ("refused", REFUSED_COLOUR)])
    by_clause = []
    for clause_id, number in counts.refusals_by_clause.most_common():
        clause = clauses.clauses.get(str(clause_id))
        by_clause.append([clause_id, clause.title if clause else "", number,
                          clause.citation() if clause else ""])
    return _environment().get_template("report.html.j2").render(
        school=school, style=STYLE, counts=counts, verification=verification,
        period=f"{period_start or 'the start of the log'} to {period_end or 'now'}",
        written=f"{generated.astimezone(zone):%Y-%m-%d %H:%M}", zone=str(zone),
        anchor=_anchor(verification), figures=figures, weekly=weekly if weeks else None,
        verdict=plain_verdict(verification),
        by_rule=horizontal_bars("Refusals by rule", [
            (rule_name(str(rule)), number) for rule, number in
            counts.refusals_by_rule.most_common()], REFUSED_COLOUR)
        if counts.refusals_by_rule else None,
        by_clause=by_clause, moderation=_moderation(counts),
        incidents=[[e.get("incident", ""), _when(e, zone), e.get("platform", ""),
                    e.get("nature", ""), e.get("action_taken", ""),
                    ", ".join(e.get("reported_to") or [])
                    if isinstance(e.get("reported_to"), list) else e.get("reported_to", ""),
                    counts.outcomes.get(e.get("incident"), "open"),
                    str(e.get("evidence_sha256") or "")[:16]]
                   for e in counts.incidents],
        followers=_event_rows(counts.follower_changes, zone),
        settings=_event_rows(counts.settings_changes, zone),
        handovers=_event_rows(counts.handovers, zone))


def _anchor(verification: ChainReport) -> dict[str, str] | None:
    """The latest signed checkpoint, for the reader to keep: a copy of this report held off
    the machine is an anchor no one on it can change. A later report, or `steward audit
    verify`, on a log that no longer holds this checkpoint shows the log lost events."""
    sealed = verification.last_checkpoint
    if not verification.intact or sealed is None:
        return None
    from daemon.audit.chain import checkpoint_name  # noqa: PLC0415

    return {"name": checkpoint_name(sealed["seq"], verification.last_checkpoint_hash or ""),
            "signed": str(sealed["timestamp"])}


def _moderation(counts: Tally) -> dict[str, Any] | None:
    """The moderation chart and table (actions per platform), or None if there were none."""
    if not counts.moderation:
        return None
    kinds = sorted({kind for per in counts.moderation.values() for kind in per})
    platforms = sorted(counts.moderation)
    return {"chart": horizontal_bars("Moderation actions per platform",
                                     [(f"{platform}: {kind}", counts.moderation[platform][kind])
                                      for platform in platforms for kind in kinds
                                      if counts.moderation[platform][kind]], ACTION_COLOUR),
            "kinds": kinds,
            "rows": [[platform, *(counts.moderation[platform][kind] for kind in kinds)]
                     for platform in platforms]}


def _event_rows(entries: list[dict[str, Any]], zone: ZoneInfo) -> list[list[str]]:
    """The latest 200 events of a kind: when, which event, what happened."""
    return [[_when(e, zone), e.get("event", ""), summary(e)] for e in entries[-200:]]
