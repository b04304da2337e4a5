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
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from policies.findings import LinkRules
from policies.moderation import layers
from policies.moderation.repair import repaired
from policies.roster import Roster


@dataclass(frozen=True)
class Verdict:
    verdict: str  # "allow" | "review" | "act"
    score: float
    reasons: tuple[str, ...]

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers that found something: the reasons without the model's score and the
        rule that decided (for an incident's 'nature', which names kinds, not arithmetic)."""
        return tuple(reason for reason in self.reasons
                     if not reason.startswith(("model ", "decided: ")))

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
    # The contextual model's probabilities (computed outside, in the moderation worker) and
    # its thresholds, from the model's model.json (the committed one, or the school's own
    # tuning of it: `steward moderate train`). With them,
    # `contextual_verdict` decides; without them (the model cannot be built here), the
    # packaged word-level model stands in and `moderation.started` says so.
    contextual_scores: tuple[float, ...] | None = None
    contextual_act: float = 0.9
    contextual_review: float = 0.5
    # The review threshold the school set for its own tuning of the model
    # (moderation.school_model_threshold); None: the one chosen on its held-out examples.
    school_review: float | None = None
    contextual_name: str = "model"  # "school-tuned model" when the school's tuning answers


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


# The layers whose pattern can be quoted, negated or condemned ("saying 'go back to your own
# country' to a child is vile"): they act only when the contextual model also reads the message
# as abusive, and go to a moderator otherwise.
CONTEXT_CHECKED = frozenset({"threat-or-violence", "identity-attack", "harassment-of-staff"})
# What acts whatever the model says: a pupil named in public (safeguarding, not tone) and the
# words the school itself listed as severe.
ALWAYS_ACT = frozenset({"names-a-pupil", "severe-language"})
# Everyday words and insults: a moderator looks when the model gives the message at least this
# share of its review threshold; below it, they are how people talk ("this homework is crap").
MILD = frozenset({"profanity", "insult"})
MILD_REVIEW_SHARE = 0.5


def contextual_verdict(hits: list[tuple[float, str]], score: float,
                       rules: ModerationRules) -> Verdict:
    """The one place the default detector decides, from the layers that fired (`hits`, each a
    layer's (score, reason)) and the contextual model's probability `score`:

    1. a pupil named, or the school's severe words: act;
    2. a threat, identity attack or harassment of staff: act when the model's score reaches
       its review threshold (it reads the message as abusive too), else review; found only
       inside quotation marks, act only when the model is sure (its act threshold), else
       review: quoted abuse is as often reported or condemned as meant;
    3. swearing or an insult: act when the model is sure (its act threshold), review when it
       gives at least MILD_REVIEW_SHARE of its review threshold, else allow (how people talk);
    4. the model alone: review at its review threshold, never act. A model that errs acts on
       a parent's fair complaint ("the head should be accountable for the fall in standards"
       scored 0.95 in the functional suite); so Steward hides a message only when a layer it
       can name found something and, for abuse, the model agrees;
    5. other layers (links, spam, personal data): by their own score against act_threshold and
       review_threshold, as before.

    A school that tuned the model on its moderators' decisions (`steward moderate train`)
    gets the same rules on its tuned model's scores and thresholds: one model, not two.

    The strongest outcome wins. The reasons name each layer that counted, then the model's
    score and thresholds, then which rule decided, so a moderator and the audit log can see
    why."""
    act, review = rules.contextual_act, rules.contextual_review
    # (0 allow, 1 review, 2 act), 1 for a layer's rule (it wins a tie: it says more), score, rule
    outcomes: list[tuple[int, int, float, str]] = []
    layers_counted: list[str] = []
    for value, reason in sorted(hits, reverse=True):
        if reason in ALWAYS_ACT:
            outcomes.append((2, 1, value, f"{reason} acts whatever the model says"))
        elif reason.endswith(QUOTED):
            if score >= act:
                outcomes.append((2, 1, max(value, score), f"{reason}, and the model is sure "
                                                          "it is abusive"))
            else:
                outcomes.append((1, 1, value, f"{reason}: quoted, perhaps to condemn it; a "
                                              "moderator decides"))
        elif reason in CONTEXT_CHECKED:
            if score >= review:
                outcomes.append((2, 1, max(value, score), f"{reason}, and the model agrees"))
            else:
                outcomes.append((1, 1, value, f"{reason}, but the model reads it as not abusive "
                                              "(quoted, negated or condemned?): a moderator "
                                              "decides"))
        elif reason in MILD:
            if score >= act:
                outcomes.append((2, 1, score, f"{reason}, and the model is sure it is abusive"))
            elif score >= review * MILD_REVIEW_SHARE:
                outcomes.append((1, 1, max(score, review), f"{reason}, and the model does not "
                                                           "read it as harmless"))
            else:
                continue  # how people talk; the model reads it as harmless
        else:
            level = 2 if value >= rules.act_threshold else 1 if value >= \
                rules.review_threshold else 0
            outcomes.append((level, 1, value, reason))
        layers_counted.append(reason)
    if score >= act:
        outcomes.append((1, 0, score, "the model is sure it is abusive, and the model alone "
                                      "never acts"))
    elif score >= review:
        outcomes.append((1, 0, score, "the model reads it as possibly abusive"))
    level, _, value, rule = max(outcomes, default=(0, 0, score, "nothing found"))
    verdict = ("allow", "review", "act")[level]
    model = f"{rules.contextual_name} {score:.3f} (acts at {act:.3f}, reviews at {review:.3f})"
    return Verdict(verdict, value if level else score,
                   (*layers_counted, model, f"decided: {rule}"))


def classify_many(texts: list[str], rules: ModerationRules = ModerationRules()) -> list[Verdict]:
    """Classify a batch of messages (one model call for the whole batch)."""
    if rules.contextual_scores is not None:
        return [contextual_verdict(layer_hits(text, rules), score, rules)
                for text, score in zip(texts, rules.contextual_scores, strict=True)]
    results = []
    for text, model in zip(texts, model_scores(texts), strict=True):
        hits = layer_hits(text, rules)
        if model >= rules.review_threshold:
            # On its own, the model's probability can only ask for review; acting needs
            # model_act, or corroboration (below).
            hits.append((min(model, rules.act_threshold - 0.01), "model"))
        surest = model
        score = max((hit[0] for hit in hits), default=model)
        mild = {reason for value, reason in hits if reason in ("profanity", "insult")}
        if surest >= rules.model_act or (mild and surest >= rules.corroborated_model_act):
            score = max(score, rules.act_threshold + (1 - rules.act_threshold) * surest / 2)
        verdict = ("act" if score >= rules.act_threshold else
                   "review" if score >= rules.review_threshold else "allow")
        results.append(Verdict(verdict, score, tuple(reason for _, reason in
                                                     sorted(hits, reverse=True))))
    return results


def layer_hits(text: str, rules: ModerationRules) -> list[tuple[float, str]]:
    """What each rule-based layer found in the message (score, reason): in the message as
    written and in it with disguised words repaired (policies.moderation.repair). A threat or
    an identity attack found only inside quotation marks ("'go back to your country' is
    racist") is marked QUOTED: it is as often condemned as meant."""
    lexicon = school_lexicon(rules.add_words, rules.remove_words)
    found = {reason: score for score, reason in _layers(text, rules, lexicon)}
    fixed = repaired(text, lexicon)
    if fixed is not None:
        for score, reason in _layers(fixed, rules, lexicon):
            found[reason] = max(score, found.get(reason, 0.0))
    unquoted = QUOTED_SPAN.sub(" ", text)
    if unquoted != text:
        outside = {reason for _, reason in _layers(unquoted, rules, lexicon)}
        for reason in CONTEXT_CHECKED & found.keys() - outside:
            found[f"{reason} {QUOTED}"] = found.pop(reason)
    return [(score, reason) for reason, score in found.items()]


# Text between quotation marks, straight or curly; an apostrophe inside a word ("don't")
# opens nothing.
QUOTED_SPAN = re.compile(r"(?<!\w)(['\"\u2018\u201c])(?=\S)(.+?)(?<=\S)['\"\u2019\u201d](?!\w)")
QUOTED = "(quoted)"


def _layers(text: str, rules: ModerationRules, lexicon: frozenset[str]
            ) -> list[tuple[float, str]]:
    severe = frozenset(word.lower() for word in rules.add_words)
    found = [
        layers.threat_layer(text),
        layers.identity_layer(text),
        layers.lexicon_layer(text, lexicon, severe),
        layers.staff_layer(text, rules.staff_names, lexicon),
        layers.pupil_data_layer(text, rules.roster),
        layers.spam_layer(text, rules.links),
        layers.insult_layer(text),
    ]
    return [hit for hit in found if hit is not None]


def classify(text: str, rules: ModerationRules = ModerationRules()) -> Verdict:
    return classify_many([text], rules)[0]
