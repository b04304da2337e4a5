"""The photo consent register: which pupils may be pictured, and who is on the restricted list.

Read from the school's CSV (one row per pupil: name, photo consent yes/no, restricted yes/no;
column names configurable). Like the roster, it holds children's data: never logged.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from policies.roster import RosterError, name_key

YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}


@dataclass(frozen=True)
class ConsentColumns:
    pupil: str = "Pupil"
    photo_consent: str = "Photo Consent"
    restricted: str = "Restricted"


@dataclass(frozen=True)
class ConsentEntry:
    photo_consent: bool
    restricted: bool


@dataclass(frozen=True)
class ConsentRegister:
    entries: dict[str, ConsentEntry] = field(default_factory=dict)

    def lookup(self, pupil: str) -> ConsentEntry | None:
        return self.entries.get(name_key(pupil))


def _flag(value: str | None, row: int, column: str) -> bool:
    text = (value or "").strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise RosterError(f"consent register row {row}: '{column}' must be yes or no")


def parse_consent_register(text: str, columns: ConsentColumns = ConsentColumns()
                           ) -> ConsentRegister:
    """Read the register; raise RosterError naming the first bad row (never its content)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = reader.fieldnames or []
    for needed in (columns.pupil, columns.photo_consent):
        if needed not in header:
            raise RosterError(f"the consent register has no column '{needed}' (columns found: "
                              f"{', '.join(header) or 'none'}); set consent.* columns in the "
                              "configuration to match")
    entries = {}
    for number, row in enumerate(reader, start=2):
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue
        key = name_key(row.get(columns.pupil) or "")
        if not key:
            raise RosterError(f"consent register row {number} has no pupil name")
        entries[key] = ConsentEntry(
            _flag(row.get(columns.photo_consent), number, columns.photo_consent),
            _flag(row.get(columns.restricted), number, columns.restricted)
            if columns.restricted in header else False)
    return ConsentRegister(entries)
