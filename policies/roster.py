"""The pupil roster, as read from the school information system's CSV export, and how a text is
searched for a pupil's full name.

The roster is personal data of children: it is read from the state directory, kept in memory,
and never logged or echoed; findings say which field names a pupil, never which pupil.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from policies.text_matching import words


class RosterError(Exception):
    """The roster file cannot be used; the message names the row and the problem."""


MAX_NAME_WORDS = 4


@dataclass(frozen=True)
class Pupil:
    """A pupil as keys: each name folded and joined without spaces or punctuation, so that
    "O'Brien", "OBrien" and "O Brien" are one key ("obrien")."""

    first_names: frozenset[str]  # legal first name and preferred name
    surname: str
    year_group: str = ""


@dataclass(frozen=True)
class RosterColumns:
    first_name: str = "First Name"
    surname: str = "Surname"
    preferred_name: str = "Preferred Name"
    year_group: str = "Year"


@dataclass(frozen=True)
class Roster:
    pupils: tuple[Pupil, ...] = ()
    by_surname: dict[str, tuple[Pupil, ...]] = field(default_factory=dict, compare=False)
    first_names: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.pupils)


def build_roster(pupils: list[Pupil]) -> Roster:
    index: dict[str, list[Pupil]] = {}
    for pupil in pupils:
        index.setdefault(pupil.surname, []).append(pupil)
    return Roster(tuple(pupils), {key: tuple(value) for key, value in index.items()},
                  frozenset(name for pupil in pupils for name in pupil.first_names))


def name_key(text: str) -> str:
    """A name as one key: folded words joined ("Van der Berg" -> "vanderberg")."""
    return "".join(words(text))


def parse_roster(text: str, columns: RosterColumns = RosterColumns()) -> Roster:
    """Read a roster CSV. Raise RosterError naming the first bad row (never its content)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = reader.fieldnames or []
    for needed in (columns.first_name, columns.surname):
        if needed not in header:
            raise RosterError(f"the roster has no column '{needed}' (columns found: "
                              f"{', '.join(header) or 'none'}); set pupils.first_name_column and "
                              "pupils.surname_column in the configuration to match the export")
    pupils = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise RosterError(f"roster row {number} has more fields than the header")
        if not any((value or "").strip() for value in row.values()):
            continue  # blank line
        first = words(row.get(columns.first_name) or "")
        surname = name_key(row.get(columns.surname) or "")
        preferred = words(row.get(columns.preferred_name) or "")
        if not first or not surname:
            raise RosterError(f"roster row {number} has no "
                              f"{'first name' if not first else 'surname'}")
        names = {"".join(first), first[0]}  # "Mary Jane" -> "maryjane" and "mary"
        if preferred:
            names |= {"".join(preferred), preferred[0]}
        pupils.append(Pupil(frozenset(names), surname, (row.get(columns.year_group) or "").strip()))
    return build_roster(pupils)


@dataclass(frozen=True)
class NameMatch:
    """Where a name was found: the kind of match and the word positions (not the name)."""

    kind: str
    start: int
    end: int


def _keys_at(tokens: list[str], position: int) -> list[tuple[str, int]]:
    """Keys made of 1..MAX_NAME_WORDS words starting at `position`, with their last index."""
    keys, joined = [], ""
    for end in range(position, min(len(tokens), position + MAX_NAME_WORDS)):
        joined += tokens[end]
        keys.append((joined, end))
    return keys


def find_pupil_names(text: str, roster: Roster, *, window: int = 3,
                     allow_initials: bool = True, allow_first_names: bool = True
                     ) -> list[NameMatch]:
    """Find pupils named in `text`: a first name and the surname within `window` words of each
    other (either order), optionally a first name and the surname's initial, or a first name
    alone. Return where, never who."""
    tokens = words(text)
    first_at: dict[int, list[tuple[str, int]]] = {
        position: [(key, end) for key, end in _keys_at(tokens, position)
                   if key in roster.first_names] for position in range(len(tokens))}
    found: list[NameMatch] = []
    for position in range(len(tokens)):
        for key, end in _keys_at(tokens, position):
            for pupil in roster.by_surname.get(key, ()):
                for other in range(max(0, position - window - MAX_NAME_WORDS),
                                   min(len(tokens), end + window + 2)):
                    names = [(name, last) for name, last in first_at[other]
                             if name in pupil.first_names]
                    close = [(name, last) for name, last in names
                             if (last < position and position - last - 1 <= window)
                             or (other > end and other - end - 1 <= window)]
                    if close:
                        start, stop = sorted((other, end))
                        found.append(NameMatch("full name", start, max(stop, close[0][1])))
                        break
    if not allow_initials:
        for position, token in enumerate(tokens[:-1]):
            following = tokens[position + 1]
            if len(following) == 1 and any(
                    token in pupil.first_names and pupil.surname.startswith(following)
                    for pupil in roster.pupils):
                found.append(NameMatch("first name and initial", position, position + 1))
    if not allow_first_names:
        found += [NameMatch("first name", position, end)
                  for position, keys in first_at.items() for _, end in keys]
    return found
