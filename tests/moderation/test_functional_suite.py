"""The functional suite is data (tests/moderation/functional/cases/): these tests keep it
whole, labelled and in step with its generator. How the detector does on it is a benchmark
(benchmarks/moderation_functional.py), not a test."""

from __future__ import annotations

import csv
import random
from collections import Counter

import pytest

from tests.moderation import functional
from tests.moderation.functional import generate_disguises
from training.disguises import DISGUISES


def test_the_suite_holds_at_least_600_cases_in_every_function_the_issue_lists():
    cases = functional.load()
    assert len(cases) >= 600
    per_function = Counter(case.function for case in cases)
    assert set(per_function) == set(functional.FUNCTIONS)
    assert min(per_function.values()) >= 15


def test_every_case_says_what_is_expected_and_abusive_functions_hold_only_abusive_cases():
    for case in functional.load():
        assert case.expect in functional.EXPECTATIONS, case.function
        assert case.abusive == (case.function in functional.ABUSIVE), case.function


def test_threats_slurs_and_dehumanisation_are_expected_to_be_acted_on():
    for case in functional.load():
        if case.function in functional.THREATS + ("slur", "dehumanisation"):
            assert case.expect == "act", case.function


def test_no_message_is_in_the_suite_twice():
    texts = Counter(case.text.lower() for case in functional.load())
    assert [count for count in texts.values() if count > 1] == []


def test_every_word_named_for_disguise_is_in_its_case():
    for case in functional.load():
        if case.disguise:
            assert case.disguise.lower() in case.text.lower(), case.function


def test_the_committed_disguise_files_are_what_the_generator_writes():
    for function, rows in generate_disguises.rows_by_file().items():
        with open(functional.CASES / f"{function}.csv", encoding="utf-8", newline="") as handle:
            committed = [(row["text"], row["expect"], row["source"])
                         for row in csv.DictReader(handle)]
        assert committed == rows, f"{function}: run generate_disguises.py"


def test_every_disguise_is_tried_on_threats_and_on_hate_or_abuse():
    by_disguise: dict[str, set[str]] = {}
    for case in functional.load():
        if case.source:
            by_disguise.setdefault(case.function, set()).add(case.source)
    for function in functional.DISGUISES:
        sources = by_disguise[function]
        assert sources & set(functional.THREATS), function
        assert sources - set(functional.THREATS), function


@pytest.mark.parametrize("kind", sorted(DISGUISES))
def test_a_disguise_changes_the_word_it_is_given_and_nothing_before_it(kind):
    text = "the office said I will hurt you later"
    disguised = DISGUISES[kind](text, "hurt", random.Random(3))
    assert disguised != text
    assert disguised.startswith("the office said")
    assert DISGUISES[kind](text, "hurt", random.Random(3)) == disguised  # seeded: repeatable


def test_disguises_keep_the_shapes_people_use():
    rng = random.Random(0)
    assert DISGUISES["spaced-letters"]("go away", "away", rng) in ("go a w a y", "go a.w.a.y")
    assert DISGUISES["missing-spaces"]("you are a clown", "a", random.Random(1)).count(" ") < 3
    assert "*" in DISGUISES["asterisk-masking"]("what a clown", "clown", rng)
    assert DISGUISES["dropped-letters"]("what a clown", "clown", rng) == "what a clwn"
