"""Whether the daemon is running, and since when, without a heartbeat that writes to disk.

While it runs, the daemon holds an exclusive lock on `<state_dir>/daemon.pid`, which says its
process id and when it started. Anyone who can read that file asks for a shared lock without
waiting: refused means the daemon holds it (it is running); granted means it is not, whatever
the file says (a daemon killed with -9, or a machine that lost power, leaves the file, but its
lock goes with the process). Nothing is written while the daemon runs.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

RUNNING_FILE = "daemon.pid"


@dataclass(frozen=True)
class Running:
    """What the lock file says: whether the daemon holds it now, its pid and start time."""

    running: bool
    pid: int | None = None
    since: str | None = None


class RunningLock:
    """Held by the daemon from start to stop."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / RUNNING_FILE
        self._descriptor: int | None = None

    def acquire(self, started: datetime) -> bool:
        """Take the lock and say who holds it; False if another daemon already runs on this
        state directory (two daemons must never share one)."""
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        record = json.dumps({"pid": os.getpid(), "since": started.isoformat(timespec="seconds")})
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (record + "\n").encode("ascii"), 0)
        self._descriptor = descriptor
        return True

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing drops the lock
            self._descriptor = None


def daemon_running(state_dir: Path) -> Running | None:
    """Whether a daemon holds the state directory's lock (None: it cannot be told from here,
    e.g. the file is not readable by this user, or no daemon ever ran)."""
    path = Path(state_dir) / RUNNING_FILE
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            record = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
        except ValueError:
            record = {}
        return Running(held_by_another(descriptor), record.get("pid"), record.get("since"))
    finally:
        os.close(descriptor)


def held_by_another(descriptor: int) -> bool:
    """Whether another process holds an exclusive lock on this open file (a running daemon:
    the lock goes when its process does, so it is never stale)."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    return False
