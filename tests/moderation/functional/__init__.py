"""The functional suite: short cases written for Steward (none taken from a published test
suite), each labelled with what the detector must do, grouped by function, one CSV file per
function under `cases/` (issue 20, section 2).

A hand-written file has the columns `text`, `expect` and `disguise`: `expect` is `act` (acted
on by itself: threats, slurs, dehumanisation), `review-or-act` (abusive, a moderator may
decide) or `not-act` (must not be acted on; review is allowed); `disguise` names the word of
an abusive case that generate_disguises.py disguises. The `disguise-*.csv` files are that
script's output (columns `text`, `expect`, `source`, the function the case came from); they are
committed so that a change to the generator shows in the diff. The files hold slurs and
threats, because the suite means nothing without them: read them, never print or log them.

The targets the suite is measured against (benchmarks/moderation_functional.py) are here too,
so that the benchmark and the tests agree on which function belongs to which group.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

CASES = Path(__file__).resolve().parent / "cases"
EXPECTATIONS = ("act", "review-or-act", "not-act")

# The functions, by group, in the order the benchmark prints them.
THREATS = ("threat-direct", "threat-implied", "threat-conditional", "threat-against-staff",
           "threat-against-pupils", "threat-against-school")
HATE = ("slur", "dehumanisation", "derogation")
ABUSE = ("abuse-of-individual", "profanity-aimed")
DISGUISES = ("disguise-swapped-letters", "disguise-dropped-letters", "disguise-doubled-letters",
             "disguise-leetspeak", "disguise-spaced-letters", "disguise-missing-spaces",
             "disguise-asterisk-masking")
ABUSIVE = THREATS + HATE + ABUSE + DISGUISES
FAIR_COMPLAINTS = ("fair-criticism-school", "fair-criticism-staff", "fair-criticism-decisions",
                   "angry-complaints")
NOT_ABUSIVE = ("profanity-not-aimed", "negated-abuse", "counter-speech", "group-neutral",
               "group-positive", "reclaimed-terms", "hostility-objects-events") + FAIR_COMPLAINTS
FUNCTIONS = ABUSIVE + NOT_ABUSIVE

# Issue 20's targets: the share caught (act or review) of abusive cases, the share acted on of
# the others.
THREATS_CAUGHT = 0.98
EACH_ABUSIVE_FUNCTION_CAUGHT = 0.90
ALL_ABUSIVE_CAUGHT = 0.93
ALL_NOT_ABUSIVE_ACTED_ON = 0.08
EACH_NOT_ABUSIVE_FUNCTION_ACTED_ON = 0.15
FAIR_COMPLAINTS_ACTED_ON = 0.0


@dataclass(frozen=True)
class Case:
    """One labelled message: its function (the file's name), the text, what is expected, the
    word to disguise (hand-written abusive cases) or the function it was disguised from."""

    function: str
    text: str
    expect: str
    disguise: str = ""
    source: str = ""

    @property
    def abusive(self) -> bool:
        return self.expect != "not-act"


def read_function(function: str) -> list[Case]:
    """The cases of one function, from cases/<function>.csv."""
    with open(CASES / f"{function}.csv", encoding="utf-8", newline="") as handle:
        return [Case(function, row["text"], row["expect"], row.get("disguise") or "",
                     row.get("source") or "") for row in csv.DictReader(handle)]


def load() -> list[Case]:
    """Every case of the suite, function by function in FUNCTIONS' order."""
    return [case for function in FUNCTIONS for case in read_function(function)]


def _original_text(case: Case) -> str:
    """The hand-written case a case comes from: itself, or for a disguised case the case that
    generate_disguises.py disguised (found by running its deterministic generator)."""
    if not case.function.startswith("disguise-"):
        return case.text
    return _disguise_origins().get((case.function, case.text), case.text)


def disguised() -> list[tuple[str, str, Case]]:
    """Every disguised case generate_disguises.py writes: (its function, its text, the
    hand-written case it was made from). Each hand-written case that names a word in its
    `disguise` column gets one disguise, the disguises taken in turn, its randomness seeded by
    the case's function, text and disguise, so the output is the same on every run."""
    import random  # noqa: PLC0415

    from training.disguises import DISGUISES as APPLY  # noqa: PLC0415

    sources = [case for function in ABUSIVE if function not in DISGUISES
               for case in read_function(function) if case.disguise]
    found = []
    for number, case in enumerate(sources):
        function = DISGUISES[number % len(DISGUISES)]
        kind = function.removeprefix("disguise-")
        found.append((function, APPLY[kind](case.text, case.disguise, random.Random(
            f"{case.function}:{case.text}:{kind}")), case))
    return found


def _disguise_origins() -> dict[tuple[str, str], str]:
    global _ORIGINS  # noqa: PLW0603 - computed once: it replays every disguise
    if _ORIGINS is None:
        _ORIGINS = {(function, text): case.text for function, text, case in disguised()}
    return _ORIGINS


_ORIGINS: dict[tuple[str, str], str] | None = None


def held_out(case: Case) -> bool:
    """Whether the case is in the half the contextual model was never trained on (issue 20):
    about half of each function, chosen by a hash of the hand-written text, a disguised case
    going with the case it was made from."""
    import hashlib  # noqa: PLC0415

    return hashlib.sha256(_original_text(case).encode()).digest()[0] < 128
