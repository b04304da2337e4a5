"""The audit log: one JSON line per decision or action, chained, numbered and signed.

Every line carries `seq` (its place in the whole chain, from 0), `prev` (the hash of the line
before it; 64 zeros for the first) and ends with `hash`, the SHA-256 of the line's own bytes up
to that field. So editing a line breaks its own hash; deleting, inserting or reordering lines
breaks the next line's `prev` and `seq`.

A hash chain alone cannot tell a genuine log from a forgery re-chained from scratch, nor a log
whose tail was cut off. So Steward appends **signed checkpoints** (`audit.checkpoint`): every
`checkpoint_every_events` events, at least every `checkpoint_every_minutes` while events arrive,
and whenever a writer stops. Each signs (Ed25519, `steward audit pubkey`) the hash of the line
before it, which commits to the whole chain so far. A log that does not end in a checkpoint was
cut off, or is still being written (`steward audit verify --open-tail`).

**Rotation** moves the live file to `audit-archive/` (daily, or when it grows past a size): a
`rotate` checkpoint closes the old file, and the new file opens with `audit.continued`, chained
to it, so the chain runs on unbroken across files. The live file is replaced atomically, and a
writer in another process notices (the path's inode changed) and follows.

**Tampering while Steward writes.** A writer knows where its last line ended. Before each
write it checks the file still holds that line there: a file that shrank, was rewritten, was
replaced by another file (not a rotation) or vanished was tampered with. The writer keeps what
it found (moved to `audit-tampered/`, never overwritten), puts back its own copy when the file
it still has open holds every line (a deleted or replaced file), and otherwise starts a new file
chained to the last line it knew was good; then it records `audit.tampering_detected`, signs it
and tells its owner (the daemon alerts the administrators). A log that lost lines this way no
longer verifies, and says why; one that was put back whole verifies, and says it was tampered
with.

Each checkpoint is also handed to the writer's owner (`on_checkpoint`): the daemon keeps the
last one in its database as the anchor (`daemon.audit.anchor`), so a log cut back to an earlier
checkpoint, or rewritten without checkpoints, is refused at the next start.

The log never holds children's names, post text, abusive content or secrets: events carry
hashes, names of submissions, rule ids and policy clauses. Secrets are scrubbed again here.
Verification lives in `daemon.audit.verification`; reading in `daemon.audit.reading`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
import structlog

from daemon.runtime.clock import Clock
from daemon.runtime.logs import REDACTOR
from daemon.runtime.ownership import refuse_to_write_as_another_user

GENESIS = "0" * 64
CHECKPOINT_EVENT = "audit.checkpoint"
RETIRED_EVENT = "audit.retired"  # older files moved off the machine: see audit_retirement
CONTINUED_EVENT = "audit.continued"
TAMPERING_EVENT = "audit.tampering_detected"
ARCHIVE_FOLDER = "audit-archive"
# Steward's events hold hashes and names, never content: a few kilobytes at most. Readers of a
# log take a line longer than this (a file of zeros, or one filled to stop it being read) for
# what it is, not Steward's, instead of holding all of it in memory.
LONGEST_LINE = 16 << 20
TAMPERED_FOLDER = "audit-tampered"  # files found tampered with, kept as evidence, never read
SIGNATURE_CONTEXT = "steward-audit-checkpoint/1"
_HASH_SUFFIX = re.compile(r',"hash":"([0-9a-f]{64})"\}\Z')
_log = structlog.get_logger("steward.audit")


def line_hash(body: str) -> str:
    """The SHA-256 of a line's bytes up to (not including) its `hash` field."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def hashed_line(entry: dict[str, Any]) -> tuple[str, str]:
    """The log line for `entry` (its JSON with `hash` last, and a newline) and that hash: the
    one way a line is written, so split_line and line_hash can take it apart again."""
    line, digest = hashed_line_bytes(entry)
    return line.decode("utf-8"), digest


def hashed_line_bytes(entry: dict[str, Any], plain: bool = False) -> tuple[bytes, str]:
    """`hashed_line` as the UTF-8 bytes written to the file. `plain`: the caller knows the
    entry holds only str, int, bool and None (see _json_body)."""
    try:
        body = orjson.dumps(entry) if plain else _json_body(entry)
    except TypeError:  # orjson's refusal of a lone surrogate
        body = _json_body(entry)
    digest = hashlib.sha256(body).hexdigest()
    return b'%s,"hash":"%s"}\n' % (body[:-1], digest.encode("ascii")), digest


def _json_body(entry: dict[str, Any]) -> bytes:
    """The entry's JSON, compact, keys in order, not ASCII-escaped: the bytes of
    json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str).

    orjson writes exactly those bytes for str, int, bool and None in dicts and lists, several
    times faster; anything else (a float, whose exponent and NaN it writes otherwise, an enum,
    a datetime, a number beyond 64 bits, a lone surrogate) is written by json, as before."""
    if _plain(entry):
        try:
            return orjson.dumps(entry)
        except (TypeError, orjson.JSONEncodeError):
            pass  # a lone surrogate, or an integer orjson cannot hold
    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (a file name that is not UTF-8, as the OS hands it over) cannot be
        # written as UTF-8: write it as the JSON escape it is (\udcff), which reads back the same.
        return json.dumps(entry, ensure_ascii=True, separators=(",", ":"),
                          default=str).encode("ascii")


_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> bool:
    """Whether `value` holds only str, int, bool and None (exactly those types, not
    subclasses) in dicts with str keys and lists."""
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and not _plain(item)):
                return False
        return True
    if type(value) is list:
        for item in value:
            if type(item) not in _SCALARS and not _plain(item):
                return False
        return True
    return type(value) in _SCALARS


def checkpoint_message(entry: dict[str, Any]) -> bytes:
    """The exact bytes a checkpoint's signature covers: its place, the chain head it seals,
    its time and its reason. The chain head commits to every line before it."""
    return "\n".join([SIGNATURE_CONTEXT, str(entry["seq"]), str(entry["prev"]),
                      str(entry["timestamp"]), str(entry["reason"])]).encode("utf-8")


def checkpoint_name(seq: int, digest: str) -> str:
    """How a checkpoint is named for people, the same in verification, reports, alerts and
    errors, so that figures from different places can be compared by eye."""
    return f"checkpoint #{seq} (hash {digest[:16]}…)"


def key_fingerprint(public_key_base64: str) -> str:
    """A short name for a public key, written in each checkpoint so a verifier can say which
    key signed it."""
    return hashlib.sha256(public_key_base64.encode("ascii")).hexdigest()[:16]


def split_line(line: str) -> tuple[str, str] | None:
    """Split a log line (without its newline) into (body, recorded hash); None if it has none."""
    match = _HASH_SUFFIX.search(line)
    if not match:
        return None
    return line[:match.start()] + "}", match.group(1)


@dataclass(frozen=True)
class TailState:
    """What a writer must know to append: the last line's hash and seq, and whether it is a
    checkpoint."""

    last_hash: str = GENESIS
    next_seq: int = 0
    ends_in_checkpoint: bool = False
    first_seq: int = 0
    first_timestamp: str | None = None


def read_tail_state(path: Path) -> TailState:
    """Read the last complete line (and the first line's time) of a log file."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return TailState()
    with handle:
        first = handle.readline().decode("utf-8", errors="replace")
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return TailState()
        block = min(size, 262144)
        handle.seek(size - block)
        tail = handle.read().decode("utf-8", errors="replace").rstrip("\n").rsplit("\n", 1)[-1]
    parts = split_line(tail)
    if parts is None:
        return TailState()
    try:
        entry = json.loads(parts[0])
        first_entry = json.loads(first)
    except ValueError:
        return TailState(last_hash=parts[1])
    seq = entry.get("seq")
    if not isinstance(seq, int):  # a log from before lines were numbered
        with open(path, "rb") as counting:
            seq = sum(1 for _ in counting) - 1
    return TailState(last_hash=parts[1], next_seq=seq + 1,
                     ends_in_checkpoint=entry.get("event") == CHECKPOINT_EVENT,
                     first_seq=first_entry.get("seq", 0) if isinstance(first_entry, dict) else 0,
                     first_timestamp=first_entry.get("timestamp"))


def first_entry(path: Path) -> dict[str, Any] | None:
    """The first event of a log file, or None when there is none (or no file)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            line = handle.readline().rstrip("\n")
    except FileNotFoundError:
        return None
    parts = split_line(line)
    try:
        entry = json.loads(parts[0]) if parts else None
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def holds_line(path: Path, seq: int, digest: str) -> bool:
    """Whether the file holds the line numbered `seq` with hash `digest`."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                parts = split_line(raw.rstrip("\n"))
                if parts is not None and parts[1] == digest:
                    try:
                        return json.loads(parts[0]).get("seq", seq) == seq
                    except (ValueError, AttributeError):
                        return False
    except FileNotFoundError:
        pass
    return False


def _sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def archive_name(first_seq: int, first_timestamp: str | None) -> str:
    """Archived files are named by their first line's place and date, so they sort in order."""
    day = (first_timestamp or "")[:10].replace("-", "") or "undated"
    return f"audit-{first_seq:010d}-{day}.jsonl"


def log_files(state_dir: Path) -> list[Path]:
    """The archived files, oldest first, then the live file: the whole chain on this machine."""
    archive = Path(state_dir) / ARCHIVE_FOLDER
    files = sorted(archive.glob("audit-*.jsonl")) if archive.is_dir() else []
    live = Path(state_dir) / "audit.jsonl"
    if live.exists():
        files.append(live)
    return files


class AuditLog:
    """Append chained events to `path` (and echo each to the structlog pipeline), sign
    checkpoints and rotate the file.

    `signing_key`: Steward's audit key; by default the state directory's (created on first use).
    A writer that cannot read it (None) still chains its events; the next writer that can
    sign covers them.

    `echo_info`: also hand info events to the structlog pipeline (stdout). The daemon, whose
    record is this file, echoes only warnings and errors, for journald.

    `on_checkpoint(entry)` is called with each checkpoint this writer signs (its `hash`
    included), `on_tampering(entry)` with each `audit.tampering_detected` event it records;
    both after the file's lock is released, so they may write to a database, send e-mail or
    record events themselves.
    """

    def __init__(self, path: Path, clock: Clock | None = None, *,
                 signing_key: Any = "default", checkpoint_every_events: int = 1000,
                 rotate_max_bytes: int = 64 * 1024 * 1024, rotate_daily: bool = True,
                 on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
                 on_tampering: Callable[[dict[str, Any]], None] | None = None,
                 echo_info: bool = True) -> None:
        self.path = Path(path)
        self._path_text = os.fspath(self.path)
        self._second: int | None = None
        self._second_text = ""
        self.echo_info = echo_info
        refuse_to_write_as_another_user(self.path.parent)
        self.clock = clock or Clock()
        self.checkpoint_every_events = max(1, checkpoint_every_events)
        self.rotate_max_bytes = rotate_max_bytes
        self.rotate_daily = rotate_daily
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._signing_key = load_signing_key(self.path.parent) if signing_key == "default" \
            else signing_key
        self._fingerprint = None
        if self._signing_key is not None:
            from daemon.runtime.keys import public_key_text  # noqa: PLC0415

            self._fingerprint = key_fingerprint(public_key_text(self._signing_key))
        self._lock = threading.Lock()
        self._on_checkpoint, self._on_tampering = on_checkpoint, on_tampering
        self._announcements: list[tuple[Callable, dict[str, Any]]] = []
        self._undo_interrupted_rotation()
        self._open()
        self._logger = structlog.get_logger("steward.audit")

    @property
    def can_sign(self) -> bool:
        """Whether this writer holds Steward's signing key (checkpoints need it)."""
        return self._signing_key is not None

    # -- writing -------------------------------------------------------------------------------

    def record(self, event: str, level: str = "info", **fields: Any) -> dict[str, Any]:
        """Append one event and return it (with its chain fields)."""
        entry: dict[str, Any] = {"timestamp": self._timestamp(), "event": event, "level": level}
        strings = REDACTOR.clean_strings(fields)
        entry.update(REDACTOR.clean_fields(fields) if strings is None else strings)
        # Strings only (and the chain's int and hash): orjson's bytes, no need to look again.
        plain = strings is not None and type(event) is str and type(level) is str
        with self._lock:
            self._acquire()
            try:
                self._append(entry, plain)
                if self._uncovered >= self.checkpoint_every_events:
                    self._checkpoint("events")
                if self._known_size >= self.rotate_max_bytes:
                    self._rotate("size")
            finally:
                fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        if self._announcements:
            self._announce()
        if self.echo_info or level in ("warning", "error"):
            log_fields = {k: v for k, v in entry.items()
                          if k not in ("event", "level", "timestamp")}
            getattr(self._logger, level if level in ("warning", "error") else "info")(
                event, audit=True, **log_fields)
        return entry

    def checkpoint(self, reason: str = "hourly") -> bool:
        """Sign the chain now if any event is not yet covered; True if a checkpoint was added."""
        return self._locked(lambda: self._checkpoint(reason) if self._uncovered else False)

    def rotate_if_due(self) -> bool:
        """Rotate the live file if it began on an earlier (UTC) day; True if it rotated."""
        def rotate_when_due() -> bool:
            started = self._first_timestamp or ""
            if self.rotate_daily and started and started[:10] < self._timestamp()[:10] \
                    and self._next_seq - self._first_seq > 1:
                self._rotate("daily")
                return True
            return False
        return self._locked(rotate_when_due)

    def rotate(self, reason: str = "requested") -> None:
        """Rotate the live file now."""
        self._locked(lambda: self._rotate(reason))

    def sync(self) -> None:
        """Flush and fsync the log (on shutdown and before irreversible steps)."""
        with self._lock:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Sign what this or any writer left uncovered, then close: a log that ends without a
        checkpoint was cut off or is still open."""
        with self._lock:
            if self._handle.closed:
                return
            self._acquire()
            try:
                if self._uncovered:
                    self._checkpoint("stop")
                self._handle.flush()
                os.fsync(self._handle.fileno())
            finally:
                fcntl.flock(self._handle, fcntl.LOCK_UN)
                self._handle.close()
        self._announce()

    def _announce(self) -> None:
        """Hand the checkpoints signed and the tampering found to the owner's callbacks,
        outside the lock. A failing callback must not stop the log: it is logged."""
        with self._lock:
            waiting, self._announcements = self._announcements, []
        for callback, entry in waiting:
            try:
                callback(entry)
            except Exception as error:  # noqa: BLE001 - the log goes on whatever the owner does
                _log.error("audit.callback_failed", event=entry.get("event"),
                           reason=f"{type(error).__name__}: {error}")

    # -- inside the lock -----------------------------------------------------------------------

    def _locked(self, action):
        with self._lock:
            self._acquire()
            try:
                result = action()
            finally:
                fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._announce()
        return result

    def _open(self) -> None:
        self._handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open
        self._descriptor = self._handle.fileno()
        opened = os.fstat(self._descriptor)
        self._identity = (opened.st_ino, opened.st_dev)
        try:
            os.chmod(self.path, 0o640)
        except PermissionError:  # another user's file; writing still works if allowed
            pass
        self._known_size = -1
        self._last_hash, self._next_seq, self._uncovered = GENESIS, 0, 0
        self._first_seq = 0
        self._first_timestamp: str | None = None

    def _acquire(self) -> None:
        """Lock the live file, following it if another writer rotated it meanwhile, and
        recording tampering if the file changed in any other way."""
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            current: os.stat_result | None = os.stat(self._path_text)
        except FileNotFoundError:
            current = None
        if current is not None and current.st_size == self._known_size and \
                (current.st_ino, current.st_dev) == self._identity:
            return  # the commonest case: the file we have open, as we left it
        while True:
            if current is not None and (current.st_ino, current.st_dev) == self._identity:
                # The path names the file we have open: its size is our file's.
                kind = self._catch_up(current.st_size)
                if kind is not None:
                    self._tampered(kind, os.fstat(self._handle.fileno()))
                return
            mine = os.fstat(self._handle.fileno())
            if self._known_size >= 0 and not self._chain_continues_at_path(mine):
                self._tampered("vanished" if current is None else "replaced", mine)
                return
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._open()
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
            try:
                current = os.stat(self._path_text)
            except FileNotFoundError:
                current = None

    def _catch_up(self, size: int | None = None) -> str | None:
        """Re-read the tail if another process appended since our last write. Return the kind
        of tampering if the file no longer holds what we wrote ("shrank", "rewritten").
        `size`: the open file's size, when the caller has just read it."""
        if size is None:
            size = os.fstat(self._handle.fileno()).st_size
        if size == self._known_size:
            return None
        if self._known_size > 0 and self._last_hash != GENESIS:
            if size < self._known_size:
                return "shrank"
            if not self._still_holds_our_last_line():
                return "rewritten"
        state = read_tail_state(self.path)
        if state.ends_in_checkpoint:
            self._uncovered = 0
        elif self._known_size < 0:
            self._uncovered = 1 if state.next_seq else 0
        else:
            self._uncovered += max(1, state.next_seq - self._next_seq)
        self._last_hash, self._next_seq = state.last_hash, state.next_seq
        self._first_seq, self._first_timestamp = state.first_seq, state.first_timestamp
        self._known_size = size
        return None

    def _still_holds_our_last_line(self) -> bool:
        """Whether the file we have open still ends our last line where we left it, and the
        line after it (another writer's, if any) continues from it."""
        descriptor = self._handle.fileno()
        suffix = f',"hash":"{self._last_hash}"}}\n'.encode("ascii")
        start = self._known_size - len(suffix)
        if start < 0 or os.pread(descriptor, len(suffix), start) != suffix:
            return False
        following = os.pread(descriptor, 262144, self._known_size)
        end = following.find(b"\n")
        if end < 0:
            return True  # nothing after it, or a line a crashed writer left incomplete
        parts = split_line(following[:end].decode("utf-8", errors="replace"))
        try:
            entry = json.loads(parts[0]) if parts else None
        except ValueError:
            entry = None
        return isinstance(entry, dict) and entry.get("prev") == self._last_hash and \
            entry.get("seq", self._next_seq) == self._next_seq

    def _chain_continues_at_path(self, mine: os.stat_result) -> bool:
        """The live path names another file: whether that file carries our chain on (a
        rotation, by us or by another writer, perhaps several) instead of replacing it."""
        if self._last_hash == GENESIS:
            return True  # we knew of no line yet
        last_seq, path = self._next_seq - 1, self.path
        for _ in range(32):
            first = first_entry(path)
            if first is None:
                return False
            seq = first.get("seq")
            if not isinstance(seq, int):
                return False
            if seq == self._next_seq and first.get("prev") == self._last_hash:
                return True
            if seq <= last_seq:
                return holds_line(path, last_seq, self._last_hash)
            previous = first.get("previous_file")
            if first.get("event") != CONTINUED_EVENT or not isinstance(previous, str):
                return False
            path = self.path.parent / ARCHIVE_FOLDER / Path(previous).name
            try:
                archived = os.stat(path)
            except FileNotFoundError:
                return False
            if (archived.st_ino, archived.st_dev) == (mine.st_ino, mine.st_dev):
                return mine.st_size >= self._known_size and self._still_holds_our_last_line()
        return False

    def _tampered(self, kind: str, mine: os.stat_result) -> None:
        """Record tampering found at the live path (we hold the lock of the file we had open).

        What is at the path is moved to `audit-tampered/`, as found. If the file we still
        have open holds every line we knew of (it was deleted or replaced), a copy of it goes
        back in place; otherwise a new file starts, chained to the last line we knew was good.
        Then `audit.tampering_detected` is appended and signed."""
        known_size, last_hash, next_seq = self._known_size, self._last_hash, self._next_seq
        recoverable = kind in ("vanished", "replaced") and mine.st_size >= known_size and \
            (last_hash == GENESIS or self._still_holds_our_last_line())
        evidence = evidence_sha256 = found_size = None
        if os.path.lexists(self.path):
            folder = self.path.parent / TAMPERED_FOLDER
            folder.mkdir(mode=0o750, exist_ok=True)
            stamp = re.sub(r"\D", "", self._timestamp())[:17]
            target = folder / f"audit-{stamp}-{kind}.jsonl"
            number = 1
            while target.exists():
                number += 1
                target = folder / f"audit-{stamp}-{kind}-{number}.jsonl"
            found_size = os.lstat(self.path).st_size
            os.rename(self.path, target)  # the file as found, untouched
            fsync_directory(folder)
            evidence = f"{TAMPERED_FOLDER}/{target.name}"
            evidence_sha256 = _sha256_of(target) if target.is_file() else None
        restoring = self.path.with_name(self.path.name + ".restoring")
        descriptor = os.open(restoring, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(descriptor, "wb") as out:
            if recoverable:
                offset, end = 0, os.fstat(self._handle.fileno()).st_size
                while offset < end:
                    block = os.pread(self._handle.fileno(), min(1 << 20, end - offset), offset)
                    if not block:
                        break
                    out.write(block)
                    offset += len(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(restoring, self.path)
        fsync_directory(self.path.parent)
        old = self._handle
        self._open()
        fcntl.flock(old, fcntl.LOCK_UN)
        old.close()
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        if recoverable:
            self._catch_up()
        else:
            self._last_hash, self._next_seq, self._known_size = last_hash, next_seq, 0
        name = self.path.name
        detail = {
            "shrank": f"the live file {name} shrank from {known_size} to {found_size} bytes "
                      "while Steward was writing it: lines were cut off or removed",
            "rewritten": f"the live file {name} no longer holds the last line Steward wrote "
                         f"(event #{next_seq - 1}) where Steward left it: it was rewritten",
            "replaced": f"the live file {name} was replaced by another file ({found_size} "
                        "bytes) that does not carry Steward's chain on",
            "vanished": f"the live file {name} was deleted while Steward was writing it",
        }[kind]
        detail += (". Steward put back its own copy, which still held every line" if recoverable
                   else f". What it held after event #{next_seq - 1} cannot be recovered "
                   "here; the chain continues from the last line Steward knew was good")
        entry = {"timestamp": self._timestamp(), "event": TAMPERING_EVENT, "level": "error",
                 "audience": "admin", "kind": kind, "detail": detail,
                 "last_good_seq": next_seq - 1, "last_good_head": last_hash,
                 "known_size": known_size, "found_size": found_size, "evidence": evidence,
                 "evidence_sha256": evidence_sha256, "recovered": recoverable}
        self._append(entry)
        if self._on_tampering is not None:
            self._announcements.append((self._on_tampering, dict(entry)))
        self._checkpoint("tampering")
        _log.error(TAMPERING_EVENT, kind=kind, evidence=evidence, recovered=recoverable)

    def _append(self, entry: dict[str, Any], plain: bool = False) -> None:
        entry["seq"] = self._next_seq
        entry["prev"] = self._last_hash
        checkpoint = entry["event"] == CHECKPOINT_EVENT
        if checkpoint:
            from daemon.runtime.keys import sign_bytes  # noqa: PLC0415

            entry["signature"] = sign_bytes(self._signing_key, checkpoint_message(entry))
        line, digest = hashed_line_bytes(entry, plain)
        # One write() to the file opened for appending, under its lock: the text handle
        # above it never holds anything unwritten.
        descriptor = self._descriptor
        written = os.write(descriptor, line)
        while written < len(line):  # a short write (a full disk raises instead)
            written += os.write(descriptor, line[written:])
        entry["hash"] = digest
        if self._first_timestamp is None or self._next_seq == 0:
            self._first_seq, self._first_timestamp = self._next_seq, entry["timestamp"]
        self._last_hash, self._next_seq = digest, self._next_seq + 1
        self._uncovered = 0 if checkpoint else self._uncovered + 1
        self._known_size = os.fstat(descriptor).st_size if self._known_size < 0 \
            else self._known_size + len(line)

    def _checkpoint(self, reason: str) -> bool:
        if self._signing_key is None:
            return False
        entry = {"timestamp": self._timestamp(), "event": CHECKPOINT_EVENT, "level": "info",
                 "reason": reason, "events_covered": self._next_seq, "key": self._fingerprint}
        self._append(entry)
        os.fsync(self._handle.fileno())
        if self._on_checkpoint is not None:
            self._announcements.append((self._on_checkpoint, dict(entry)))
        return True

    def _rotate(self, reason: str) -> None:
        """Close the live file with a checkpoint, archive it and start a new one chained to it.
        The live path always names a complete file (link, then atomic replace)."""
        self._checkpoint("rotate")
        os.fsync(self._handle.fileno())
        archive = self.path.parent / ARCHIVE_FOLDER
        archive.mkdir(mode=0o750, exist_ok=True)
        target = archive / archive_name(self._first_seq, self._first_timestamp)
        if target.exists():
            target = target.with_name(f"{target.stem}-{self._next_seq:010d}.jsonl")
        os.link(self.path, target)
        fsync_directory(archive)
        entry = {"timestamp": self._timestamp(), "event": CONTINUED_EVENT, "level": "info",
                 "reason": reason, "previous_file": target.name, "seq": self._next_seq,
                 "prev": self._last_hash}
        line, _ = hashed_line(entry)
        following = self.path.with_name(self.path.name + ".next")
        descriptor = os.open(following, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(following, self.path)
        fsync_directory(self.path.parent)
        old = self._handle
        self._open()
        fcntl.flock(old, fcntl.LOCK_UN)
        old.close()
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        self._catch_up()
        self._uncovered = 1
        _log.info("audit.rotated", archived=str(target), reason=reason)

    def _undo_interrupted_rotation(self) -> None:
        """A crash between archiving (a hard link) and installing the new file leaves the live
        file also in the archive, or a half-written `.next`. Undo the archiving: the live file
        simply carries on, and rotates again later."""
        following = self.path.with_name(self.path.name + ".next")
        if not self.path.exists():
            following.unlink(missing_ok=True)
            return
        while True:
            # Under the live file's lock: another process rotating right now holds it, and its
            # half-made rotation must not be mistaken for a crashed one and undone.
            with open(self.path, "a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                live = os.stat(self.path)
                if live.st_ino != os.fstat(handle.fileno()).st_ino:
                    continue  # it rotated while we waited: lock the new live file instead
                following.unlink(missing_ok=True)
                archive = self.path.parent / ARCHIVE_FOLDER
                for candidate in archive.glob("audit-*.jsonl") if archive.is_dir() else []:
                    status = os.stat(candidate)
                    if (status.st_ino, status.st_dev) == (live.st_ino, live.st_dev):
                        candidate.unlink()
                return

    def _timestamp(self) -> str:
        """The time, as isoformat(timespec="milliseconds") writes it; in UTC, the date and
        second are formatted once a second (formatting was a tenth of a write)."""
        now = self.clock.now()
        if now.tzinfo is not UTC:
            return now.isoformat(timespec="milliseconds")
        second = int(now.timestamp())
        if second != self._second:
            self._second = second
            self._second_text = now.isoformat(timespec="seconds")[:19]
        return f"{self._second_text}.{now.microsecond // 1000:03d}+00:00"


def load_signing_key(state_dir: Path):
    from daemon.runtime.keys import audit_signing_key  # noqa: PLC0415

    try:
        return audit_signing_key(state_dir)
    except (OSError, ValueError) as error:
        _log.warning("audit.cannot_sign", reason=type(error).__name__)
        return None


def fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def repair_torn_tail(path: Path) -> str | None:
    """After a crash, the last line may be cut off mid-write. Remove it (only it) and return a
    description for the audit log; None when the log ends cleanly."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return None
        handle.seek(0)
        data = handle.read()
        keep = data.rfind(b"\n") + 1
        torn = data[keep:]
        handle.truncate(keep)
    return (f"an incomplete last line ({len(torn)} bytes, SHA-256 "
            f"{hashlib.sha256(torn).hexdigest()}) left by an interrupted write was removed")
