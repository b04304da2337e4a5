"""Moderation quality of the default detector on the labelled corpora in the shared fixtures.

The corpora contain real slurs and threats: this script prints figures only, never a message.
OLID (OffensEval 2019 training set): OFF/NOT. Davidson et al. 2017: hate/offensive vs neither;
the packaged model was trained on Davidson, so its figures there flatter the model and are shown
for completeness only. Printed: precision of `act`, recall of `act + review` on offensive
messages, the share of clean messages sent to review (or acted on), and macro-F1 of offensive
(`act` or `review`) against clean, the OffensEval measure (best system 0.829).
The OLID test set (860 tweets, never trained on) is not in the fixtures or the repository: point
--olid-test (or $STEWARD_OLID_TEST) at a folder holding OffensEval's testset-levela.tsv and
labels-levela.csv; without it that part is skipped and the reason printed.
Targets (issue 20, on the OLID test set): act precision >= 0.90; act + review recall >= 0.78
with at most 15% of clean messages sent to review; macro-F1 >= 0.81.
Run: .venv/bin/python benchmarks/moderation_quality.py [--olid-test DIR]
     [--labelled FILE ...]   also score labelled messages that are not in the fixtures: a CSV
                             or TSV with a text and a label column (as `steward moderate train`
                             reads them: offensive/clean, 1/0, OFF/NOT; --text-column tweet and
                             --label-column subtask_a by default, OLID's names)
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies.moderation import ModerationRules, classify_many  # noqa: E402
from training.moderation import TrainingError, read_examples  # noqa: E402

FIXTURES = Path(os.environ.get("STEWARD_FIXTURES", Path(__file__).resolve().parents[2]
                               / "shared" / "fixtures"))


def olid() -> tuple[list[str], list[bool]]:
    texts, labels = [], []
    with open(FIXTURES / "abuse" / "olid-train.tsv", encoding="utf-8") as handle:
        handle.readline()
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                texts.append(parts[1])
                labels.append(parts[2] == "OFF")
    return texts, labels


def olid_test(folder: Path) -> tuple[list[str], list[bool]]:
    """OffensEval 2019's test set, level A: the tweets and the gold labels, matched by id."""
    with open(folder / "labels-levela.csv", encoding="utf-8-sig", newline="") as handle:
        gold = {row[0]: row[1] == "OFF" for row in csv.reader(handle) if len(row) >= 2}
    texts, labels = [], []
    with open(folder / "testset-levela.tsv", encoding="utf-8-sig") as handle:
        handle.readline()
        for line in handle:
            identifier, _, text = line.rstrip("\n").partition("\t")
            if identifier in gold:
                texts.append(text)
                labels.append(gold[identifier])
    if len(texts) != len(gold):
        raise SystemExit(f"{folder}: {len(gold)} labels but {len(texts)} tweets matched")
    return texts, labels


def olid_test_folder(given: Path | None) -> tuple[Path | None, str]:
    """The OLID test set's folder, or None and why not."""
    folder = given or (Path(os.environ["STEWARD_OLID_TEST"])
                       if os.environ.get("STEWARD_OLID_TEST") else None)
    if folder is None:
        return None, "no --olid-test folder given and STEWARD_OLID_TEST is not set"
    missing = [name for name in ("testset-levela.tsv", "labels-levela.csv")
               if not (folder / name).is_file()]
    if missing:
        return None, f"{folder} has no {' or '.join(missing)}"
    return folder, ""


def davidson() -> tuple[list[str], list[bool]]:
    texts, labels = [], []
    with open(FIXTURES / "abuse" / "davidson-dev.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            texts.append(row["tweet"])
            labels.append(row["class"] in ("0", "1"))
    return texts, labels


def labelled(path: Path, text_column: str, label_column: str) -> tuple[list[str], list[bool]]:
    """Messages and labels from a file of the caller's (for figures on messages not in the
    fixtures, which the detector's thresholds were never chosen on)."""
    try:
        examples = read_examples(path, text_column, label_column)
    except (OSError, TrainingError) as error:
        raise SystemExit(f"cannot read {path}: {error}") from None
    return [text for text, _ in examples], [label for _, label in examples]


def add_labelled_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labelled", type=Path, action="append", default=[],
                        metavar="FILE", help="also score this labelled CSV/TSV (repeatable)")
    parser.add_argument("--text-column", default="tweet")
    parser.add_argument("--label-column", default="subtask_a")


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def contextual(texts: list[str], rules: ModerationRules) -> list[str]:
    """The default detector since issue 20: the layers and the contextual model."""
    from daemon.moderation.contextual_model import open_contextual_model, with_scores  # noqa: PLC0415

    global _MODEL  # noqa: PLW0603 - opened once for every set the benchmark scores
    if _MODEL is None:
        cache = Path(os.environ.get("STEWARD_MODEL_CACHE") or tempfile.mkdtemp(prefix="model-"))
        _MODEL, why_not = open_contextual_model(cache)
        if _MODEL is None:
            raise SystemExit(f"the contextual model cannot be used: {why_not}")
    return [verdict.verdict for verdict in classify_many(texts, with_scores(texts, rules,
                                                                              _MODEL))]


_MODEL = None


def packaged(texts: list[str], rules: ModerationRules) -> list[str]:
    """The detector before issue 20: the layers and the packaged word-level model."""
    return [verdict.verdict for verdict in classify_many(texts, rules)]


DETECTORS = {"contextual": contextual, "packaged": packaged}
DETECTOR = [contextual]


def report(name: str, texts: list[str], labels: list[bool], rules: ModerationRules) -> dict:
    verdicts = DETECTOR[0](texts, rules)
    offensive = sum(labels)
    clean = len(labels) - offensive
    act_tp = sum(1 for v, y in zip(verdicts, labels, strict=True) if v == "act" and y)
    acted = sum(1 for v in verdicts if v == "act")
    flagged_tp = sum(1 for v, y in zip(verdicts, labels, strict=True) if v != "allow" and y)
    clean_flagged = sum(1 for v, y in zip(verdicts, labels, strict=True) if v != "allow" and not y)
    clean_review = sum(1 for v, y in zip(verdicts, labels, strict=True) if v == "review" and not y)
    tn = clean - clean_flagged
    macro = (f1(flagged_tp, clean_flagged, offensive - flagged_tp)
             + f1(tn, offensive - flagged_tp, clean_flagged)) / 2
    figures = {"act precision": act_tp / acted if acted else 0.0,
               "act+review recall": flagged_tp / offensive,
               "clean sent to review": clean_review / clean,
               "clean flagged (review or act)": clean_flagged / clean,
               "macro-F1": macro}
    print(f"{name} ({len(texts):,} messages, {offensive / len(texts):.0%} offensive):")
    for key, value in figures.items():
        print(f"  {key:<30} {value:.3f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_labelled_arguments(parser)
    parser.add_argument("--olid-test", type=Path, metavar="DIR",
                        help="folder with OffensEval 2019's testset-levela.tsv and "
                             "labels-levela.csv (default: $STEWARD_OLID_TEST)")
    parser.add_argument("--detector", choices=sorted(DETECTORS), default="contextual")
    arguments = parser.parse_args()
    DETECTOR[0] = DETECTORS[arguments.detector]
    test_folder, why_not = olid_test_folder(arguments.olid_test)
    if not (FIXTURES / "abuse").is_dir() and not arguments.labelled and test_folder is None:
        raise SystemExit(f"no abuse corpora at {FIXTURES / 'abuse'} (set STEWARD_FIXTURES, or "
                         "name a labelled file with --labelled)")
    rules = ModerationRules()
    print(f"detector: {arguments.detector}")
    if test_folder is not None:
        report("OLID test set (never trained on)", *olid_test(test_folder), rules)
    else:
        print(f"OLID test set: skipped ({why_not})")
    if (FIXTURES / "abuse").is_dir():
        report("OLID training set (the contextual model trained on 90% of it)", *olid(), rules)
        report("Davidson (both models were trained on it)", *davidson(), rules)
    for path in arguments.labelled:
        report(f"{path.name} (not in the fixtures)",
               *labelled(path, arguments.text_column, arguments.label_column), rules)
    print("targets (OLID test set): act precision >= 0.90; act+review recall >= 0.78 with clean "
          "sent to review <= 0.15; macro-F1 >= 0.81")


if __name__ == "__main__":
    main()
