"""What `steward moderate train` gives a school: Steward's model tuned further on a school's
labelled messages, against Steward's own model on the same held-out fifth (macro-F1 of
"flagged" against the labels, each model at its own review threshold), with the time and
peak memory the tuning took.

A school's decisions are stood in for by messages from the Davidson corpus the committed
model never trained on (its other annotation scheme, offensive against neither, is the kind
of local usage a school's moderators would teach it), or by a labelled CSV/TSV of your own
(--labelled). Needs the [train] extra (PyTorch, CPU build); prints figures only, never a
message; about 5 minutes for 1,000 messages on one core.
Run: .venv/bin/python benchmarks/moderation_training.py [--examples N] [--labelled FILE]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from moderation_quality import add_labelled_arguments, labelled  # noqa: E402

from daemon.runtime.clock import Clock  # noqa: E402
from training.moderation import TrainingError, train  # noqa: E402


def unseen_davidson(count: int) -> list[tuple[str, bool]]:
    """`count` Davidson messages outside what the committed model was trained on, both kinds
    in the corpus's own proportion, seeded."""
    from training.contextual import FIXTURES, Recipe, davidson  # noqa: PLC0415

    trained = {text for text, _ in davidson(Recipe())}
    rows = []
    with open(FIXTURES / "abuse" / "davidson-dev.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["tweet"] not in trained:
                rows.append((row["tweet"], row["class"] in ("0", "1")))
    random.Random(20261207).shuffle(rows)
    return rows[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    add_labelled_arguments(parser)
    arguments = parser.parse_args()
    if arguments.labelled:
        texts, labels = labelled(arguments.labelled[0], arguments.text_column,
                                 arguments.label_column)
        examples = list(zip(texts, labels, strict=True))[:arguments.examples]
        source = arguments.labelled[0].name
    else:
        examples = unseen_davidson(arguments.examples)
        source = "Davidson messages the committed model never saw"
    clock = Clock()
    with tempfile.TemporaryDirectory() as state_dir:
        started = clock.monotonic()
        try:
            report = train(examples, Path(state_dir),
                           progress=lambda line: print(f"  {line}", file=sys.stderr,
                                                       flush=True))
        except TrainingError as error:
            raise SystemExit(str(error)) from None
        seconds = clock.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tuned, own = report["held_out_macro_f1"], report["default_held_out_macro_f1"]
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"tuned on {report['trained_on']:,} of {len(examples):,} ({source}), "
          f"{report['held_out']:,} held out; thresholds {report['thresholds_from']}")
    print(f"held-out macro-F1: tuned {tuned:.3f}, Steward's own model {own:.3f} "
          f"(ratio {tuned / own:.2f})")
    print(f"tuning took {seconds:.0f} s (training and scoring both models), peak RSS "
          f"{peak:.0f} MB")


if __name__ == "__main__":
    main()
