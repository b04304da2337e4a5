"""A trust's view of its schools: `steward trust status` and `steward trust report --html`.

Built only from what each school's instance signed: for each school, its audit log is
verified with that school's own public key (the one its administrator installed as
/etc/steward/NAME/audit-signing.pub) and no other, and only the events sealed by the last
checkpoint that key signed are counted; events after it (the open tail of a running
instance) are left out and said to be. Nothing else of a school is opened: not its
configuration, database, vault, escrow or signing key, so a school's secrets never leave its
instance, and one school's broken or missing log is that school's line in the report, never
a reason the others are not shown. Everything here only reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.schools import CONFIG_ROOT, STATE_ROOT, school_name_problem
from daemon.audit.chain import checkpoint_name
from daemon.audit.reading import read_events
from daemon.audit.report import STYLE, Tally, _environment, takedown_figure, tally
from daemon.audit.verification import ChainReport, verify_chain
from daemon.runtime.clock import Clock

PUBLIC_KEY_NAME = "audit-signing.pub"


@dataclass(frozen=True)
class SchoolPlace:
    """Where a trust's reader finds one school's record: its audit log and its public key."""

    school: str
    state_dir: Path
    public_key_file: Path


@dataclass
class SchoolRecord:
    """What one school's signed record says."""

    school: str
    verified: bool
    verdict: str  # one sentence: verified (and how far), or why not
    last_checkpoint: str = ""  # the checkpoint's name and time, for the reader to keep
    last_signed: datetime | None = None
    unsigned_tail: int = 0
    tampering: int = 0
    counts: Tally = field(default_factory=Tally)

    def figures(self) -> list[tuple[str, Any]]:
        """The figures a trust's safeguarding and governance leads compare across schools."""
        counts = self.counts
        open_incidents = sum(1 for outcome in counts.outcomes.values() if outcome == "open")
        return [
            ("posts published", len(counts.published_submissions)),
            ("posts refused", counts.refusals),
            ("moderation actions", sum(sum(c.values()) for c in counts.moderation.values())),
            ("incidents", len(counts.incidents)),
            ("incidents still open", open_incidents),
            ("consent takedowns", takedown_figure(counts.takedowns)),
            ("errors needing an administrator", sum(counts.problems.values()))]


def discover(config_root: Path = CONFIG_ROOT, state_root: Path = STATE_ROOT) -> list[SchoolPlace]:
    """The trust's schools: every folder of `config_root` or `state_root` whose name is a
    school's (config.schools), sorted by name. Folders with other names are not schools."""
    names: set[str] = set()
    for root in (config_root, state_root):
        try:
            names.update(entry.name for entry in root.iterdir()
                         if entry.is_dir() and school_name_problem(entry.name) is None)
        except OSError:
            continue
    return [SchoolPlace(name, state_root / name, config_root / name / PUBLIC_KEY_NAME)
            for name in sorted(names)]


def _public_key(place: SchoolPlace) -> str | None:
    try:
        text = place.public_key_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def read_school(place: SchoolPlace) -> SchoolRecord:
    """Verify one school's log with its own key and count what its checkpoints seal. Never
    raises for a school's fault: that is the record's verdict."""
    key = _public_key(place)
    if key is None:
        return SchoolRecord(place.school, False, (
            f"not verified: there is no readable public key at {place.public_key_file} (the "
            f"school's administrator installs it: sudo steward --school {place.school} admin "
            f"audit pubkey | sudo tee {place.public_key_file})"))
    try:
        report = verify_chain([place.state_dir], [key], open_tail=True)
    except (OSError, ValueError) as error:
        return SchoolRecord(place.school, False, f"not verified: the log cannot be read ({error})")
    return _record(place, report)


def _record(place: SchoolPlace, report: ChainReport) -> SchoolRecord:
    sealed = report.last_checkpoint
    if report.problem is not None:
        return SchoolRecord(place.school, False, f"NOT VERIFIED: {report.problem.describe()}",
                            tampering=len(report.tampering))
    if sealed is None:
        return SchoolRecord(place.school, False, "nothing signed yet: the log holds no signed "
                            "checkpoint (the school's Steward has not run, or its log is empty)")
    limit = int(sealed["seq"])  # the checkpoint seals every event before it
    events = [entry for entry in read_events(report.files)
              if isinstance(entry.get("seq"), int) and entry["seq"] < limit]
    counts = tally(events, ZoneInfo("UTC"))
    when = _moment(str(sealed.get("timestamp", "")))
    return SchoolRecord(
        place.school, True,
        f"verified with the school's own key: {limit} events sealed by "
        f"{len(report.files)} file(s)" + (
            f"; {report.uncovered} newer events not yet signed, left out"
            if report.uncovered else ""),
        last_checkpoint=f"{checkpoint_name(sealed['seq'], report.last_checkpoint_hash or '')}"
                        f" at {sealed.get('timestamp', '?')}",
        last_signed=when, unsigned_tail=report.uncovered, tampering=len(report.tampering),
        counts=counts)


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_trust(places: Iterable[SchoolPlace]) -> list[SchoolRecord]:
    """Every school's record, one school's fault never stopping another's."""
    return [read_school(place) for place in places]


def status_lines(records: list[SchoolRecord], now: datetime) -> list[str]:
    """`steward trust status`: one paragraph per school."""
    if not records:
        return ["no schools found (each school is a folder /etc/steward/NAME with its "
                "audit-signing.pub, and /var/lib/steward/NAME)"]
    lines = []
    for record in records:
        lines.append(f"{record.school}: {record.verdict}")
        if record.last_checkpoint:
            age = _age(record.last_signed, now)
            lines.append(f"  last signed: {record.last_checkpoint}{age}")
        if record.tampering:
            lines.append(f"  TAMPERING was detected {record.tampering} time(s): see "
                         f"`steward --school {record.school} audit verify`")
        if record.verified:
            lines.append("  " + "; ".join(f"{name} {value}" for name, value in
                                          record.figures()))
    return lines


def _age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    hours = (now - moment).total_seconds() / 3600
    return f" ({hours:.0f} h ago)" if hours >= 1 else " (within the hour)"


def render_trust_report(records: list[SchoolRecord], *, trust: str,
                        generated: datetime) -> str:
    """The trust's report as one self-contained HTML page (templates/trust.html.j2)."""
    names = [name for name, _ in (records[0].figures() if records else [])]
    return _environment().get_template("trust.html.j2").render(
        trust=trust, style=STYLE, records=records, names=names,
        written=f"{generated.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        rows=[[record.school, "yes" if record.verified else "NO",
               *(value for _, value in record.figures())] if record.verified
              else [record.school, "NO", *("" for _ in names)] for record in records],
        ages={record.school: _age(record.last_signed, generated) for record in records})


def now() -> datetime:
    """The time a trust command runs (the one clock)."""
    return Clock().now()
