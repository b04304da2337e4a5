"""Pupils' names are found however they are disguised, and ordinary text does not turn into a
name (security issue, finding 9). The samples in tests/samples/pupil-names hold one post per
bypass; these tests pin the wording of findings and the false-positive guards."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from policies.findings import NameRules, PolicyContext
from policies.moderation.classifier import ModerationRules, classify
from policies.pupil_names import check
from policies.roster import Pupil, build_roster, find_pupil_names, parse_roster
from policies.submission import Submission

ROSTER = parse_roster((Path(__file__).resolve().parent.parent / "samples" / "roster.csv")
                      .read_text(encoding="utf-8"))


def findings_for(text: str, roster=ROSTER, **names):
    context = PolicyContext(
        now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC), time_zone="Europe/London",
        enabled_platforms=("x",), max_images={"x": 4}, max_text_length={"x": 280},
        max_media_bytes=1024, grace_minutes=60, approvals_required=1, roster=roster,
        names=NameRules(**names))
    return check(Submission(name="post", text=text), context)


@pytest.mark.parametrize("text", [
    "Well done Јаnе Ѕmіth!",            # Cyrillic letters
    "WELL DONE ΖΟΕ Ο'BRΙΕΝ!",           # Greek capitals
    "A poem by Mary Jane McDona|d",     # a pipe for an l
    "Well done JANE SMΙTH",             # a Greek capital iota among Latin capitals
    "𝐌𝐨 𝐯𝐚𝐧 𝐝𝐞𝐫 𝐁𝐞𝐫𝐠 scored",             # mathematical bold letters
])
def test_refuses_a_name_written_with_look_alike_characters(text):
    assert findings_for(text)


@pytest.mark.parametrize("text", [
    "Well done J a n e S m i t h!", "Well done J.a.n.e S.m.i.t.h!", "Well done J-a-n-e Smith",
    "Well done J4ne Sm1th!", "Zo3 O'Bri3n painted this", "Well done Јane S m і t h!",
    "Congratulations #janesmith", "Congratulations #smithjane", "Z o e O B r i e n",
])
def test_refuses_a_name_spaced_apart_run_together_or_with_digits_for_letters(text):
    assert findings_for(text)


def test_refuses_a_name_hidden_by_a_right_to_left_override_or_invisible_characters():
    assert findings_for("Well done \u202ehtimS enaJ\u202c!")
    assert findings_for("Well done Jane\u3164Smith!")
    assert findings_for("Well done Ja\u200bne Smi\u200bth!")


def test_refuses_a_disguised_first_name_where_first_names_are_not_allowed():
    assert findings_for("J4ne won the spelling bee", allow_first_names=False)
    assert findings_for("Јane won the spelling bee", allow_first_names=False)


def test_says_how_the_name_was_disguised_but_never_who():
    [finding] = findings_for("Well done Јаnе Ѕmіth!")
    assert finding.problem == ("the text names a pupil (full name, written with look-alike "
                               "characters)")
    [finding] = findings_for("Well done J.a.n.e S.m.i.t.h!")
    assert finding.problem == ("the text names a pupil (full name, written with letters spaced "
                               "or dotted apart, or digits or symbols for letters)")
    for text in ("Well done Јаnе Ѕmіth!", "Well done J4ne Sm1th!"):
        for finding in findings_for(text):
            assert "jane" not in (finding.problem + finding.fix).lower()
            assert "smith" not in (finding.problem + finding.fix).lower()


def test_a_name_written_plainly_is_reported_once_with_its_position():
    [finding] = findings_for("Well done Jane Smith!")
    assert finding.problem == "the text names a pupil (full name, at words 3-4)"


@pytest.mark.parametrize("text", [
    "Year 3 class won 3-1 on 12.10.2026 at 10:30, 5 goals and 2nd place.",
    "Our new album of Year 6 songs is out, and a burnt cake won the bake-off.",
    "A m a z i n g work from Year 4! Breakfast club opens at 5am and 7.45am.",
    "Jane brought cakes, and every class then wrote thank-you letters to Smith Farm.",
    "Room 1O and Y3 sang; the A1 road was closed; P4 went to Day Camp.",
])
def test_does_not_turn_ordinary_text_into_a_name(text):
    roster = parse_roster("First Name,Surname\nAl,Burn\nSam,Day\nJane,Smith\nAmy,Camp\n")
    assert find_pupil_names(text, roster) == []
    assert [match for match in find_pupil_names(text, roster, allow_initials=False)
            if match.kind != "first name"] == []


def test_does_not_read_numbers_next_to_a_first_name_as_an_initial():
    assert findings_for("Well done Jane, 5 goals today and Year 3 won 3-1. Jane 5th.",
                        allow_initials=False) == []


def test_a_roster_rebuilt_from_its_keys_reads_disguises_too():
    rebuilt = build_roster([Pupil(pupil.first_names, pupil.surname) for pupil in ROSTER.pupils])
    assert find_pupil_names("Well done Јаnе Ѕmіth!", rebuilt)


def test_moderation_acts_on_a_reply_naming_a_pupil_in_look_alike_letters():
    verdict = classify("Јаnе Ѕmіth is the one who did it", ModerationRules(roster=ROSTER))
    assert verdict.verdict == "act" and verdict.reasons[0] == "names-a-pupil"
