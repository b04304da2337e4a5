"""Combine the layers into one verdict per message: `act` (evidence, hide, sanction, report),
`review` (a moderator decides) or `allow`.

Threats, identity attacks, pupils named, staff harassed and the school's own severe words act
on their own; the packaged model acts alone only when very sure (`model_act`), or when the word
list or an insult pattern agrees (`corroborated_model_act`); the word list and insults alone go
to a moderator, because everyday words ("hell", "kill time") are on any such list. The score is
the strongest signal's; thresholds are configurable. The packaged model
(alt-profanity-check, a linear model on word n-grams that ships inside its wheel) is called
once per batch, which is what makes thousands of messages per second possible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from policies.findings import LinkRules
from policies.moderation import layers
from policies.roster import Roster


@dataclass(frozen=True)
class Verdict:
    verdict: str  # "allow" | "review" | "act"
    score: float
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"verdict": self.verdict, "score": round(self.score, 3),
                "reasons": list(self.reasons)}


@dataclass(frozen=True)
class ModerationRules:
    """What the classifier needs from the school's configuration."""

    act_threshold: float = 0.9
    review_threshold: float = 0.25
    model_act: float = 0.99
    corroborated_model_act: float = 0.97
    add_words: tuple[str, ...] = ()
    remove_words: tuple[str, ...] = ()
    staff_names: tuple[str, ...] = ()
    roster: Roster | None = None
    links: LinkRules = field(default_factory=LinkRules)
    school_scores: tuple[float, ...] | None = None  # the school's own model, computed outside
    # The school model's probability at or above which it asks for review: the threshold its
    # held-out macro-F1 was measured at, unless the school sets another. Not review_threshold,
    # which suits the packaged model's scale: at 0.25 a model fine-tuned on OLID sent 35% of
    # clean held-out messages to review, against 24% at 0.5.
    school_threshold: float = 0.5


@lru_cache(maxsize=1)
def packaged_lexicon() -> frozenset[str]:
    """The word list that ships inside the better-profanity wheel (read, never printed)."""
    text = resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text(
        encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and " " not in line.strip())


@lru_cache(maxsize=8)
def school_lexicon(add: tuple[str, ...], remove: tuple[str, ...]) -> frozenset[str]:
    return (packaged_lexicon() | {word.lower() for word in add}) - {w.lower() for w in remove}


def model_scores(texts: list[str]) -> list[float]:
    """Probabilities from the packaged model (offline; its weights ship in the wheel)."""
    if not texts:
        return []
    scorer = packaged_scorer() if len(texts) < SCIKIT_LEARN_FROM else None
    if scorer is not None:
        return [scorer(text) for text in texts]
    from profanity_check import predict_prob  # noqa: PLC0415 - loads the model on first use

    return [float(score) for score in predict_prob(texts)]


# From this many texts a call, scikit-learn's one call for the batch outruns scoring each (its
# checks cost ~10 ms a call, not a text); both give the same floats.
SCIKIT_LEARN_FROM = 256


@lru_cache(maxsize=1)
def packaged_scorer() -> Callable[[str], float] | None:
    """The packaged model's probability for one text, computed from its fitted parts as
    scikit-learn computes it (TF-IDF, each fold's linear score and sigmoid, their mean), the
    same operations in the same order, so the same floats: without scikit-learn's checks of
    its input, which cost 13 ms a call and made one reply at a time 100 a second. None when
    the model is not of the shape this knows (a new release): then scikit-learn scores."""
    from profanity_check import profanity_check as packaged  # noqa: PLC0415 - loads the model

    vectorizer, model = packaged.vectorizer, packaged.model
    try:
        folds = model.calibrated_classifiers_
        shaped = (type(vectorizer).__name__ == "TfidfVectorizer" and vectorizer.norm == "l2"
                  and vectorizer.use_idf and not vectorizer.sublinear_tf
                  and not vectorizer.binary and list(model.classes_) == [0, 1]
                  and all(fold.method == "sigmoid" and len(fold.calibrators) == 1
                          and list(fold.classes) == [0, 1]
                          and list(fold.estimator.classes_) == [0, 1]
                          and fold.estimator.coef_.shape == (1, len(vectorizer.idf_))
                          for fold in folds))
    except AttributeError:
        return None
    if not shaped:
        return None
    analyse = vectorizer.build_analyzer()
    vocabulary = vectorizer.vocabulary_
    idf = [float(weight) for weight in vectorizer.idf_]
    weights = [[float(w) for w in fold.estimator.coef_[0]] for fold in folds]
    intercepts = [float(fold.estimator.intercept_[0]) for fold in folds]
    sigmoids = [(float(fold.calibrators[0].a_), float(fold.calibrators[0].b_)) for fold in folds]

    def score(text: str) -> float:
        counts: dict[int, int] = {}
        for token in analyse(text):
            index = vocabulary.get(token)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        indices = sorted(counts)
        values = [float(counts[index]) * idf[index] for index in indices]
        total = 0.0
        for value in values:
            total += value * value
        if total != 0.0:
            norm = math.sqrt(total)
            values = [value / norm for value in values]
        mean = 0.0
        for fold_weights, intercept, (a, b) in zip(weights, intercepts, sigmoids, strict=True):
            decision = 0.0
            for index, value in zip(indices, values, strict=True):
                decision += value * fold_weights[index]
            # scipy's expit(-(a * d + b)): 1 / (1 + exp(a * d + b)) in C, where an exp too
            # large for a float is infinite and the probability 0
            try:
                mean += min(1.0 / (1.0 + math.exp(a * (decision + intercept) + b)), 1.0)
            except OverflowError:
                mean += 0.0
        return mean / len(weights)

    return score


def classify_many(texts: list[str], rules: ModerationRules = ModerationRules()) -> list[Verdict]:
    """Classify a batch of messages (one model call for the whole batch)."""
    lexicon = school_lexicon(rules.add_words, rules.remove_words)
    severe = frozenset(word.lower() for word in rules.add_words)
    results = []
    school = list(rules.school_scores) if rules.school_scores is not None else [None] * len(texts)
    for text, model, own in zip(texts, model_scores(texts), school, strict=True):
        found = [
            layers.threat_layer(text),
            layers.identity_layer(text),
            layers.lexicon_layer(text, lexicon, severe),
            layers.staff_layer(text, rules.staff_names, lexicon),
            layers.pupil_data_layer(text, rules.roster),
            layers.spam_layer(text, rules.links),
            layers.insult_layer(text),
        ]
        hits = [hit for hit in found if hit is not None]
        if model >= rules.review_threshold:
            # On its own, the model's probability can only ask for review; acting needs
            # model_act, or corroboration (below).
            hits.append((min(model, rules.act_threshold - 0.01), "model"))
        surest = model
        if own is not None and own >= rules.school_threshold:
            # The school's trained model is a second opinion, on its own scale.
            hits.append((min(max(own, rules.review_threshold), rules.act_threshold - 0.01),
                         "school-model"))
            surest = max(model, own)
        score = max((hit[0] for hit in hits), default=model)
        mild = {reason for value, reason in hits if reason in ("profanity", "insult")}
        if surest >= rules.model_act or (mild and surest >= rules.corroborated_model_act):
            score = max(score, rules.act_threshold + (1 - rules.act_threshold) * surest / 2)
        verdict = ("act" if score >= rules.act_threshold else
                   "review" if score >= rules.review_threshold else "allow")
        results.append(Verdict(verdict, score, tuple(reason for _, reason in
                                                     sorted(hits, reverse=True))))
    return results


def classify(text: str, rules: ModerationRules = ModerationRules()) -> Verdict:
    return classify_many([text], rules)[0]
