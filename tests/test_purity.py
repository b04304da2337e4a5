"""What code may do besides compute, checked from the source (issue 17, section 3): policies
read no clock, do no file or network I/O, draw no random numbers and touch no environment.

Effects are read with tests/source_effects.py, which reads the source with `ast` and runs
nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.source_effects import impurities

ROOT = Path(__file__).resolve().parent.parent
IMPURE_SAMPLE = Path(__file__).resolve().parent / "samples" / "impure" / "policy_with_effects.py"


# -- policies are pure --------------------------------------------------------------------

POLICY_FILES = sorted((ROOT / "policies").rglob("*.py"))


def _marked(path: Path, mark: str) -> set[int]:
    return {number for number, line in enumerate(path.read_text().splitlines(), start=1)
            if line.rstrip().endswith(f"# {mark}")}


def test_the_purity_reader_flags_every_line_of_an_impure_sample_and_no_other():
    """tests/samples/impure/ holds a module written as a policy must not be: each line that
    reads the clock, does I/O, draws random numbers or touches the process is marked
    `# impure`, and each line that only looks like one (`context.now`, str.replace, a time
    of day) `# pure`."""
    flagged = {effect.line for effect in impurities(IMPURE_SAMPLE.read_text())}
    impure, pure = _marked(IMPURE_SAMPLE, "impure"), _marked(IMPURE_SAMPLE, "pure")
    assert len(impure) >= 25 and len(pure) >= 8  # the sample is what it says
    assert impure - flagged == set(), "impure lines the reader missed"
    assert flagged & pure == set(), "pure lines the reader flagged"
    assert flagged - impure == set(), "lines flagged but not marked impure in the sample"


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_policy_does_nothing_outside_its_arguments(path):
    """No clock, no file or network I/O, no randomness, no environment: what a policy decides
    depends on what it is given, so the same post is judged the same way in a test, by
    `steward check` and by the daemon."""
    assert [str(effect) for effect in impurities(path.read_text(encoding="utf-8"))] == []
