"""Classify in a separate, short-lived process, so the daemon never carries the model.

The packaged model needs scikit-learn (about 80 MB resident); the daemon only needs it for the
seconds a sweep with new replies takes. The daemon starts `python -m daemon.moderation.worker`,
writes one JSON line with the rules, then one JSON string per text; the worker answers one JSON
verdict per line, in order, and exits. A crash of the model library cannot take the daemon down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from functools import cache
from pathlib import Path

from pydantic import TypeAdapter

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


@cache
def _rules_adapter() -> TypeAdapter[ModerationRules]:
    return TypeAdapter(ModerationRules)


def rules_from_json(text: str) -> ModerationRules:
    """The rules `rules_to_json` wrote, each field checked against its type by pydantic
    (which also turns JSON's lists into the tuples the rules hold)."""
    data = json.loads(text)
    roster = data.pop("roster")
    links = data.pop("links")
    unknown = data.keys() - {field.name for field in fields(ModerationRules)}
    if unknown:  # pydantic ignores them in a stdlib dataclass; ModerationRules(**) refused them
        raise TypeError(f"the rules name unknown fields: {', '.join(sorted(unknown))}")
    data["roster"] = None if roster is None else build_roster(
        [Pupil(frozenset(item["first_names"]), item["surname"]) for item in roster])
    data["links"] = LinkRules(*(tuple(links[key]) for key in ("allow_domains", "deny_domains",
                                                              "extra_shorteners")))
    return _rules_adapter().validate_python(data)


def worker_input(rules: ModerationRules, texts: list[str]) -> str:
    """What the worker reads on stdin: the rules on one line, then one JSON string per text."""
    return "\n".join([rules_to_json(rules), *(json.dumps(text) for text in texts)]) + "\n"


SCHOOL_MODEL_FAILED = "school model failed: "


def classify_elsewhere(texts: list[str], rules: ModerationRules,
                       school_model: Path | None = None,
                       on_school_model_failure: Callable[[str], None] = lambda reason: None,
                       ) -> list[Verdict]:
    """Classify `texts` in a worker process (with the school's model, if one is given and
    exists); raise RuntimeError if it fails. If only the school's model fails, the default
    detector's verdicts come back and `on_school_model_failure` is told why."""
    if not texts:
        return []
    payload = worker_input(rules, texts)
    environment = dict(os.environ)
    if school_model is not None and Path(school_model).exists():
        environment["STEWARD_SCHOOL_MODEL"] = str(school_model)
    result = subprocess.run([sys.executable, "-m", "daemon.moderation.worker"],  # noqa: S603
                            input=payload, capture_output=True, text=True,
                            timeout=TIMEOUT_SECONDS, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"the classifier process failed (exit {result.returncode})")
    for line in result.stderr.splitlines():
        if line.startswith(SCHOOL_MODEL_FAILED):
            on_school_model_failure(line.removeprefix(SCHOOL_MODEL_FAILED))
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    if len(verdicts) != len(texts):
        raise RuntimeError("the classifier process answered the wrong number of verdicts")
    return [Verdict(item["verdict"], item["score"], tuple(item["reasons"])) for item in verdicts]


def describe_failure(error: Exception, texts: list[str]) -> str:
    """The error's kind and message, one line, but never a message being classified (a
    tokenizer's complaint could quote one, and the reason goes to the audit log)."""
    message = " ".join(str(error).split())[:200]
    if any(len(text) >= 4 and text[:40] in str(error) for text in texts):
        message = "(its message quoted a reply, so it is not repeated here)"
    return f"{type(error).__name__}: {message}"


def main() -> int:
    lines = sys.stdin.read().splitlines()
    rules = rules_from_json(lines[0])
    texts = [json.loads(line) for line in lines[1:]]
    model_file = os.environ.get("STEWARD_SCHOOL_MODEL")
    if model_file:
        from daemon.moderation.school_model import school_model_scores  # noqa: PLC0415

        try:
            scores = school_model_scores(texts, Path(model_file))
        except Exception as error:  # noqa: BLE001 - whatever broke, the default still answers
            sys.stderr.write(SCHOOL_MODEL_FAILED + describe_failure(error, texts) + "\n")
            scores = None
        if scores is not None:
            rules = replace(rules, school_scores=tuple(scores))
    for verdict in classify_many(texts, rules):
        sys.stdout.write(json.dumps(verdict.as_json() | {"score": verdict.score}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
