"""Write the functional suite's disguise files from its hand-written abusive cases.

Each hand-written case that names a word in its `disguise` column gets one disguise, the
disguises taken in turn (the first such case is swapped, the second dropped, ...), so that
every disguise is tried on threats, slurs and insults alike. The randomness of a disguise
(which letters) is seeded by the case's function, text and disguise, so the output is the same
on every run and a change shows in the diff. Run after changing a case or training/disguises.py:

    .venv/bin/python tests/moderation/functional/generate_disguises.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.moderation.functional import CASES, DISGUISES, disguised  # noqa: E402


def rows_by_file() -> dict[str, list[tuple[str, str, str]]]:
    """Each disguise file's rows (text, expect, source), by the file's function name."""
    rows: dict[str, list[tuple[str, str, str]]] = {function: [] for function in DISGUISES}
    for function, text, case in disguised():
        if text == case.text:
            raise SystemExit(f"{function} left a case of {case.function} unchanged")
        rows[function].append((text, case.expect, case.function))
    return rows


def main() -> None:
    for function, rows in rows_by_file().items():
        with open(CASES / f"{function}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["text", "expect", "source"])
            writer.writerows(rows)
        print(f"{function}: {len(rows)} cases")


if __name__ == "__main__":
    main()
