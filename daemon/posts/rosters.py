"""Load the pupil roster and the photo consent register from the state directory, re-reading a
file only when it changes.

Both hold children's data: they are never logged, and errors name rows, not contents.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from config.settings import StewardSettings
from policies.consent_register import ConsentColumns, ConsentRegister, parse_consent_register
from policies.roster import Roster, RosterColumns, RosterError, parse_roster

Parsed = TypeVar("Parsed")
_cache: dict[Path, tuple[tuple[int, int], object]] = {}
_lock = threading.Lock()


def roster_path(settings: StewardSettings) -> Path:
    return settings.pupils.roster_file or settings.paths.state_dir / "roster.csv"


def consent_path(settings: StewardSettings) -> Path:
    return settings.consent.register_file or settings.paths.state_dir / "consent.csv"


def _load(path: Path, parse: Callable[[str], Parsed]) -> Parsed | None:
    """Parse `path` (cached by modification time and size); None when it does not exist.

    Raise RosterError when it cannot be read or parsed.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    stamp = (info.st_mtime_ns, info.st_size)
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == stamp:
            # each file is parsed by one function (the roster's or the register's), so what
            # was cached for this path is what `parse` returns
            return cast(Parsed, cached[1])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path.name} is not UTF-8 text; export it as CSV UTF-8") from None
    except OSError as error:
        raise RosterError(f"{path.name} cannot be read ({error.strerror})") from None
    parsed = parse(text)
    with _lock:
        _cache[path] = (stamp, parsed)
    return parsed


def load_roster(settings: StewardSettings) -> Roster | None:
    pupils = settings.pupils
    columns = RosterColumns(pupils.first_name_column, pupils.surname_column,
                            pupils.preferred_name_column, pupils.year_group_column)
    return _load(roster_path(settings), lambda text: parse_roster(text, columns))


def load_consent(settings: StewardSettings) -> ConsentRegister | None:
    consent = settings.consent
    columns = ConsentColumns(consent.pupil_column, consent.photo_consent_column,
                             consent.restricted_column)
    return _load(consent_path(settings), lambda text: parse_consent_register(text, columns))
