"""The pupil roster, as read from the school information system's CSV export, and how a text is
searched for a pupil's full name.

The roster is personal data of children: it is read from the state directory, kept in memory,
and never logged or echoed; findings say which field names a pupil, never which pupil.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from policies.text_matching import DISGUISED_READINGS, words


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
    # The same pupils as each disguised reading of a text sees them (text_matching), by the
    # reading's disguise; built once here so that each post is only read, never the roster.
    disguised: dict[str, Roster] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.pupils)


def _indexed(pupils: list[Pupil]) -> Roster:
    index: dict[str, list[Pupil]] = {}
    for pupil in pupils:
        index.setdefault(pupil.surname, []).append(pupil)
    return Roster(tuple(pupils), {key: tuple(value) for key, value in index.items()},
                  frozenset(name for pupil in pupils for name in pupil.first_names))


def build_roster(pupils: list[Pupil]) -> Roster:
    """The roster of `pupils`, indexed by surname, with its disguised readings."""
    roster = _indexed(pupils)
    for reading in DISGUISED_READINGS:
        seen = []
        for pupil in pupils:
            first_names = frozenset(key for key in map(reading.key, pupil.first_names) if key)
            surname = reading.key(pupil.surname)
            if first_names and surname:
                seen.append(Pupil(first_names, surname, pupil.year_group))
        roster.disguised[reading.disguise] = _indexed(seen)
    return roster


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
    """Where a name was found: the kind of match and the word positions (not the name).

    A name found only in a disguised reading of the text has no positions (start and end
    are -1) and says how it was disguised."""

    kind: str
    start: int
    end: int
    disguise: str = ""


def _keys_at(tokens: list[str], position: int) -> list[tuple[str, int]]:
    """Keys made of 1..MAX_NAME_WORDS words starting at `position`, with their last index."""
    keys, joined = [], ""
    for end in range(position, min(len(tokens), position + MAX_NAME_WORDS)):
        joined += tokens[end]
        keys.append((joined, end))
    return keys


def _names_run_together(token: str, roster: Roster) -> bool:
    """Whether `token` is one pupil's first name and surname written as one word, either way
    round ("#janesmith", "J.a.n.e S.m.i.t.h" once its letters are joined)."""
    for cut in range(2, len(token) - 1):
        head, tail = token[:cut], token[cut:]
        if any(head in pupil.first_names for pupil in roster.by_surname.get(tail, ())):
            return True
        if any(tail in pupil.first_names for pupil in roster.by_surname.get(head, ())):
            return True
    return False


def _find_in_words(tokens: list[str], roster: Roster, window: int, allow_initials: bool,
                   allow_first_names: bool, run_together: bool = True) -> list[NameMatch]:
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
    if run_together:
        found += [NameMatch("full name", position, position)
                  for position, token in enumerate(tokens)
                  if len(token) > 3 and _names_run_together(token, roster)]
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


def _count(matches: list[NameMatch], kind: str) -> int:
    return sum(1 for match in matches if match.kind == kind)


def find_pupil_names(text: str, roster: Roster, *, window: int = 3,
                     allow_initials: bool = True, allow_first_names: bool = True
                     ) -> list[NameMatch]:
    """Find pupils named in `text`: a first name and the surname within `window` words of each
    other (either order) or run together, optionally a first name and the surname's initial,
    or a first name alone. Return where, never who.

    The text is read as written (as displayed) and then in each disguised reading
    (text_matching.DISGUISED_READINGS); a reading that finds more names of a kind than the
    readings before it adds those, without positions, saying how they were disguised."""
    options = (window, allow_initials, allow_first_names)
    found = _find_in_words(words(text), roster, *options)
    for reading in DISGUISED_READINGS:
        view = roster.disguised.get(reading.disguise)
        if view is None:
            continue
        for tokens in reading.word_lists(text):
            matches = _find_in_words(tokens, view, *options, reading.run_together)
            for kind in dict.fromkeys(match.kind for match in matches):
                extra = _count(matches, kind) - _count(found, kind)
                found += [NameMatch(kind, -1, -1, reading.disguise)] * max(0, extra)
    return found
