"""What a connector remembers of an upload in chunks, so that a restarted publish goes on from
where it stopped instead of sending the video again.

A platform that uploads in chunks (`capabilities.resumable_uploads`) records, after each step
the platform acknowledged, an `UploadProgress` in an `UploadJournal` the daemon gives it (the
daemon's is the SQLite store, so the record survives a kill -9). Keyed by the platform and the
file's SHA-256: the bytes Steward checked are the bytes being uploaded. The connector forgets
the record once the post is made, when the platform refuses the file for good, and ignores it
once the platform's upload session has expired.

The connector never reads the clock: the expiry is the platform's (its `Date` header plus the
seconds it gives), and waiting between status checks goes through the daemon's clock
(`WaitsAndReadsTheTime`), which a test moves by hand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class UploadProgress:
    """One upload in chunks as far as the platform acknowledged it."""

    media_id: str
    total_bytes: int
    chunk_bytes: int  # the size of every segment but the last, fixed at the first attempt
    segments_sent: int  # segments 0 .. segments_sent - 1 are on the platform
    finalized: bool
    expires_at: float  # POSIX seconds: after this the platform forgets `media_id`


class UploadJournal(Protocol):
    """Where a connector keeps `UploadProgress` across restarts."""

    def upload_progress(self, platform: str, sha256: str) -> UploadProgress | None: ...

    def record_upload(self, platform: str, sha256: str, progress: UploadProgress) -> None: ...

    def forget_upload(self, platform: str, sha256: str) -> None: ...


class MemoryJournal:
    """A journal that lasts as long as the process: a retry within it resumes, a restart
    uploads again. For connectors built without the daemon (commands, tests)."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], UploadProgress] = {}
        self._lock = threading.Lock()

    def upload_progress(self, platform: str, sha256: str) -> UploadProgress | None:
        with self._lock:
            return self._records.get((platform, sha256))

    def record_upload(self, platform: str, sha256: str, progress: UploadProgress) -> None:
        with self._lock:
            self._records[(platform, sha256)] = progress

    def forget_upload(self, platform: str, sha256: str) -> None:
        with self._lock:
            self._records.pop((platform, sha256), None)


class WaitsAndReadsTheTime(Protocol):
    """What an upload asks of the daemon's clock (`daemon.runtime.clock.Clock`): the time, and
    a wait of so many seconds (a `FixedClock` moves itself instead of sleeping)."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...
