"""The audit log: one JSON line per decision or action, each chained to the line before it.

Every line carries `prev`, the hash of the line before it (64 zeros for the first), and ends
with `hash`, the SHA-256 of the line's own bytes up to that field. So editing a line breaks its
own hash; deleting, inserting or reordering lines breaks the next line's `prev`.
`verify_audit_log` finds the first bad line and says what is wrong with it.

The log never holds children's names, post text, abusive content or secrets: events carry
hashes, names of submissions, rule ids and policy clauses. Secrets are scrubbed again here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from daemon.clock import Clock
from daemon.logs import REDACTOR

GENESIS = "0" * 64
_HASH_SUFFIX = re.compile(r',"hash":"([0-9a-f]{64})"\}\Z')


def _line_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AuditLog:
    """Append chained events to `path`, and echo each to the structlog pipeline (stdout)."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock = clock or Clock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open
        os.chmod(self.path, 0o640)
        self._known_size = -1
        self._last_hash = GENESIS
        self._logger = structlog.get_logger("steward.audit")

    def record(self, event: str, level: str = "info", **fields: Any) -> dict[str, Any]:
        """Append one event and return it (with its chain fields)."""
        entry: dict[str, Any] = {"timestamp": self.clock.now().isoformat(timespec="milliseconds"),
                                 "event": event, "level": level}
        entry.update(REDACTOR.clean(fields))
        with self._lock:
            fcntl.flock(self._handle, fcntl.LOCK_EX)
            try:
                self._catch_up()
                entry["prev"] = self._last_hash
                body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
                digest = _line_hash(body)
                line = f'{body[:-1]},"hash":"{digest}"}}\n'
                self._handle.write(line)
                self._handle.flush()
                self._last_hash = digest
                self._known_size = os.fstat(self._handle.fileno()).st_size
            finally:
                fcntl.flock(self._handle, fcntl.LOCK_UN)
        entry["hash"] = digest
        log_fields = {k: v for k, v in entry.items() if k not in ("event", "level", "timestamp")}
        getattr(self._logger, level if level in ("warning", "error") else "info")(
            event, audit=True, **log_fields)
        return entry

    def _catch_up(self) -> None:
        """Re-read the last hash if another process appended since our last write."""
        size = os.fstat(self._handle.fileno()).st_size
        if size == self._known_size:
            return
        self._last_hash = last_hash_of(self.path)
        self._known_size = size

    def sync(self) -> None:
        """Flush and fsync the log (on shutdown and before irreversible steps)."""
        with self._lock:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()


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


def last_hash_of(path: Path) -> str:
    """Return the hash of the last complete line of an audit log (GENESIS if it is empty)."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        block = min(size, 65536)
        handle.seek(size - block)
        tail = handle.read().decode("utf-8", errors="replace").rstrip("\n").rsplit("\n", 1)[-1]
    match = _HASH_SUFFIX.search(tail)
    return match.group(1) if match else GENESIS


@dataclass(frozen=True)
class Verification:
    """The result of checking a log: how many lines were good, and the first problem."""

    intact: bool
    lines: int
    problem_line: int | None = None
    problem: str | None = None

    def describe(self, path: Path) -> str:
        if self.intact:
            return f"{path}: intact, {self.lines} events, chain unbroken"
        return f"{path}: TAMPERED at line {self.problem_line}: {self.problem}"


def verify_audit_log(path: Path) -> Verification:
    """Check every line's own hash and its link to the line before; stop at the first problem."""
    previous = GENESIS
    count = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n")
            if not raw.endswith("\n"):
                return Verification(False, count, number, "the last line is incomplete (the "
                                    "log was cut off mid-line or is still being written)")
            match = _HASH_SUFFIX.search(line)
            if not match:
                return Verification(False, count, number, "the line has no hash: it was edited "
                                    "or is not an audit event")
            body = line[:match.start()] + "}"
            if _line_hash(body) != match.group(1):
                return Verification(False, count, number, "the line was edited: its content no "
                                    "longer matches its hash")
            try:
                entry = json.loads(body)
            except ValueError:
                return Verification(False, count, number, "the line is not valid JSON")
            if entry.get("prev") != previous:
                where = "the first line does not start a chain" if number == 1 else (
                    f"the line does not follow line {number - 1}: a line before it was deleted, "
                    "inserted or moved")
                return Verification(False, count, number, where)
            previous = match.group(1)
            count += 1
    return Verification(True, count)
