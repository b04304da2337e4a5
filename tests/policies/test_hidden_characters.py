"""Hidden characters in post text are refused with a finding an SLT member can act on, and the
emoji and scripts that need joiners still pass (security issue, finding 9)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.displayed_text import as_displayed, hidden_characters
from policies.findings import PolicyContext
from policies.hidden_characters import check
from policies.pipeline import RULES
from policies.submission import ImageRef, Submission

CONTEXT = PolicyContext(
    now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC), time_zone="Europe/London",
    enabled_platforms=("x",), max_images={"x": 4}, max_text_length={"x": 280},
    max_media_bytes=1024, grace_minutes=60, approvals_required=1)


def findings_for(text: str, alt: str | None = None):
    images = (ImageRef("photo.jpg", alt),) if alt is not None else ()
    return check(Submission(name="post", text=text, images=images), CONTEXT)


@pytest.mark.parametrize("character, name", [
    ("\u200b", "ZERO WIDTH SPACE"), ("\u200c", "ZERO WIDTH NON-JOINER"),
    ("\u200d", "ZERO WIDTH JOINER"), ("\u2060", "WORD JOINER"),
    ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"), ("\u3164", "HANGUL FILLER"),
    ("\u115f", "HANGUL CHOSEONG FILLER"), ("\u1160", "HANGUL JUNGSEONG FILLER"),
    ("\uffa0", "HALFWIDTH HANGUL FILLER"), ("\u00ad", "SOFT HYPHEN"),
    ("\ufe0f", "VARIATION SELECTOR-16"), ("\U000e0041", "TAG LATIN CAPITAL LETTER A"),
    ("\u180e", "MONGOLIAN VOWEL SEPARATOR"), ("\u034f", "COMBINING GRAPHEME JOINER"),
    ("\x1b", "ESCAPE"),
])
def test_refuses_an_invisible_character_inside_a_word(character, name):
    findings = findings_for(f"Well done Ja{character}ne and the team")
    assert len(findings) == 1
    assert findings[0].problem == (f"the text contains an invisible character "
                                   f"(U+{ord(character):04X} {name}) at character 13")
    assert "Retype" in findings[0].fix
    assert findings[0].clause_id == "rochester.scrutiny" and findings[0].audience == "SLT"


@pytest.mark.parametrize("character", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
                                       "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
                                       "\u061c"])
def test_refuses_a_character_that_changes_the_direction_of_the_text(character):
    [finding] = findings_for(f"Well done {character}team")
    assert "changes the direction text is shown in" in finding.problem
    assert f"U+{ord(character):04X}" in finding.problem


def test_says_the_line_and_counts_the_same_character_once():
    [finding] = findings_for("First line\nJ\u200ba\u200bn\u200be won")
    assert finding.problem.endswith("at line 2, character 2 (and 2 more like it)")


def test_never_quotes_the_text_around_the_character():
    [finding] = findings_for("Congratulations Jane\u3164Smith")
    assert "Jane" not in finding.problem + finding.fix
    assert "Smith" not in finding.problem + finding.fix


def test_looks_at_alt_text_too():
    [finding] = findings_for("Sports day", alt="Jane\u200bSmith running")
    assert finding.problem.startswith("the alt text of image 1 contains an invisible character")


@pytest.mark.parametrize("text", [
    "👨‍👩‍👧 family day", "❤️", "We ❤️ reading", "🏳️‍🌈 Pride month", "🧑🏽‍💻 coding club",
    "❤️‍🔥 so proud", "🏃‍♀️ cross country", "Go 🏴󠁧󠁢󠁥󠁮󠁧󠁿 and 🏴󠁧󠁢󠁷󠁬󠁳󠁿!", "Number 1️⃣ in the league",
    "Année scolaire, Zoë, naïve café", "می‌خواهم", "क्‍ष", "Line one\nLine two\tTabbed",
    "Temperature 21°C ☀️",
])
def test_accepts_emoji_sequences_and_scripts_that_need_joiners(text):
    assert findings_for(text) == []


def test_refuses_a_joiner_or_selector_that_no_emoji_needs():
    assert hidden_characters("Ja\u200dne")  # between two letters
    assert hidden_characters("❤️\ufe0f\ufe0f")  # selectors stacked as filler
    assert hidden_characters("\u200d👍")  # a joiner with nothing before it
    assert hidden_characters("🏴\U000e0067\U000e0062 no cancel tag")


def test_shows_a_right_to_left_override_as_the_reader_sees_it():
    assert as_displayed("Well done \u202ehtimS enaJ\u202c!").split() == \
        ["Well", "done", "Jane", "Smith", "!"]
    assert as_displayed("\u202eenaJ") == "Jane"
    assert as_displayed("Jane\u3164Smith") == "Jane Smith"


def test_runs_in_the_pipeline():
    assert "hidden-characters" in [rule.id for rule in RULES]
