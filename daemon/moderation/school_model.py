"""The school's own tuning of the contextual model, as the daemon sees it: where it lives,
whether it is used (and a sentence saying so, or why not), and what the detector in use can be
expected to catch.

`steward moderate train` (the `training` package, [train] extra) fine-tunes the committed
adapter further on the school's examples and saves the result under
`<state_dir>/moderation/school-tuning/`: `adapter.safetensors` and `model.json`, in the same
form as the committed model (daemon/moderation/model/), with the report of how it did on the
school's held-out examples under `school`. The folder is swapped in whole, so a half-finished
save is never picked up. The daemon runs it exactly as it runs the committed model (one int8
graph, one ONNX Runtime session in the moderation worker): a further fine-tune of the same
model, not a second one (issue 20).
"""

from __future__ import annotations

from pathlib import Path

from daemon.moderation.contextual_model import (
    ContextualModelUnavailable,
    tuned_description,
    tuning_sentence,
)


def tuning_directory(state_dir: Path) -> Path:
    return Path(state_dir) / "moderation" / "school-tuning"


def old_model_path(state_dir: Path) -> Path:
    """Where an earlier version kept a second, separately trained network: no longer used."""
    return Path(state_dir) / "moderation" / "school-model.json"


def school_model_status(state_dir: Path) -> tuple[bool, str]:
    """Whether the daemon will use a school's tuning, and a sentence saying so (or why not), for
    the `moderation.started` event: a model that is silently ignored helps nobody."""
    folder = tuning_directory(state_dir)
    if not (folder / "model.json").exists():
        if old_model_path(state_dir).exists():
            return False, ("not used: the school model was trained by an earlier version of "
                           "Steward as a second network; run `steward moderate train` again to "
                           "tune Steward's own model instead")
        return False, "none trained (the default detector runs alone)"
    try:
        description = tuned_description(folder)
    except ContextualModelUnavailable as error:
        return False, f"not used: {error}"
    return True, f"in use: {tuning_sentence(description)}"


# What each detector was measured to catch (benchmarks/moderation_quality.py --olid-test and
# benchmarks/moderation_functional.py, 2026-12-07: the OLID test set and the held-out half of
# Steward's functional suite, neither trained on nor used to choose a threshold), said at
# start-up so that nobody believes Steward catches more than it does.
DEFAULT_DETECTOR_LIMITS = (
    "the default detector (the contextual model with pattern layers) flagged 71% of offensive "
    "messages in the OLID test set, which it never saw, with 12% of clean ones sent to review "
    "and 97% of what it acted on rightly; Steward aims for 78%. In its own functional suite "
    "it caught 95% of threats (the aim is 98%) and acted on no fair complaint. It reads "
    "English only, misses sarcasm and veiled threats, and does not read images or "
    "video. A school can tune it on its moderators' decisions (`steward moderate train`)")
SCHOOL_MODEL_LIMITS = (
    "the school's tuning of the contextual model answers, with the pattern layers; it was "
    "measured only on the school's own held-out examples (see `moderation.started`'s "
    "school_model), and it still reads English only, misses sarcasm and does not read images "
    "or video")


def detector_limits(school_model_in_use: bool) -> str:
    """One plain sentence on what the detector in use can be expected to catch."""
    return SCHOOL_MODEL_LIMITS if school_model_in_use else DEFAULT_DETECTOR_LIMITS
