"""The pattern layers read threats in the shapes people write them, see through disguised
words, and leave a threat or slur that is only quoted for a moderator unless the model is sure.
(Invented examples; the functional suite in tests/moderation/functional/ measures the rest.)"""

from __future__ import annotations

import pytest

from policies.moderation import ModerationRules
from policies.moderation.classifier import contextual_verdict, layer_hits, school_lexicon
from policies.moderation.layers import threat_layer
from policies.moderation.repair import repaired

RULES = ModerationRules(contextual_act=0.95, contextual_review=0.5)


def reasons(text: str) -> set[str]:
    return {reason for _, reason in layer_hits(text, ModerationRules())}


@pytest.mark.parametrize("text", [
    "I am going to snap your neck",          # harm to a body part
    "we will make you pay for this",
    "the new caretaker is getting jumped",   # harm foretold
    "she deserves to be battered",
    "say that again and you're dead",         # conditional
    "your card is marked, your days are numbered",
    "I know which house is yours",
    "I'll be waiting outside your house",
    "there is a bomb under the stage",        # against the school
    "I will bring a knife to sports day",
])
def test_threats_in_their_usual_shapes_are_found(text):
    assert threat_layer(text) is not None


@pytest.mark.parametrize("text", [
    "the cuts are going to hurt the children",   # a fair complaint, no one promising harm
    "we'll smash them at netball on Saturday",
    "I will never hurt anyone",
    "I know where the office is",
    "I'm waiting for your reply about the trip",
    "my therapist says the homework load is too much",
])
def test_everyday_sentences_are_not_threats(text):
    assert "threat-or-violence" not in reasons(text)


def test_masked_swapped_doubled_and_dropped_letters_are_repaired_into_the_vocabulary():
    lexicon = school_lexicon((), ())
    assert repaired("what a st*pid idea", lexicon) == "what a stupid idea"
    assert repaired("you absolute mroon", lexicon) == "you absolute moron"
    assert repaired("I will kiill you", lexicon) is not None
    assert "stab" in repaired("gonna staabb you", lexicon)
    assert "kill" in repaired("I will kll you", lexicon)


def test_ordinary_words_are_left_as_they_are():
    lexicon = school_lexicon((), ())
    for text in ("good luck everyone", "my son cut his knee", "the therapist was lovely",
                 "the assassin in the play was brilliant"):
        assert repaired(text, lexicon) is None, text


def test_words_run_together_are_split_when_abuse_is_among_them():
    assert repaired("that lad is gettingbeaten", school_lexicon((), ())) == (
        "that lad is getting beaten")


def test_a_quoted_threat_goes_to_a_moderator_unless_the_model_is_sure():
    text = "whoever wrote 'I will stab you' to my daughter should be ashamed"
    assert reasons(text) >= {"threat-or-violence (quoted)"}
    unsure = contextual_verdict(layer_hits(text, RULES), 0.7, RULES)
    assert unsure.verdict == "review" and "quoted" in unsure.reasons[-1]
    sure = contextual_verdict(layer_hits(text, RULES), 0.97, RULES)
    assert sure.verdict == "act"


def test_the_same_threat_unquoted_is_acted_on_when_the_model_agrees():
    text = "I will stab you"
    assert contextual_verdict(layer_hits(text, RULES), 0.6, RULES).verdict == "act"


def test_an_apostrophe_inside_a_word_opens_no_quotation():
    assert "threat-or-violence" in reasons("don't think I won't, I'll stab you")
