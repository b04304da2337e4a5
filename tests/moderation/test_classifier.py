"""Classifying replies and comments: what is acted on, what a moderator sees, what is allowed.
Every example here is invented; the labelled corpora are only used by the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from policies.moderation import ModerationRules, classify, classify_many
from policies.moderation.normalise import words
from policies.roster import parse_roster

ROSTER = parse_roster((Path(__file__).resolve().parent.parent / "samples" / "roster.csv")
                      .read_text(encoding="utf-8"))


@pytest.mark.parametrize("text", [
    "Lovely photos, thank you to all the staff!",
    "What time does the Christmas fair start?",
    "My son had a brilliant time at the museum",
    "Is the school closed tomorrow because of the snow?",
    "We're going to get some cakes for the bake sale",
    "I'll find you a spare costume for the play",
    "Killing time before pick-up, great newsletter",
])
def test_allows_ordinary_messages_from_parents(text):
    assert classify(text).verdict == "allow"


@pytest.mark.parametrize("text", [
    "I will find you after school and hurt you",
    "i know where you live",
    "watch your back",
    "I'm going to smash your windows",
    "someone should burn the school down, burn the school",
    # violence wished on someone rather than promised
    "I'd love to punch that PE teacher",
    "that teacher needs a slap",
    "someone should slap that receptionist",
    "hope the school burns down",
    "hope he gets what's coming",
    "go die",
])
def test_acts_on_threats_made_and_violence_wished_on_someone(text):
    verdict = classify(text)
    assert verdict.verdict == "act" and "threat-or-violence" in verdict.reasons


@pytest.mark.parametrize("text", [
    "I'd hate to hurt her feelings",
    "I could kill for a coffee after that",
    "I'd love to shoot the nativity for the newsletter",
    "hope these memories never die",
    "I'd love to hit the shops after the fair",
    "I hope the rumour dies down",
    "the kids need a hiding place for the egg hunt",
    "I'd love to beat the other team next year",
])
def test_everyday_words_of_violence_are_not_taken_for_threats(text):
    assert "threat-or-violence" not in classify(text).reasons


@pytest.mark.parametrize("text", [
    "Mr Example is a creep",
    "teachers here are thick as mince",
    "what a bunch of muppets",
    "get a real job you parasites",
    "useless, the lot of them",
])
def test_insults_without_a_pronoun_first_go_to_a_moderator(text):
    verdict = classify(text)
    assert verdict.verdict in ("review", "act") and "insult" in verdict.reasons


def test_abbreviated_and_plural_swearing_is_still_swearing():
    assert "profanity" in classify("f off").reasons
    assert "profanity" in classify("total tw@ts").reasons


@pytest.mark.parametrize("text", ["all immigrants are vermin", "go back to your own country"])
def test_acts_on_identity_attacks(text):
    assert classify(text).reasons[0] == "identity-attack"


def test_sees_through_obfuscation():
    for disguised in ("sh1t", "s h i t", "s.h.i.t", "shiiiiit", "\u0455hit"):
        assert "shit" in words(disguised), disguised


def test_a_swear_word_alone_goes_to_a_moderator_not_straight_to_action():
    assert classify("oh hell, I forgot the permission slip").verdict in ("allow", "review")


def test_acts_on_harassment_of_named_staff():
    rules = ModerationRules(staff_names=("Mrs Example",))
    verdict = classify("Mrs Example is a useless idiot", rules)
    assert verdict.verdict == "act" and "harassment-of-staff" in verdict.reasons


def test_acts_on_a_comment_naming_a_pupil_in_full():
    verdict = classify("Jane Smith is the one who did it", ModerationRules(roster=ROSTER))
    assert verdict.verdict == "act" and verdict.reasons[0] == "names-a-pupil"


def test_the_schools_own_severe_words_are_acted_on():
    rules = ModerationRules(add_words=("grockle",))
    assert classify("what a gr0ckle", rules).verdict == "act"


def test_suspicious_links_and_spam_go_to_review_at_least():
    assert classify("Free followers here bit.ly/abc123").verdict in ("review", "act")
    assert classify("DM me for a crypto investment opportunity").verdict == "review"


def test_reasons_never_repeat_the_message():
    verdict = classify("you are a pathetic idiot")
    assert all(word not in " ".join(verdict.reasons) for word in ("pathetic", "idiot"))


def test_a_batch_keeps_its_order():
    texts = ["Thank you!", "I will hurt you", "See you at sports day"]
    assert [v.verdict for v in classify_many(texts)] == ["allow", "act", "allow"]


@pytest.mark.slow
def test_moderate_classify_prints_one_json_verdict_per_line_in_order(tmp_path):
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "daemon.cli.main", "moderate", "classify", "--jsonl", "--config",
         str(config)], input="Thank you!\nI will find you after school and hurt you\n\n",
        capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["verdict"] for line in lines] == ["allow", "act", "allow"]
    assert all(set(line) == {"verdict", "score", "reasons"} and 0 <= line["score"] <= 1
               for line in lines)


def contextual(texts: list[str], rules: ModerationRules) -> ModerationRules:
    """The rules with the contextual model's scores, as the worker fills them in."""
    from daemon.moderation.contextual_model import ContextualModel, with_scores  # noqa: PLC0415
    from daemon.moderation.worker import model_cache_directory  # noqa: PLC0415

    return with_scores(texts, rules, ContextualModel(model_cache_directory(Path("unused"))))


@pytest.mark.slow
def test_the_worker_process_classifies_exactly_as_the_daemon_would():
    from daemon.moderation.worker import (  # noqa: PLC0415
        classify_elsewhere,
        rules_from_json,
        rules_to_json,
    )
    from policies.findings import LinkRules  # noqa: PLC0415

    rules = ModerationRules(staff_names=("Mrs Example",), roster=ROSTER, add_words=("grockle",),
                            links=LinkRules(deny_domains=("casino.example",)))
    assert rules_from_json(rules_to_json(rules)).roster.by_surname.keys() == \
        ROSTER.by_surname.keys()
    texts = ["Thank you!", "Mrs Example is useless", "Jane Smith did it", "gr0ckle",
             "see casino.example/win"]
    assert classify_elsewhere(texts, rules) == classify_many(texts, contextual(texts, rules))
