"""The one place Steward reads the clock.

Every module that needs "now" takes a `Clock`; tests pass a `FixedClock` they move by hand
instead of patching `time` (the pattern of fail2ban's `server/mytime.py`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time in UTC, and a monotonic clock for measuring durations."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return seconds from an arbitrary origin that never go backwards."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` (a platform asked Steward to look again later)."""
        time.sleep(max(0.0, seconds))


class FixedClock(Clock):
    """A clock that only moves when told to; for tests and reproducible runs."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        """Waiting on a fixed clock moves it on instead."""
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by `seconds`."""
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds
