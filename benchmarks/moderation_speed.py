"""Classification speed of the default detector, on one core: messages per second.

Uses the OLID texts when the shared fixtures are present (never printed), otherwise generated
school-reply-like sentences. Target (issue 4): >= 2,000 messages per second.
Run: taskset -c 0 .venv/bin/python benchmarks/moderation_speed.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import compare  # noqa: E402

from policies.moderation import classify_many  # noqa: E402
from policies.moderation.classifier import classify  # noqa: E402

FIXTURES = Path(os.environ.get("STEWARD_FIXTURES", Path(__file__).resolve().parents[2]
                               / "shared" / "fixtures"))


def corpus() -> tuple[str, list[str]]:
    path = FIXTURES / "abuse" / "olid-train.tsv"
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            handle.readline()
            return "OLID", [line.split("\t")[1] for line in handle if line.count("\t") >= 2]
    sentences = ["Lovely photos, thank you!", "What time does the fair start on Saturday?",
                 "Well done to the choir, you were brilliant", "Is the car park open today?"]
    return "generated", sentences * 3000


def one_at_a_time(texts: list[str]) -> float:
    """The daemon's path: each reply classified as it comes (layers and model), per second."""
    started = time.perf_counter()
    for text in texts:
        classify(text)
    return len(texts) / (time.perf_counter() - started)


def model_alone(texts: list[str]) -> float:
    """The baseline: the packaged model alone, scikit-learn's predict_prob, one a call."""
    from profanity_check import predict_prob  # noqa: PLC0415

    started = time.perf_counter()
    for text in texts:
        predict_prob([text])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    name, texts = corpus()
    classify_many(texts[:50])  # load the model once, outside the timing
    started = time.perf_counter()
    for start in range(0, len(texts), 500):
        classify_many(texts[start:start + 500])
    elapsed = time.perf_counter() - started
    cores = len(os.sched_getaffinity(0))
    print(f"default detector on {len(texts):,} {name} messages, {cores} core(s) allowed: "
          f"{len(texts) / elapsed:,.0f} messages/s in batches of 500 (target >= 2,000 on one "
          "core)")
    ours, theirs = [], []
    for round_number in range(5):  # interleaved rounds of 200 messages, one at a time
        sample = texts[round_number * 200:(round_number + 1) * 200]
        ours.append(one_at_a_time(sample))
        theirs.append(model_alone(sample))
    compare("one message at a time (layers and model, as the daemon classifies a reply)",
            "msg/s", ours, theirs, "the packaged model alone through scikit-learn")
    print("target (issue 21): >= 1,000 msg/s")


if __name__ == "__main__":
    main()
