"""A school's own tuning of the contextual model (`steward moderate train`): used in place of
Steward's own model when it checks out, set aside (and said so) when it does not, with the
review threshold the school chose; one model, never a second one beside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from daemon.moderation.contextual_model import (
    COMMITTED,
    ContextualModel,
    committed_description,
    open_contextual_model,
    with_scores,
)
from daemon.moderation.school_model import school_model_status, tuning_directory
from daemon.moderation.worker import ClassifierWorker, model_cache_directory
from policies.moderation import ModerationRules, classify_many

THREAT = "I will find you after school and hurt you"


def a_tuning(state_dir: Path, **changes) -> Path:
    """A school's tuning as `moderate train` saves one: here the committed adapter itself,
    with a report and thresholds of its own."""
    folder = tuning_directory(state_dir)
    folder.mkdir(parents=True)
    shutil.copy(COMMITTED / "adapter.safetensors", folder)
    description = committed_description()
    description |= {"base_adapter_sha256": description["adapter_sha256"],
                    "thresholds": {"act": 0.97, "review": 0.4},
                    "school": {"trained_at": "2026-12-07T10:00:00+00:00", "examples": 400,
                               "held_out_macro_f1": 0.84,
                               "default_held_out_macro_f1": 0.8}} | changes
    (folder / "model.json").write_text(json.dumps(description), encoding="utf-8")
    return folder


def test_with_no_tuning_steward_says_none_is_trained(tmp_path):
    assert school_model_status(tmp_path) == (False, "none trained (the default detector runs "
                                                    "alone)")


def test_a_tuning_is_used_with_its_own_thresholds_and_said_so(tmp_path):
    folder = a_tuning(tmp_path)
    usable, why = school_model_status(tmp_path)
    assert usable and "held-out macro-F1 0.84, against 0.8" in why
    model, _ = open_contextual_model(model_cache_directory(tmp_path), tuning=folder)
    assert model is not None and model.tuned and model.thresholds.review == 0.4
    verdict, = classify_many([THREAT], with_scores([THREAT], ModerationRules(), model))
    assert any(reason.startswith("school-tuned model ") for reason in verdict.reasons)


def test_the_review_threshold_the_school_sets_applies_to_its_tuning_only(tmp_path):
    rules = ModerationRules(school_review=0.7)
    tuned, _ = open_contextual_model(model_cache_directory(tmp_path),
                                     tuning=a_tuning(tmp_path))
    assert with_scores(["hello"], rules, tuned).contextual_review == 0.7
    own = ContextualModel(model_cache_directory(tmp_path))
    assert with_scores(["hello"], rules, own).contextual_review == own.thresholds.review


def test_a_tuning_of_an_earlier_model_is_set_aside_and_said_so(tmp_path):
    folder = a_tuning(tmp_path, base_adapter_sha256="0" * 64)
    usable, why = school_model_status(tmp_path)
    assert not usable and "earlier version of Steward" in why and "moderate train" in why
    model, _ = open_contextual_model(model_cache_directory(tmp_path), tuning=folder)
    assert model is not None and not model.tuned
    assert "the school's own tuning is not used" in model.tuning_note


def test_a_damaged_adapter_is_never_used(tmp_path):
    folder = a_tuning(tmp_path)
    with open(folder / "adapter.safetensors", "r+b") as adapter:
        adapter.seek(-8, 2)
        adapter.write(b"\x00" * 8)  # a copy cut short or altered
    usable, why = school_model_status(tmp_path)
    assert not usable and "is not the adapter model.json describes" in why


def test_an_earlier_versions_second_network_is_reported_as_unused(tmp_path):
    (tmp_path / "moderation").mkdir()
    (tmp_path / "moderation" / "school-model.json").write_text('{"format": "onnx-2"}')
    usable, why = school_model_status(tmp_path)
    assert not usable and "second network" in why and "moderate train" in why


def test_the_daemon_reads_the_schools_review_threshold_from_its_configuration(tmp_path):
    from config.loading import load_settings  # noqa: PLC0415
    from daemon.moderation.rules import moderation_rules  # noqa: PLC0415

    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path}"\n')
    assert moderation_rules(load_settings(config)).school_review is None
    config.write_text(f'[paths]\nstate_dir = "{tmp_path}"\n[moderation]\n'
                      "school_model_threshold = 0.8\n")
    assert moderation_rules(load_settings(config)).school_review == 0.8


@pytest.mark.slow
def test_a_broken_tuning_leaves_stewards_own_model_answering_in_the_worker(tmp_path):
    folder = a_tuning(tmp_path)
    (folder / "model.json").write_text('{"format": ')  # a save cut short by a full disk
    texts = ["Thank you!", THREAT]
    worker = ClassifierWorker(model_cache_directory(tmp_path), folder)
    try:
        verdicts = worker.classify(texts, ModerationRules())
        assert worker.status["tuning_failed"] is True and worker.status["tuned"] is False
        assert "the school's own tuning is not used" in worker.status["detector"]
    finally:
        worker.close()
    own = ContextualModel(model_cache_directory(tmp_path))
    assert verdicts == classify_many(texts, with_scores(texts, ModerationRules(), own))


@pytest.mark.slow
def test_a_tuning_installed_while_the_worker_runs_is_picked_up(tmp_path):
    worker = ClassifierWorker(model_cache_directory(tmp_path), tuning_directory(tmp_path))
    try:
        worker.classify(["Thank you!"], ModerationRules())
        assert worker.status["tuned"] is False
        a_tuning(tmp_path)
        verdict, = worker.classify([THREAT], ModerationRules())
        assert worker.status["tuned"] is True
        assert any(reason.startswith("school-tuned model ") for reason in verdict.reasons)
    finally:
        worker.close()
