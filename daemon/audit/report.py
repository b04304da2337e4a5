"""`steward audit report --html`: one self-contained HTML page a governor can open and read.

What Steward did over a period, from the audit log alone: posts published and refused per
week, refusals by rule and policy clause, moderation actions per platform, follower and settings
changes, handovers and incidents, with inline SVG charts and the verification result at the top.
No scripts, no external files, nothing fetched: it opens the same from a USB stick in ten years.
The audit log holds no children's names, post text or abusive content, so neither does this.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape as html_escape
from typing import Any
from zoneinfo import ZoneInfo

from daemon.audit.reading import event_time, summary, visible
from daemon.audit.verification import ChainReport
from policies.clauses import DEFAULT_CATALOGUE

PUBLISHED_COLOUR = "#1b5e20"  # the screenshot test looks for these exact colours
REFUSED_COLOUR = "#b71c1c"
ACTION_COLOUR = "#0d47a1"
MODERATION_EVENTS = {"reply.hidden": "replies hidden", "reply.deleted": "replies deleted",
                     "user.blocked": "authors blocked", "user.muted": "authors muted",
                     "user.dm_blocked": "direct messages blocked",
                     "moderation.restored": "actions undone"}
FOLLOWER_PREFIXES = ("follower.", "following.", "followers.", "registry.", "reconcile.followers")
SETTINGS_PREFIXES = ("settings.",)


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
    problems: Counter = field(default_factory=Counter)
    events: int = 0


def week_of(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday of the (school's local) week a moment falls in."""
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def tally(events: Iterable[dict[str, Any]], zone: ZoneInfo) -> Tally:
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
        elif name == "incident.recorded":
            counts.incidents.append(entry)
        if entry.get("level") == "error":
            counts.problems[name] += 1
    return counts


def escape(text: Any) -> str:
    """Text for the page: HTML-escaped, and with every control, bidi or invisible character
    spelled out (`audit_reading.visible`): names and handles come from outside Steward."""
    return html_escape(visible(text))


# -- charts ------------------------------------------------------------------------------------

def grouped_bars(title: str, groups: list[tuple[str, list[int]]],
                 series: list[tuple[str, str]]) -> str:
    """A vertical grouped bar chart: `groups` are (label, one value per series), `series` are
    (name, colour). Crisp edges, so the colours are exact."""
    width, height, left, bottom, top = 760, 260, 40, 50, 30
    plot_height = height - bottom - top
    step = max(1, math.ceil(max([value for _, values in groups for value in values] + [1]) / 4))
    biggest = step * 4  # round ticks: 0, step, 2 step, 3 step, 4 step
    slot = (width - left - 10) / max(len(groups), 1)
    bar = max(2.0, min(28.0, (slot - 6) / max(len(series), 1)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'shape-rendering="crispEdges" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 10}" '
             f'y2="{top + plot_height}" stroke="#555"/>']
    for tick in range(0, 5):
        value = step * tick
        y = top + plot_height - plot_height * value / biggest
        parts.append(f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end" '
                     f'font-size="11">{value}</text>')
    for index, (label, values) in enumerate(groups):
        x0 = left + index * slot + 3
        for number, value in enumerate(values):
            bar_height = plot_height * value / biggest
            parts.append(f'<rect x="{x0 + number * bar:.1f}" '
                         f'y="{top + plot_height - bar_height:.1f}" width="{bar - 1:.1f}" '
                         f'height="{bar_height:.1f}" fill="{series[number][1]}">'
                         f"<title>{escape(label)}: {value} {escape(series[number][0])}"
                         "</title></rect>")
        if len(groups) <= 16 or index % max(1, len(groups) // 12) == 0:
            parts.append(f'<text x="{x0 + slot / 2 - 3:.0f}" y="{top + plot_height + 16}" '
                         f'text-anchor="middle" font-size="11">{escape(label)}</text>')
    for number, (name, colour) in enumerate(series):
        x = left + number * 190
        parts.append(f'<rect x="{x}" y="{height - 18}" width="12" height="12" '
                     f'fill="{colour}"/><text x="{x + 17}" y="{height - 8}" '
                     f'font-size="12">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(title: str, items: list[tuple[str, int]], colour: str) -> str:
    """One bar per item, longest first, labelled with its name and count."""
    row, label_width, width = 24, 300, 760
    height = row * max(len(items), 1) + 10
    biggest = max([value for _, value in items] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'shape-rendering="crispEdges" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for index, (label, value) in enumerate(items):
        y = 5 + index * row
        length = (width - label_width - 60) * value / biggest
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" '
                     f'font-size="12">{escape(label)}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="16" '
                     f'fill="{colour}"/><text x="{label_width + length + 6:.0f}" y="{y + 15}" '
                     f'font-size="12">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the page ----------------------------------------------------------------------------------

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 820px; margin: 2em auto;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; font-size: 1.25em;
border-bottom: 1px solid #ccc; }
.verified, .failed { padding: 0.8em 1em; border-radius: 4px; font-weight: bold; }
.verified { background: #e8f5e9; border: 2px solid #2e7d32; }
.failed { background: #ffebee; border: 2px solid #c62828; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .muted { color: #666; font-size: 0.9em; }
.figures td:last-child { text-align: right; font-weight: bold; }
@media print { h2 { break-after: avoid; } svg { break-inside: avoid; } }
"""


def _table(headings: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


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
    weeks, week = [], first
    while week <= last and len(weeks) < 160:
        weeks.append(week)
        week += timedelta(days=7)
    return weeks


def render_report(events: Iterable[dict[str, Any]], verification: ChainReport, *,
                  school: str, zone: ZoneInfo, generated: datetime,
                  since: datetime | None = None, until: datetime | None = None) -> str:
    counts = tally(events, zone)
    period_start = since.astimezone(zone).date() if since else None
    period_end = (until.astimezone(zone) - timedelta(seconds=1)).date() if until else None
    period = (f"{period_start or 'the start of the log'} to {period_end or 'now'}")
    weeks = _weeks(counts, period_start, period_end)
    verdict_class = "verified" if verification.intact else "failed"
    written = f"{generated.astimezone(zone):%Y-%m-%d %H:%M}"
    sections = [
        f"<h1>What Steward did: {escape(school)}</h1>",
        f'<p class="muted">From {escape(period)}. Written {written} ({escape(str(zone))}) '
        f"from the audit log alone: {counts.events} events.</p>",
        f'<p class="{verdict_class}" id="verification">{escape(verification.headline())}</p>',
        _anchor_paragraph(verification),
        *(f'<p class="muted">{escape(note)}</p>' for note in verification.notes),
        "<h2>In figures</h2>",
        '<table class="figures">' + "".join(
            f"<tr><td>{escape(label)}</td><td>{value}</td></tr>" for label, value in [
                ("Posts published", len(counts.published_submissions)),
                ("of which on each platform", ", ".join(
                    f"{platform} {number}" for platform, number in
                    sorted(counts.platform_posts.items())) or "none"),
                ("Posts refused before publication", counts.refusals),
                ("Moderation actions", sum(sum(c.values()) for c in counts.moderation.values())),
                ("Incidents logged", len(counts.incidents)),
                ("Follower and following changes", len(counts.follower_changes)),
                ("Privacy settings changes and repairs", len(counts.settings_changes)),
                ("Handover steps", len(counts.handovers)),
                ("Errors needing an administrator", sum(counts.problems.values()))]) +
        "</table>",
        "<h2>Posts published and refused, per week</h2>",
        grouped_bars("Posts published and refused per week",
                     [(f"{week:%d %b}", [counts.published_per_week.get(week, 0),
                                         counts.refused_per_week.get(week, 0)])
                      for week in weeks],
                     [("published", PUBLISHED_COLOUR), ("refused", REFUSED_COLOUR)])
        if weeks else '<p class="muted">No posts in this period.</p>',
        "<h2>Why posts were refused</h2>",
        "<p>Every refusal names the school policy it enforces; the person who submitted the "
        "post was told why.</p>",
        horizontal_bars("Refusals by rule", counts.refusals_by_rule.most_common(),
                        REFUSED_COLOUR) if counts.refusals_by_rule else "",
        _table(["Policy clause", "Refusals", "What it says"],
               [[clause, number, DEFAULT_CATALOGUE.clauses[clause].citation()
                if clause in DEFAULT_CATALOGUE.clauses else ""]
                for clause, number in counts.refusals_by_clause.most_common()],
               "No post was refused in this period."),
        "<h2>Moderation of replies and comments</h2>",
        *_moderation(counts),
        "<h2>Incidents</h2>",
        _table(["Incident", "When", "Platform", "Nature", "Action taken", "Reported to",
                "Evidence (SHA-256, first 16)"],
               [[e.get("incident", ""), _when(e, zone), e.get("platform", ""),
                 e.get("nature", ""), e.get("action_taken", ""),
                 ", ".join(e.get("reported_to") or [])
                 if isinstance(e.get("reported_to"), list) else e.get("reported_to", ""),
                 str(e.get("evidence_sha256") or "")[:16]]
                for e in counts.incidents],
               "No incident was logged in this period. (`steward incidents export --csv` gives "
               "the full eSafety incident log.)"),
        "<h2>Followers and following</h2>",
        _event_table(counts.follower_changes, zone, "No follower changes in this period."),
        "<h2>Privacy settings</h2>",
        _event_table(counts.settings_changes, zone, "No settings changes in this period."),
        "<h2>Handovers between administrators</h2>",
        _event_table(counts.handovers, zone, "No handover in this period."),
        '<p class="muted">Check this report\'s source yourself: <code>steward audit verify '
        "--key PUBLIC-KEY</code> on the log files, with the key Steward's administrator "
        "handed over (<code>steward audit pubkey</code>).</p>",
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<title>Steward report: {escape(school)}</title><style>{STYLE}</style></head>"
            "<body>" + "\n".join(part for part in sections if part) + "</body></html>\n")


def _anchor_paragraph(verification: ChainReport) -> str:
    """The latest signed checkpoint, for the reader to keep: a copy of this report held off
    the machine is an anchor no one on it can change. A later report, or `steward audit
    verify`, on a log that no longer holds this checkpoint shows the log lost events."""
    sealed = verification.last_checkpoint
    if not verification.intact or sealed is None:
        return ""
    from daemon.audit.chain import checkpoint_name  # noqa: PLC0415

    name = checkpoint_name(sealed["seq"], verification.last_checkpoint_hash or "")
    return (f'<p id="anchor"><strong>Keep this figure:</strong> the latest signed checkpoint is '
            f"{escape(name)}, signed {escape(str(sealed['timestamp']))}. Every later report "
            "must show a log that still holds it, at that number with that hash; one that does "
            "not means events were removed.</p>")


def _moderation(counts: Tally) -> list[str]:
    if not counts.moderation:
        return ['<p class="muted">No moderation action in this period.</p>']
    kinds = sorted({kind for per in counts.moderation.values() for kind in per})
    platforms = sorted(counts.moderation)
    return [horizontal_bars("Moderation actions per platform",
                            [(f"{platform}: {kind}", counts.moderation[platform][kind])
                             for platform in platforms for kind in kinds
                             if counts.moderation[platform][kind]], ACTION_COLOUR),
            _table(["Platform", *kinds],
                   [[platform, *(counts.moderation[platform][kind] for kind in kinds)]
                    for platform in platforms], "")]


def _event_table(entries: list[dict[str, Any]], zone: ZoneInfo, empty: str) -> str:
    return _table(["When", "Event", "What happened"],
                  [[_when(e, zone), e.get("event", ""), summary(e)] for e in entries[-200:]],
                  empty)
