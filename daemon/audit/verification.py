"""Checking an audit log as an outsider would: the chain, the numbering, the signatures, and
whether the log was cut short.

`verify_chain` takes files and folders (a state directory, an `audit-archive/` folder, or files
an auditor copied), orders them by where each begins in the chain, and walks every line. It
stops at the first problem and names the file, the line and what is wrong, in words an auditor
can act on. It only reads.

Given Steward's anchor (`daemon.audit.anchor`: the last checkpoint the daemon recorded in its
database), it also checks the log still holds that checkpoint, at that place, with that hash:
a log cut back to an earlier checkpoint, rewritten without checkpoints, or deleted, has a
perfect chain but not that line. And it reports every `audit.tampering_detected` event: a
writer that found its file shrunk, rewritten, replaced or deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from daemon.audit.chain import (
    ARCHIVE_FOLDER,
    CHECKPOINT_EVENT,
    GENESIS,
    LONGEST_LINE,
    RETIRED_EVENT,
    TAMPERING_EVENT,
    checkpoint_message,
    checkpoint_name,
    key_fingerprint,
    line_hash,
    log_files,
    split_line,
)

if TYPE_CHECKING:
    from daemon.audit.anchor_record import AuditAnchor


@dataclass(frozen=True)
class Problem:
    """The first thing wrong: where, and what."""

    file: Path
    line: int | None
    message: str

    def describe(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else f"{self.file}"
        return f"{where}: {self.message}"


@dataclass
class ChainReport:
    """What verification found."""

    files: list[Path] = field(default_factory=list)
    events: int = 0
    checkpoints: int = 0
    last_checkpoint: dict[str, Any] | None = None
    last_checkpoint_hash: str | None = None
    uncovered: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    anchor: AuditAnchor | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def headline(self) -> str:
        """One sentence for the top of a report."""
        if self.problem:
            return f"NOT VERIFIED: {self.problem.describe()}"
        sealed = self.last_checkpoint
        tail = f"; {self.uncovered} newer events not yet signed (open tail)" \
            if self.uncovered else ""
        anchored = f"; it holds Steward's anchored {self.anchor.describe()}" \
            if self.anchor else ""
        tampered = (f". BUT TAMPERING WAS DETECTED {len(self.tampering)} time(s), and the "
                    "log put back whole: see below") if self.tampering else ""
        return (f"VERIFIED: {self.events} events in {len(self.files)} file(s), chain unbroken, "
                f"{self.checkpoints} signed checkpoint(s), the last "
                f"{checkpoint_name(sealed['seq'], self.last_checkpoint_hash or '')} at "
                f"{sealed['timestamp']}, sealing the chain head {sealed['prev'][:16]}…{tail}"
                f"{anchored}{tampered}"
                if sealed else "VERIFIED: the log is empty")

    def describe(self) -> str:
        return "\n".join([self.headline(), *(f"TAMPERING: {found}" for found in self.tampering),
                          *(f"note: {note}" for note in self.notes)])


def gather_files(paths: list[Path]) -> list[Path]:
    """Expand folders: a state directory into its archive and live log, any other folder into
    its `*.jsonl` files. The same file reached twice (a hard link) counts once."""
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for path in paths:
        if not path.is_dir():
            candidates = [path]
        elif (path / "audit.jsonl").exists() or (path / ARCHIVE_FOLDER).is_dir():
            candidates = log_files(path)
        else:
            candidates = sorted(path.glob("*.jsonl"))
        for candidate in candidates:
            status = os.stat(candidate)
            if (status.st_dev, status.st_ino) not in seen:
                seen.add((status.st_dev, status.st_ino))
                found.append(candidate)
    return found


def _first_line(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        line = handle.readline(LONGEST_LINE).rstrip("\n")
    parts = split_line(line)
    try:
        entry = json.loads(parts[0]) if parts else {}
    except ValueError:
        entry = {}
    return entry if isinstance(entry, dict) else {}


def ordered_files(paths: list[Path]) -> list[Path]:
    """The files in `paths` (expanded by `gather_files`) in chain order: by the number of
    their first event, whatever they are called."""
    files = gather_files(paths)
    firsts = {path: _first_line(path).get("seq", 0) for path in files}
    return sorted(files, key=lambda path: (firsts[path] if isinstance(firsts[path], int) else 0,
                                           path.name == "audit.jsonl", path.name))


def verify_chain(paths: list[Path], public_keys: list[str], *, open_tail: bool = False,
                 unsigned_ok: bool = False, anchor: AuditAnchor | None = None,
                 earlier_activity: str | None = None) -> ChainReport:
    """Verify the whole chain held in `paths`, with signatures checked against `public_keys`
    (base64 Ed25519). `open_tail`: the last file is the live log of a running Steward, so
    events after its last checkpoint are expected (and reported) rather than an error.
    `unsigned_ok`: Steward's own check at start, after a crash before its first checkpoint:
    a log with no checkpoint yet is not an error (it is signed at once).
    `anchor`: the checkpoint Steward's database says it signed last; the log must hold it.
    `earlier_activity`: what the database says Steward did (`2 submissions`), when it holds
    no anchor: such a log cannot be one without a single checkpoint."""
    report = ChainReport(files=ordered_files(paths), anchor=anchor)
    keys = {key_fingerprint(key): key for key in public_keys}
    if not report.files:
        report.notes.append("no audit files found")
        if anchor is not None or earlier_activity:
            report.problem = Problem(Path(paths[0]) if paths else Path("."), None, (
                "there is no audit log at all (no audit.jsonl, no audit-archive/), but "
                + _the_record(anchor, earlier_activity)
                + ": the log was deleted or moved away"))
        return report
    walker = _Walker(report, keys, anchor)
    first = _first_line(report.files[0])
    if isinstance(first.get("seq"), int) and first["seq"] > 0 and isinstance(first.get("prev"),
                                                                               str):
        walker.expect_retirement(first["seq"], first["prev"])
    for index, path in enumerate(report.files):
        if not walker.walk(path, first_file=index == 0):
            return report
    if walker.retired_before is not None and not walker.retirement_signed:
        start = walker.retired_before
        if first.get("event") == TAMPERING_EVENT:
            report.problem = Problem(report.files[0], 1, tampering_problem(first))
            return report
        report.problem = Problem(report.files[0], 1, (
            f"the chain does not begin here: this file starts at event #{start}, so the file(s) "
            f"holding events #0 to #{start - 1} are missing, and no signed audit.retired event "
            "says they were moved away (`steward audit retire`)"))
        return report
    if not _judge_the_record(report, walker, anchor, earlier_activity):
        return report
    _judge_the_end(report, walker, open_tail, unsigned_ok)
    return report


def tampering_problem(entry: dict[str, Any]) -> str:
    """What an `audit.tampering_detected` event that begins a new file means for an auditor."""
    return (f"Steward found the log tampered with at {entry.get('timestamp')}: "
            f"{entry.get('detail', entry.get('kind'))}. Events up to "
            f"#{entry.get('last_good_seq')} (chain head {str(entry.get('last_good_head'))[:16]}…)"
            f" are not all here any more; the file as Steward found it is kept in "
            f"{entry.get('evidence') or '(nothing was left)'}. Keep every file as evidence and "
            "compare with your backups")


def _the_record(anchor: AuditAnchor | None, activity: str | None) -> str:
    if anchor is not None:
        return (f"Steward's database says it signed {anchor.describe()} at "
                f"{anchor.signed_at}")
    return f"Steward's database shows earlier activity ({activity})"


def _judge_the_record(report: ChainReport, walker: _Walker, anchor: AuditAnchor | None,
                      activity: str | None) -> bool:
    """The log against the database: it holds the anchored checkpoint (or it was retired on
    the record), or, with no anchor, holds some checkpoint if Steward did anything."""
    last_file = report.files[-1]
    if anchor is not None and not walker.anchor_found:
        if walker.retirement_signed and walker.retired_before is not None and \
                anchor.seq < walker.retired_before:
            report.notes.append(f"Steward's anchored {anchor.describe()} was in the files "
                                "retired from this machine")
            return True
        report.problem = Problem(last_file, None, (
            f"the log is shorter than Steward's own record: {_the_record(anchor, None)}, but "
            f"the log ends at event #{walker.expected_seq - 1}. Events were removed: the log "
            "was cut short, deleted, or replaced by an older or rewritten copy"))
        return False
    if anchor is None and activity and report.checkpoints == 0:
        report.problem = Problem(last_file, None, (
            f"the log holds no signed checkpoint, but {_the_record(None, activity)}: the log "
            "was deleted or replaced, perhaps by a copy rewritten without its checkpoints"))
        return False
    return True


_READ_EXACTLY = frozenset({CHECKPOINT_EVENT, RETIRED_EVENT, TAMPERING_EVENT})
CHUNK = 4 << 20  # bytes of a log read at a time
# A "line" longer than LONGEST_LINE is not Steward's; reading on would hold all of it in
# memory, copied again with every chunk.
TOO_LONG = ("the line is longer than 16 MB without ending: Steward never writes such a line, so "
            "this is not its log (a file filled with something else, or to stop it being read)")


def _holds(path: Path, needle: bytes) -> bool:
    """Whether the file holds `needle` (a single byte), read a chunk at a time."""
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            if needle in block:
                return True
    return False


class _Walker:
    """Carries the chain from line to line and file to file."""

    def __init__(self, report: ChainReport, keys: dict[str, str],
                 anchor: AuditAnchor | None = None) -> None:
        self.report = report
        self.keys = keys
        self.anchor = anchor
        self.anchor_found = False
        self.previous_hash = GENESIS
        self.expected_seq = 0
        self.previous_file: Path | None = None
        self.last_was_checkpoint = False
        self.retired_before: int | None = None  # the chain starts later: older files retired
        self.retirement: dict[str, Any] | None = None  # the event that says so, once seen
        self.retirement_signed = False
        self.retired_head: str | None = None

    def expect_retirement(self, first_seq: int, previous_hash: str) -> None:
        """The oldest file starts at `first_seq`: take its link to the missing files on trust
        for now; the walk must then meet a signed `audit.retired` event that names exactly
        that event number and chain head, or the log does not verify."""
        self.retired_before, self.retired_head = first_seq, previous_hash
        self.expected_seq, self.previous_hash = first_seq, previous_hash

    def fail(self, path: Path, line: int | None, message: str) -> bool:
        self.report.problem = Problem(path, line, message)
        return False

    def walk(self, path: Path, first_file: bool) -> bool:
        """Walk the file's lines as bytes, a few megabytes at a time (a file that holds a
        carriage return, which text reading takes for a line's end, the careful way)."""
        if _holds(path, b"\r"):
            return self.walk_text(path, first_file)
        number, rest = 0, b""
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                lines = (rest + block).split(b"\n")
                rest = lines.pop()  # after the last newline: b"", or a line not yet whole
                if not self.lines(path, number, lines, first_file):
                    return False
                number += len(lines)
                if len(rest) > LONGEST_LINE:
                    return self.fail(path, number + 1, TOO_LONG)
        if rest and not self.line(path, number + 1, rest.decode("utf-8", errors="replace"),
                                  first_file):
            return False
        self.previous_file = path
        return True

    def lines(self, path: Path, number: int, lines: list[bytes], first_file: bool) -> bool:
        """Walk `lines` (whole lines, without their newlines), the first being line
        `number` + 1. The commonest line, an event as Steward writes it that follows the one
        before it, is checked here, inline; any other goes through `fast_line` and `accept`."""
        sha256, loads, special = hashlib.sha256, orjson.loads, _READ_EXACTLY
        anchor_seq = self.anchor.seq if self.anchor is not None else None
        previous, expected, counted = self.previous_hash, self.expected_seq, 0
        for index, raw in enumerate(lines, start=number + 1):
            end = len(raw)
            if raw.startswith(b',"hash":"', end - 75) and raw.endswith(b'"}'):
                recorded = raw[-66:-2].decode("latin-1")
                if sha256(raw[:-75] + b"}").hexdigest() == recorded:
                    body = raw  # the whole line is an object too, with `hash` last
                    try:
                        entry = loads(body)
                    except orjson.JSONDecodeError:
                        entry = None
                    if type(entry) is dict and entry.get("prev") == previous:
                        seq, event = entry.get("seq", expected), entry.get("event")
                        if seq == expected and seq != anchor_seq and \
                                (type(event) is not str or event not in special):
                            previous, expected, counted = recorded, expected + 1, counted + 1
                            continue
            if counted:
                self._counted(previous, expected, counted)
                counted = 0
            if not self.fast_line(path, index, raw, first_file):
                return False
            previous, expected = self.previous_hash, self.expected_seq
        if counted:
            self._counted(previous, expected, counted)
        return True

    def walk_text(self, path: Path, first_file: bool) -> bool:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, raw in enumerate(iter(partial(handle.readline, LONGEST_LINE + 1), ""),
                                         start=1):
                if len(raw) > LONGEST_LINE:
                    return self.fail(path, number, TOO_LONG)
                if not self.line(path, number, raw, first_file):
                    return False
        self.previous_file = path
        return True

    def _counted(self, previous: str, expected: int, counted: int) -> None:
        """`counted` ordinary events (not checkpoints) were accepted inline, up to `previous`."""
        self.previous_hash, self.expected_seq = previous, expected
        self.report.events += counted
        self.report.uncovered += counted
        self.last_was_checkpoint = False

    def fast_line(self, path: Path, number: int, raw: bytes, first_file: bool) -> bool:
        """`line` for a line's bytes (without its newline), the same verdicts in a fraction of
        the time: a line is taken apart and parsed here only when it is as Steward writes it
        (the hash where it belongs, matching, valid JSON that orjson reads as json does);
        anything else is handed to `line`, which says what is wrong with it."""
        body = raw[:-75] + b"}"
        recorded = raw[-66:-2].decode("latin-1")
        if raw[-75:-66] == b',"hash":"' and raw[-2:] == b'"}' and \
                hashlib.sha256(body).hexdigest() == recorded:
            try:
                entry = orjson.loads(body)
            except orjson.JSONDecodeError:
                entry = None
            if type(entry) is dict and type(entry.get("seq")) is not float:
                # orjson reads a number beyond 64 bits as a float, json as an int: the events
                # whose other fields count (checkpoints, retirement, tampering) are read by
                # json, as before.
                event = entry.get("event")
                if type(event) is str and event in _READ_EXACTLY:
                    entry = json.loads(body)
                return self.accept(path, number, entry, recorded, first_file)
        return self.line(path, number, raw.decode("utf-8", errors="replace") + "\n", first_file)

    def line(self, path: Path, number: int, raw: str, first_file: bool) -> bool:
        if not raw.endswith("\n"):
            return self.fail(path, number, "the last line is incomplete: the file was cut off "
                             "mid-line, or is being written right now")
        parts = split_line(raw.rstrip("\n"))
        if parts is None:
            return self.fail(path, number, "the line has no hash: it was edited, or is not an "
                             "audit event")
        body, recorded = parts
        if line_hash(body) != recorded:
            return self.fail(path, number, "the line was edited: its content no longer "
                             "matches its hash")
        try:
            entry = json.loads(body)
        except ValueError:
            return self.fail(path, number, "the line is not valid JSON")
        if not isinstance(entry, dict):
            return self.fail(path, number, "the line is not an audit event")
        return self.accept(path, number, entry, recorded, first_file)

    def accept(self, path: Path, number: int, entry: dict[str, Any], recorded: str,
               first_file: bool) -> bool:
        """Carry the chain over one line whose hash matched, parsed as `entry`."""
        if entry.get("prev") != self.previous_hash:
            return self.fail(path, number, self._broken_link(path, number, entry, first_file))
        seq = entry.get("seq", self.expected_seq)
        if seq != self.expected_seq:
            return self.fail(path, number, f"the line is numbered #{seq} where "
                             f"#{self.expected_seq} was expected: lines were deleted, inserted "
                             "or moved, and the chain re-computed")
        if self.anchor is not None and seq == self.anchor.seq:
            if recorded != self.anchor.head or entry.get("event") != CHECKPOINT_EVENT:
                return self.fail(path, number, (
                    f"event #{seq} is not the checkpoint Steward's database recorded there "
                    f"({self.anchor.describe()}, signed {self.anchor.signed_at}): the log "
                    "was rewritten from this point, or replaced"))
            self.anchor_found = True
        if entry.get("event") == CHECKPOINT_EVENT:
            if not self.checkpoint(path, number, entry):
                return False
            self.report.last_checkpoint_hash = recorded
        if entry.get("event") == TAMPERING_EVENT:
            self.report.tampering.append(
                f"{entry.get('timestamp')}, event #{seq}: {entry.get('detail')} (what was "
                f"found is kept in {entry.get('evidence') or '(nothing was left)'})")
        if (entry.get("event") == RETIRED_EVENT and self.retired_before is not None
                and entry.get("up_to_seq") == self.retired_before - 1
                and entry.get("head") == self.retired_head):
            self.retirement = entry
        self.last_was_checkpoint = entry.get("event") == CHECKPOINT_EVENT
        self.previous_hash = recorded
        self.expected_seq += 1
        self.report.events += 1
        if not self.last_was_checkpoint:
            self.report.uncovered += 1
        return True

    def _broken_link(self, path: Path, number: int, entry: dict, first_file: bool) -> str:
        if number > 1:
            return (f"the line does not follow line {number - 1}: a line before it was "
                    "deleted, inserted or moved")
        if entry.get("event") == TAMPERING_EVENT:
            return tampering_problem(entry)
        if first_file or self.previous_file is None:
            return "the first line does not start a chain"
        return (f"this file does not continue {self.previous_file.name}: a file between them "
                "is missing, or one of them was altered or replaced")

    def checkpoint(self, path: Path, number: int, entry: dict) -> bool:
        from daemon.runtime.keys import verify_signature  # noqa: PLC0415

        fingerprint = entry.get("key")
        if not self.keys:
            return self.fail(path, number, "no public key was given (--key), so the signed "
                             "checkpoints cannot be checked; ask the administrator for "
                             "`steward audit pubkey` (installed as "
                             "/etc/steward/audit-signing.pub on a server)")
        public = self.keys.get(fingerprint) if isinstance(fingerprint, str) else None
        if public is None:
            return self.fail(path, number, f"the checkpoint is signed by key {fingerprint}, "
                             "which is not a key you gave: the log was produced by another "
                             "Steward, or forged")
        if entry.get("events_covered") != entry.get("seq"):
            return self.fail(path, number, "the checkpoint's count of events does not match "
                             "its place in the chain")
        signature = entry.get("signature")
        try:
            valid = isinstance(signature, str) and \
                verify_signature(public, checkpoint_message(entry), signature)
        except (KeyError, TypeError):
            valid = False
        if not valid:
            return self.fail(path, number, "the checkpoint's signature is not valid: the "
                             "events before it were altered and the chain re-computed, or the "
                             "checkpoint was forged")
        self.report.checkpoints += 1
        self.report.last_checkpoint = entry
        self.report.uncovered = 0
        if self.retirement is not None and self.retired_before is not None and \
                not self.retirement_signed:
            self.retirement_signed = True
            retired = self.retirement
            self.report.notes.append(
                f"events #0 to #{self.retired_before - 1} were retired from this machine on "
                f"{retired['timestamp'][:10]} to {retired.get('destination', '?')} (signed "
                f"record: event #{retired['seq']}); verify those files there")
        return True


def _judge_the_end(report: ChainReport, walker: _Walker, open_tail: bool,
                   unsigned_ok: bool) -> None:
    last_file = report.files[-1]
    if report.events == 0 or walker.last_was_checkpoint:
        return
    if report.last_checkpoint is None and unsigned_ok:
        report.notes.append(f"no checkpoint yet: {report.uncovered} event(s) not yet signed")
        return
    if report.last_checkpoint is None:
        report.problem = Problem(last_file, None, (
            "the log holds no signed checkpoint at all: nothing distinguishes it from a forgery"
            if open_tail else "possibly truncated or forged: the log does not end in a signed "
            "checkpoint, and holds none at all"))
        return
    sealed = report.last_checkpoint
    if not open_tail:
        report.problem = Problem(last_file, None, (
            f"possibly truncated: the log does not end in a signed checkpoint. The last "
            f"{report.uncovered} event(s), after checkpoint #{sealed['seq']} at "
            f"{sealed['timestamp']}, are not covered by a signature: the log was cut off, or "
            "Steward is still writing it (then pass --open-tail)"))
        return
    report.notes.append(
        f"open tail: {report.uncovered} event(s) after the last checkpoint are not yet signed; "
        "Steward signs them within the hour, or when it stops")
