"""Classify in a separate, long-lived process, so that a crash of a model library cannot take
the daemon down and the daemon itself never carries the model.

The moderator starts `python -m daemon.moderation.worker` at its first sweep and keeps it
(`ClassifierWorker`). The worker opens the contextual model once (building its int8 graph in the
state directory at the very first start: daemon.moderation.contextual_model) and answers
requests, one JSON line each way:

- on start it writes `{"ready": true, "detector": SENTENCE, "contextual": BOOL, "tuned":
  BOOL, "tuning_failed": BOOL}`: which detector answers (the contextual model, as the school
  tuned it (STEWARD_SCHOOL_TUNING names the folder) or as committed, or why not and what
  stands in);
- then for each `{"rules": RULES, "texts": [...]}` it writes `{"verdicts": [...]}`.

A worker that dies, hangs or answers nonsense is killed and started afresh at the next request;
the replies it was given are classified again then (the sweep's cursor has not moved).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, fields
from functools import cache
from pathlib import Path

from pydantic import TypeAdapter

from daemon.runtime.clock import Clock
from policies.findings import LinkRules
from policies.moderation.classifier import ModerationRules, Verdict, classify_many
from policies.roster import Pupil, build_roster

TIMEOUT_SECONDS = 120
# The first start builds the int8 graph (about 20 s on one core, more on a busy machine).
START_TIMEOUT_SECONDS = 600


def rules_to_json(rules: ModerationRules) -> str:
    data = asdict(rules)
    data.pop("contextual_scores")
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
    """One request as the worker reads it: a JSON line with the rules and the texts."""
    return json.dumps({"rules": json.loads(rules_to_json(rules)), "texts": texts}) + "\n"


def model_cache_directory(state_dir: Path) -> Path:
    """Where the contextual model's int8 graph is built and kept: the state directory, unless
    STEWARD_MODEL_CACHE names another folder (the test suite builds it once for every test;
    the graph's name and recorded SHA-256 keep a stale or foreign one from being used)."""
    override = os.environ.get("STEWARD_MODEL_CACHE")
    return Path(override) if override else Path(state_dir) / "moderation" / "contextual"


class ClassifierWorker:
    """The worker process, started when first needed and kept; thread-safe."""

    def __init__(self, model_cache: Path | None, school_tuning: Path | None = None,
                 on_ready: Callable[[dict], None] = lambda status: None) -> None:
        self.model_cache = model_cache
        self.school_tuning = school_tuning
        self.on_ready = on_ready
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self.status: dict = {}
        self._school_tuning_seen: tuple[int, int] | None = None

    def _school_tuning_version(self) -> tuple[int, int] | None:
        """Which school's tuning is there (its model.json's inode and modification time): one
        trained again (or removed) while the worker runs is picked up by starting the worker
        afresh."""
        if self.school_tuning is None:
            return None
        try:
            found = (Path(self.school_tuning) / "model.json").stat()
        except OSError:
            return None
        return found.st_ino, found.st_mtime_ns

    def _start(self) -> None:
        environment = dict(os.environ)
        if self.model_cache is not None:
            environment["STEWARD_MODEL_CACHE"] = str(self.model_cache)
        if self.school_tuning is not None:
            environment["STEWARD_SCHOOL_TUNING"] = str(self.school_tuning)
        self._buffer = b""
        self._school_tuning_seen = self._school_tuning_version()
        self._process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "daemon.moderation.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment)
        self.status = self._answer(START_TIMEOUT_SECONDS)
        if self.status.get("ready") is not True:
            raise RuntimeError("the classifier process did not start")
        self.on_ready(self.status)

    def _answer(self, timeout: float) -> dict:
        """The worker's next line, parsed; RuntimeError when it dies or takes too long."""
        assert self._process is not None and self._process.stdout is not None
        clock = Clock()  # real seconds: a worker's answer does not wait for a FixedClock
        deadline = clock.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - clock.monotonic()
                if left <= 0 or not selector.select(left):
                    raise RuntimeError(f"the classifier process gave no answer in {timeout:.0f} s")
                chunk = os.read(self._process.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise RuntimeError(f"the classifier process ended (exit "
                                       f"{self._process.wait()})")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError:
            raise RuntimeError("the classifier process answered something that is not JSON") \
                from None
        if not isinstance(answer, dict):
            raise RuntimeError("the classifier process answered something unexpected")
        return answer

    def classify(self, texts: list[str], rules: ModerationRules) -> list[Verdict]:
        """Verdicts for `texts`, in order; RuntimeError (and the worker stopped) on failure."""
        if not texts:
            return []
        with self._lock:
            try:
                if self._process is not None and (
                        self._school_tuning_version() != self._school_tuning_seen):
                    self._stop()
                if self._process is None or self._process.poll() is not None:
                    self._start()
                assert self._process is not None and self._process.stdin is not None
                self._process.stdin.write(worker_input(rules, texts).encode())
                self._process.stdin.flush()
                answer = self._answer(TIMEOUT_SECONDS)
                verdicts = [Verdict(item["verdict"], float(item["score"]),
                                    tuple(item["reasons"])) for item in answer["verdicts"]]
            except (OSError, KeyError, TypeError, ValueError, RuntimeError) as error:
                self._stop()
                if isinstance(error, RuntimeError):
                    raise
                raise RuntimeError(f"the classifier process failed ({type(error).__name__})") \
                    from None
        if len(verdicts) != len(texts):
            raise RuntimeError("the classifier process answered the wrong number of verdicts")
        return verdicts

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()

    def close(self) -> None:
        """Stop the worker (it exits when its input closes)."""
        with self._lock:
            self._stop()


def classify_elsewhere(texts: list[str], rules: ModerationRules,
                       school_tuning: Path | None = None,
                       model_cache: Path | None = None) -> list[Verdict]:
    """Classify `texts` in a worker started for this call alone (commands and tests; the
    daemon keeps one `ClassifierWorker`)."""
    worker = ClassifierWorker(model_cache, school_tuning)
    try:
        return worker.classify(texts, rules)
    finally:
        worker.close()


def main() -> int:
    from daemon.moderation.contextual_model import (  # noqa: PLC0415 - only the worker
        detector_sentence,
        open_contextual_model,
        with_scores,
    )

    cache = os.environ.get("STEWARD_MODEL_CACHE")
    tuning = os.environ.get("STEWARD_SCHOOL_TUNING")
    model, why_not = open_contextual_model(Path(cache) if cache else None,
                                           tuning=Path(tuning) if tuning else None)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "contextual": model is not None,
                          "tuned": model is not None and model.tuned,
                          "tuning_failed": model is not None and bool(model.tuning_note),
                          "detector": detector_sentence(model, why_not)}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        rules = rules_from_json(json.dumps(request["rules"]))
        texts = [str(text) for text in request["texts"]]
        answer: dict[str, object] = {}
        verdicts = classify_many(texts, with_scores(texts, rules, model))
        answer["verdicts"] = [verdict.as_json() | {"score": verdict.score}
                              for verdict in verdicts]
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
