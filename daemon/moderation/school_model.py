"""The school's own moderation model, as the daemon uses it: where it lives, whether it is usable,
what the detector in use can be expected to catch, and scoring with ONNX Runtime.

`steward moderate train` (the `training` package, [train] extra) saves under
`<state_dir>/moderation/`: `school-model/` holds the fine-tuned network exported to ONNX and its
tokenizer, and `school-model.json` the threshold and the report, written last so that a
half-finished save is never picked up. The daemon scores with ONNX Runtime, not PyTorch: it
starts in half a second instead of five, and it writes no machine code at run time, which the
systemd unit's MemoryDenyWriteExecute forbids.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from policies.moderation.normalise import for_encoder

MAX_TOKENS = 64
# What school-model.json's "format" says the folder holds. onnx-2: reads for_encoder()'s text
# (emoji spelled out, hashtags split); an onnx-1 model read the raw text and must be retrained.
MODEL_FORMAT = "onnx-2"


def model_path(state_dir: Path) -> Path:
    return Path(state_dir) / "moderation" / "school-model.json"


def encoder_directory(state_dir: Path) -> Path:
    return Path(state_dir) / "moderation" / "school-model"


def school_model_status(state_dir: Path) -> tuple[bool, str]:
    """Whether the daemon will use a school model, and a sentence saying so (or why not), for
    the `moderation.started` event: a model that is silently ignored helps nobody."""
    path = model_path(state_dir)
    if not path.exists():
        return False, "none trained (the default detector runs alone)"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, f"not used: {path} cannot be read; run `steward moderate train` again"
    if saved.get("format") != MODEL_FORMAT or not encoder_directory(state_dir).is_dir():
        return False, ("not used: it was trained by an earlier version of Steward; run "
                       "`steward moderate train` again")
    if not _runtime_installed():
        return False, ("not used: ONNX Runtime is not installed here; install the [train] "
                       "extra with `pip install -e \".[train]\"` or remove the model")
    return True, (f"in use: trained {saved.get('trained_at', '?')} on "
                  f"{saved.get('examples', '?')} examples, held-out macro-F1 "
                  f"{saved.get('held_out_macro_f1', '?')}")


# What each detector was measured to catch (benchmarks/moderation_quality.py --olid-test and
# benchmarks/moderation_functional.py, 2026-12-07: the OLID test set and the held-out half of
# Steward's functional suite, neither trained on nor used to choose a threshold), said at
# start-up so that nobody believes Steward catches more than it does.
DEFAULT_DETECTOR_LIMITS = (
    "the default detector (the contextual model with pattern layers) flagged 70% of offensive "
    "messages in the OLID test set, which it never saw, with 12% of clean ones sent to review "
    "and 96% of what it acted on rightly; Steward aims for 78%. In its own functional suite "
    "it caught 91% of threats (the aim is 98%) and acted on no fair complaint. It reads "
    "English only, misses sarcasm and most implied threats, and does not read images or "
    "video. A school model (`steward moderate train`) adds a second opinion")
SCHOOL_MODEL_LIMITS = (
    "with a school model trained on OLID, the detector flagged 82% of offensive messages in the "
    "OLID test set, which it had not seen, with 21% of clean ones sent to review (raise "
    "moderation.school_model_threshold for fewer reviews); its own macro-F1 there was 0.796, "
    "against a target of 0.80")


def detector_limits(school_model_in_use: bool) -> str:
    """One plain sentence on what the detector in use can be expected to catch."""
    return SCHOOL_MODEL_LIMITS if school_model_in_use else DEFAULT_DETECTOR_LIMITS


def saved_threshold(state_dir: Path) -> float:
    """The probability the school's model was scored at (its report's `threshold`), which is
    where it asks for review; 0.5 when there is no model or its report cannot be read."""
    try:
        return float(json.loads(model_path(state_dir).read_text(encoding="utf-8"))
                     .get("threshold", 0.5))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.5


def school_model_scores(texts: list[str], path: Path) -> list[float] | None:
    """Probabilities from the school's model, or None when there is none, it is from an older
    version, or ONNX Runtime is not installed. Raises if the model is there but broken."""
    path = Path(path)
    folder = path.parent / "school-model"
    if not path.exists() or not folder.is_dir():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved.get("format") != MODEL_FORMAT:
        return None  # from an earlier version: `steward moderate train` again to use one
    if not _runtime_installed():
        return None
    return onnx_scores(folder, texts)


def _runtime_installed() -> bool:
    """Whether what runs the school model (ONNX Runtime and the tokenizers) is installed."""
    import importlib.util  # noqa: PLC0415

    return all(importlib.util.find_spec(name) is not None
               for name in ("onnxruntime", "tokenizers"))


def onnx_scores(folder: Path, texts: list[str]) -> list[float]:
    """Run the exported model in `folder` with ONNX Runtime, one thread, in batches. The
    session and tokenizer are opened once (0.9 s) and kept while the files are unchanged."""
    import numpy  # noqa: PLC0415

    files = (Path(folder) / "model.onnx", Path(folder) / "tokenizer.json")
    session, tokenizer = _opened(str(folder), tuple(os.stat(path).st_mtime_ns for path in files))
    scores: list[float] = []
    for start in range(0, len(texts), 128):
        encoded = tokenizer.encode_batch([for_encoder(text) for text in texts[start:start + 128]])
        feed = {name: numpy.array([getattr(item, field) for item in encoded], dtype=numpy.int64)
                for name, field in (("input_ids", "ids"), ("attention_mask", "attention_mask"),
                                    ("token_type_ids", "type_ids"))}
        scores += [float(score) for score in session.run(None, feed)[0]]
    return scores


@lru_cache(maxsize=2)
def _opened(folder: str, versions: tuple[int, ...]):
    """ONNX Runtime's session and the tokenizer for the model in `folder`; `versions` (the
    files' modification times) makes a model trained again open afresh."""
    import onnxruntime  # noqa: PLC0415
    from tokenizers import Tokenizer  # noqa: PLC0415

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its notices are not the school's business
    session = onnxruntime.InferenceSession(str(Path(folder) / "model.onnx"), options,
                                           providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    return session, tokenizer
