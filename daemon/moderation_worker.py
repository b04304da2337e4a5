"""Classify in a separate, short-lived process, so the daemon never carries the model.

The packaged model needs scikit-learn (about 80 MB resident); the daemon only needs it for the
seconds a sweep with new replies takes. The daemon starts `python -m daemon.moderation_worker`,
writes one JSON line with the rules, then one JSON string per text; the worker answers one JSON
verdict per line, in order, and exits. A crash of the model library cannot take the daemon down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

from policies.findings import LinkRules
from policies.moderation.classifier import ModerationRules, Verdict, classify_many
from policies.roster import Pupil, build_roster

TIMEOUT_SECONDS = 120


def rules_to_json(rules: ModerationRules) -> str:
    data = asdict(rules)
    data.pop("school_scores")
    data["roster"] = None if rules.roster is None else [
        {"first_names": sorted(p.first_names), "surname": p.surname}
        for p in rules.roster.pupils]
    return json.dumps(data)


def rules_from_json(text: str) -> ModerationRules:
    data = json.loads(text)
    roster = data.pop("roster")
    links = data.pop("links")
    return ModerationRules(
        **{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()},
        roster=None if roster is None else build_roster(
            [Pupil(frozenset(item["first_names"]), item["surname"]) for item in roster]),
        links=LinkRules(*(tuple(links[key]) for key in ("allow_domains", "deny_domains",
                                                         "extra_shorteners"))))


def classify_elsewhere(texts: list[str], rules: ModerationRules,
                       school_model: Path | None = None) -> list[Verdict]:
    """Classify `texts` in a worker process (with the school's model, if one is given and
    exists); raise RuntimeError if it fails."""
    if not texts:
        return []
    payload = "\n".join([rules_to_json(rules), *(json.dumps(text) for text in texts)]) + "\n"
    environment = dict(os.environ)
    if school_model is not None and Path(school_model).exists():
        environment["STEWARD_SCHOOL_MODEL"] = str(school_model)
    result = subprocess.run([sys.executable, "-m", "daemon.moderation_worker"],  # noqa: S603
                            input=payload, capture_output=True, text=True,
                            timeout=TIMEOUT_SECONDS, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"the classifier process failed (exit {result.returncode})")
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    if len(verdicts) != len(texts):
        raise RuntimeError("the classifier process answered the wrong number of verdicts")
    return [Verdict(item["verdict"], item["score"], tuple(item["reasons"])) for item in verdicts]


def main() -> int:
    lines = sys.stdin.read().splitlines()
    rules = rules_from_json(lines[0])
    texts = [json.loads(line) for line in lines[1:]]
    model_file = os.environ.get("STEWARD_SCHOOL_MODEL")
    if model_file:
        from daemon.moderation_training import school_model_scores  # noqa: PLC0415

        scores = school_model_scores(texts, Path(model_file))
        if scores is not None:
            rules = replace(rules, school_scores=tuple(scores))
    for verdict in classify_many(texts, rules):
        sys.stdout.write(json.dumps(verdict.as_json() | {"score": verdict.score}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
