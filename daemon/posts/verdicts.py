"""Waiting for the daemon's answer to a post just submitted (`steward submit`).

The submitter may not read the daemon's state, so the answer is read where the daemon leaves
it for the SLT (daemon.posts.notices): `accepted/NAME.accepted.txt`, or
`<rejected>/NAME.rejected.txt` (NAME-2..., when an earlier refusal of that name is still
there). Before submitting, `notices_now` notes which of those exist and how they look; the
answer is the first one that appears or changes afterwards. The filesystem is polled until a
deadline: no connection to the daemon is needed, and none is possible for an SLT member.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from config.settings import StewardSettings
from daemon.posts.notices import ACCEPTED_SUFFIX, REJECTED_SUFFIX, accepted_folder
from daemon.runtime.clock import Clock

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Verdict:
    """The daemon's answer: "accepted" or "refused", the notice, and what it says."""

    kind: str
    path: Path
    text: str


Seen = dict[Path, tuple[int, int]]


def _candidates(settings: StewardSettings, name: str) -> list[Path]:
    found = [accepted_folder(settings) / f"{name}{ACCEPTED_SUFFIX}"]
    rejected = settings.paths.resolved("rejected")
    pattern = re.compile(re.escape(name) + r"(-[0-9]+)?" + re.escape(REJECTED_SUFFIX))
    try:
        found += [rejected / entry for entry in os.listdir(rejected) if pattern.fullmatch(entry)]
    except OSError:
        pass
    return found


def notices_now(settings: StewardSettings, name: str) -> Seen:
    """The answers already there for `name` (identity and modification time of each)."""
    seen: Seen = {}
    for path in _candidates(settings, name):
        try:
            info = path.stat()
        except OSError:
            continue
        seen[path] = (info.st_ino, info.st_mtime_ns)
    return seen


def new_verdict(settings: StewardSettings, name: str, before: Seen) -> Verdict | None:
    """An answer for `name` that was not there, or has changed, since `before`."""
    for path, stamp in notices_now(settings, name).items():
        if before.get(path) == stamp:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        kind = "accepted" if path.name.endswith(ACCEPTED_SUFFIX) else "refused"
        return Verdict(kind, path, text)
    return None


def wait_for_verdict(settings: StewardSettings, name: str, before: Seen,
                     timeout: float, clock: Clock | None = None) -> Verdict | None:
    """Poll for the answer to `name` until `timeout` seconds have passed; None if none came."""
    clock = clock or Clock()
    deadline = clock.monotonic() + timeout
    while True:
        verdict = new_verdict(settings, name, before)
        if verdict is not None or clock.monotonic() >= deadline:
            return verdict
        time.sleep(POLL_SECONDS)
