"""Load the pupil roster from the state directory, re-reading it only when the file changes.

The roster holds children's names: it is never logged; the audit log records only that it was
loaded, how many pupils it holds and the file's hash.
"""

from __future__ import annotations

import threading
from pathlib import Path

from config.settings import StewardSettings
from policies.roster import Roster, RosterColumns, RosterError, parse_roster
from policies.submission import file_sha256

_cache: dict[Path, tuple[tuple[int, int], Roster]] = {}
_lock = threading.Lock()


def roster_path(settings: StewardSettings) -> Path:
    return settings.pupils.roster_file or settings.paths.state_dir / "roster.csv"


def load_roster(settings: StewardSettings) -> Roster | None:
    """The roster, or None when there is no roster file. Raise RosterError if it is unusable."""
    path = roster_path(settings)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    stamp = (info.st_mtime_ns, info.st_size)
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
    pupils = settings.pupils
    columns = RosterColumns(pupils.first_name_column, pupils.surname_column,
                            pupils.preferred_name_column, pupils.year_group_column)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path.name} is not UTF-8 text; export it as CSV UTF-8") from None
    except OSError as error:
        raise RosterError(f"{path.name} cannot be read ({error.strerror})") from None
    roster = parse_roster(text, columns)
    with _lock:
        _cache[path] = (stamp, roster)
    return roster


def roster_fingerprint(settings: StewardSettings) -> str:
    return file_sha256(roster_path(settings))
