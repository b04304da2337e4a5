"""The packaged model scored without scikit-learn's per-call checks gives scikit-learn's very
floats, message by message, so every verdict is the one it was."""

from __future__ import annotations

import csv

import pytest
from profanity_check import predict_prob

from policies.moderation.classifier import classify, classify_many, model_scores, packaged_scorer

SENTENCES = ["Lovely photos, thank you!", "What time does the fair start on Saturday?",
             "you are an idiot and a disgrace", "", "   ", "!!!", "the the the and of",
             "Well done to the choir, you were brilliant", "shut up shut up SHUT UP",
             "Zoë’s class won — brilliant 🎉", "http://example.invalid/win?prize=1",
             "damn damn damn damn damn damn damn damn", "a" * 5000]


def test_the_scorer_knows_the_packaged_model():
    assert packaged_scorer() is not None


def test_scores_are_scikit_learns_to_the_last_bit():
    assert model_scores(SENTENCES) == [float(score) for score in predict_prob(SENTENCES)]
    many = SENTENCES * 30  # scored by scikit-learn, in one call: the same floats
    assert model_scores(many) == model_scores(SENTENCES) * 30


def test_scores_of_the_labelled_sets_are_scikit_learns_to_the_last_bit(fixtures_dir):
    texts = []
    with open(fixtures_dir / "abuse" / "olid-train.tsv", encoding="utf-8") as handle:
        handle.readline()
        texts += [line.split("\t")[1] for line in handle if line.count("\t") >= 2]
    davidson = fixtures_dir / "abuse" / "davidson-dev.csv"
    if davidson.exists():
        with open(davidson, encoding="utf-8", newline="") as handle:
            texts += [row[-1] for row in csv.reader(handle)][1:]
    assert len(texts) > 10_000
    score = packaged_scorer()
    assert score is not None
    assert [score(text) for text in texts] == [float(score) for score in predict_prob(texts)]


@pytest.mark.parametrize("text", SENTENCES)
def test_one_message_at_a_time_gets_the_verdict_of_a_batch(text):
    assert classify(text) == classify_many(SENTENCES)[SENTENCES.index(text)]
