"""A trust's view of its schools: `steward trust status` and `steward trust report --html`.

Built only from what each school's instance signed: for each school, its audit log is
verified with that school's own public key (the one its administrator installed as
/etc/steward/NAME/audit-signing.pub) and no other, and only the events sealed by the last
checkpoint that key signed are counted; events after it (the open tail of a running
instance) are left out and said to be. Nothing else of a school is opened: not its
configuration, database, vault, escrow or signing key, so a school's secrets never leave its
instance, and one school's broken or missing log is that school's line in the report, never
a reason the others are not shown. Everything here only reads.

A school's state directory is written by that school's service, so what is in it is treated
as hostile: a log file that is a symbolic link (to another school's vault, to /dev/zero), a
FIFO or anything but a regular file is that school's verdict, not read; an event its own key
signed that no Steward writes is its verdict, not a fault that hides every school; what is
shown is escaped, so a school's text cannot move the terminal's cursor over another school's
line. Run as root (`sudo steward trust status`), each school's log is read in a child process
with that school's own user and group (the state directory's owner), so that a link swapped
in between the check and the read reaches nothing the school could not read itself.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.schools import CONFIG_ROOT, STATE_ROOT, school_name_problem
from daemon.audit.chain import ARCHIVE_FOLDER, checkpoint_name
from daemon.audit.reading import read_events
from daemon.audit.report import STYLE, Tally, _environment, takedown_figure, tally
from daemon.audit.verification import ChainReport, verify_chain
from daemon.runtime.clock import Clock
from policies.displayed_text import visible

PUBLIC_KEY_NAME = "audit-signing.pub"
# A school's log is read at about 350,000 lines a second: a child reading for longer than this
# is stuck (a FIFO swapped in after the check), and is stopped so the other schools are shown.
READING_LIMIT_SECONDS = 15 * 60


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
    numbers: list[tuple[str, Any]] | None = None  # the figures, when read by a child process

    def figures(self) -> list[tuple[str, Any]]:
        """The figures a trust's safeguarding and governance leads compare across schools."""
        if self.numbers is not None:
            return list(self.numbers)
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
    except PermissionError:
        raise
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a folder" if stat.S_ISDIR(mode) else "not a regular file"


def unsafe_files(state_dir: Path) -> str | None:
    """Why the school's log files cannot be read as its own: the first that is not a regular
    file of the state directory (or a folder where a folder belongs), in a sentence; None when
    every one is. Nothing is followed and nothing is opened."""
    wanted = [(state_dir, True), (state_dir / ARCHIVE_FOLDER, True)]
    for folder in (state_dir, state_dir / ARCHIVE_FOLDER):
        try:
            names = sorted(os.listdir(folder)) if stat.S_ISDIR(os.lstat(folder).st_mode) else []
        except OSError:
            names = []
        wanted += [(folder / name, False) for name in names if name.endswith(".jsonl")]
    for path, is_folder in wanted:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue  # absent, or closed to this reader: reading it says so
        if stat.S_ISDIR(mode) if is_folder else stat.S_ISREG(mode):
            continue
        return (f"{path} is {_kind(mode)}, where Steward keeps "
                f"{'a folder' if is_folder else 'a regular file of the log'}: a school's record "
                "is only its own files, so it was not read")
    return None


def read_school(place: SchoolPlace) -> SchoolRecord:
    """Verify one school's log with its own key and count what its checkpoints seal. Never
    raises for a school's fault: that is the record's verdict."""
    try:
        key = _public_key(place)
    except PermissionError:
        return SchoolRecord(place.school, False, (
            f"not read: {place.public_key_file} is closed to you (the school's folders are "
            f"its own): run `sudo steward trust ...`, or ask to join the group "
            f"steward-{place.school}, as a single school's auditor is"))
    if key is None:
        return SchoolRecord(place.school, False, (
            f"not verified: there is no readable public key at {place.public_key_file} (the "
            f"school's administrator installs it: sudo steward --school {place.school} admin "
            f"audit pubkey | sudo tee {place.public_key_file})"))
    problem = unsafe_files(place.state_dir)
    if problem is not None:
        return SchoolRecord(place.school, False, f"NOT VERIFIED: {problem}")
    return _as_the_school(place, lambda: _verified(place, key))


def _verified(place: SchoolPlace, key: str) -> SchoolRecord:
    try:
        report = verify_chain([place.state_dir], [key], open_tail=True)
    except OSError as error:
        return SchoolRecord(place.school, False, "not verified: the log cannot be read "
                            f"({error.strerror or error})")
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError):
        return SchoolRecord(place.school, False, "NOT VERIFIED: the log holds a line Steward "
                            f"does not write; `steward --school {place.school} audit verify` "
                            "says which")
    try:
        return _record(place, report)
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError):
        # Its own key signed it, so the school's Steward wrote it, or whoever holds that key:
        # either way, that school's record, not a reason the others go unseen.
        return SchoolRecord(place.school, False, (
            "NOT COUNTED: the log verified with the school's own key, but holds an event that "
            "Steward does not write (a field of the wrong kind); ask the school's administrator "
            f"to run `steward --school {place.school} audit verify` and `audit show`"))


def _as_the_school(place: SchoolPlace, work: Callable[[], SchoolRecord]) -> SchoolRecord:
    """`work()`, run with no more rights than the school's own service when this is root: in
    a child process with the state directory owner's user and group."""
    try:
        owner = os.lstat(place.state_dir)
    except OSError:
        return work()
    if os.geteuid() != 0 or owner.st_uid == 0:
        return work()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - measured in the parent, by what comes back
        code = 1
        try:
            os.close(reading)
            signal.alarm(READING_LIMIT_SECONDS)
            os.setgroups([])
            os.setgid(owner.st_gid)
            os.setuid(owner.st_uid)
            answer = json.dumps(_as_json(work())).encode("utf-8")
            with os.fdopen(writing, "wb") as out:
                out.write(answer)
            code = 0
        finally:
            os._exit(code)
    os.close(writing)
    with os.fdopen(reading, "rb") as answer_in:
        answer = answer_in.read()
    _, status = os.waitpid(child, 0)
    try:
        if os.waitstatus_to_exitcode(status) != 0:
            raise ValueError(status)
        return _from_json(place.school, json.loads(answer))
    except (ValueError, TypeError, KeyError):
        stopped = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM
        return SchoolRecord(place.school, False, "not verified: " + (
            f"reading the log took longer than {READING_LIMIT_SECONDS // 60} minutes, and was "
            "stopped" if stopped else "the log could not be read as the school's own user "
            f"(uid {owner.st_uid})"))


def _as_json(record: SchoolRecord) -> dict[str, Any]:
    return {"verified": record.verified, "verdict": record.verdict,
            "last_checkpoint": record.last_checkpoint,
            "last_signed": record.last_signed.isoformat() if record.last_signed else None,
            "unsigned_tail": record.unsigned_tail, "tampering": record.tampering,
            "numbers": [[name, value] for name, value in record.figures()]}


def _from_json(school: str, answer: dict[str, Any]) -> SchoolRecord:
    numbers = [(str(name), value if isinstance(value, int) else str(value))
               for name, value in answer["numbers"]]
    signed = answer["last_signed"]
    return SchoolRecord(school, answer["verified"] is True, str(answer["verdict"]),
                        last_checkpoint=str(answer["last_checkpoint"]),
                        last_signed=datetime.fromisoformat(signed) if signed else None,
                        unsigned_tail=int(answer["unsigned_tail"]),
                        tampering=int(answer["tampering"]), numbers=numbers)


def _record(place: SchoolPlace, report: ChainReport) -> SchoolRecord:
    sealed = report.last_checkpoint
    if report.problem is not None:
        return SchoolRecord(place.school, False, f"NOT VERIFIED: {report.problem.describe()}",
                            tampering=len(report.tampering))
    if sealed is None:
        return SchoolRecord(place.school, False, "nothing signed yet: the log holds no signed "
                            "checkpoint (the school's Steward has not run, or its log is empty)")
    limit = int(sealed["seq"])  # the checkpoint seals every event before it
    events = (entry for entry in read_events(report.files)  # one at a time: logs can be huge
              if type(entry.get("seq")) is int and entry["seq"] < limit)
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
    records = []
    for place in places:
        try:
            records.append(read_school(place))
        except Exception as error:  # noqa: BLE001 - one school's fault is that school's line
            records.append(SchoolRecord(place.school, False, (
                f"not verified: reading this school's log met a fault in Steward "
                f"({type(error).__name__}); `steward --school {place.school} audit verify` "
                "says more")))
    return records


def status_lines(records: list[SchoolRecord], now: datetime) -> list[str]:
    """`steward trust status`: one paragraph per school."""
    if not records:
        return ["no schools found (each school is a folder /etc/steward/NAME with its "
                "audit-signing.pub, and /var/lib/steward/NAME)"]
    lines = []
    for record in records:
        lines.append(f"{record.school}: {visible(record.verdict)}")
        if record.last_checkpoint:
            age = _age(record.last_signed, now)
            lines.append(f"  last signed: {visible(record.last_checkpoint)}{age}")
        if record.tampering:
            lines.append(f"  TAMPERING was detected {record.tampering} time(s): see "
                         f"`steward --school {record.school} audit verify`")
        if record.verified:
            lines.append("  " + "; ".join(f"{name} {visible(value)}" for name, value in
                                          record.figures()))
    return lines  # a school's text is escaped: it cannot rewrite another school's line


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
