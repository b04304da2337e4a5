"""Tuning Steward's model on a school's examples: labels, inputs, and plain errors (the fit
itself needs the optional [train] extra, PyTorch, and is measured by
benchmarks/moderation_training.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

from daemon.cli.main import main
from daemon.moderation.worker import worker_input
from policies.moderation import ModerationRules
from tests.write_execute import run_denying_write_execute, write_execute_denial_available
from training.moderation import TrainingError, read_examples, train


def test_reads_labels_in_the_common_spellings(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nlovely,clean\nawful words,offensive\nfine,0\nbad,1\nok,NOT\n"
                    "nasty,OFF\n")
    assert [label for _, label in read_examples(path, "text", "label")] == [
        False, True, False, True, False, True]


def test_reads_tab_separated_files_without_quote_handling(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text('id\ttweet\tsubtask_a\n1\t"quoted" text\tNOT\n2\tother\tOFF\n')
    assert read_examples(path, "tweet", "subtask_a") == [('"quoted" text', False),
                                                          ("other", True)]


def test_a_bad_label_names_the_row(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nlovely,clean\nhmm,perhaps\n")
    with pytest.raises(TrainingError, match="row 3: label 'perhaps'"):
        read_examples(path, "text", "label")


def test_refuses_to_train_on_too_few_examples(tmp_path):
    with pytest.raises(TrainingError, match="at least 50"):
        train([("lovely", False)] * 10, tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None,
                    reason="the [train] extra is installed here")
def test_without_the_extra_train_says_how_to_install_it(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\n" + "".join(f"nice {n},clean\nawful {n},offensive\n"
                                             for n in range(40)))
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    assert main(["moderate", "train", str(path), "--config", str(config)]) == 1
    assert 'pip install -e ".[train]"' in capsys.readouterr().err


needs_the_extra = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                     reason="needs the optional [train] extra (PyTorch); "
                                     "install with .venv/bin/pip install -e \".[train]\"")


@needs_the_extra
@pytest.mark.slow
@pytest.mark.timeout(900)  # fine-tuning on the CPU; only where the extra is installed
def test_a_tuning_is_saved_without_text_and_the_worker_runs_it(tmp_path):
    """A small, clear-cut set: the committed model is tuned on it, saved as numbers only, and
    the classifier's worker answers with it, under the systemd unit's write-execute rule too."""
    from daemon.moderation.school_model import school_model_status, tuning_directory  # noqa: PLC0415

    kind = ["thank you for the lovely concert", "well done to the football team",
            "what a great trip to the museum", "the new library looks wonderful"]
    unkind = ["you are a pathetic useless teacher", "this school is a disgrace, shameful",
              "the head is a clueless idiot", "worthless staff, you should all be sacked"]
    examples = [(f"{text} {number}", False) for number in range(8) for text in kind] + \
               [(f"{text} {number}", True) for number in range(8) for text in unkind]
    report = train(examples, tmp_path)
    assert report["examples"] == 64 and report["held_out"] == 12
    assert report["held_out_macro_f1"] >= report["default_held_out_macro_f1"]
    assert report["thresholds_from"].startswith("Steward's own")
    folder = tuning_directory(tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["adapter.safetensors",
                                                               "model.json"]
    assert "concert" not in (folder / "model.json").read_text()
    assert b"concert" not in (folder / "adapter.safetensors").read_bytes()
    assert school_model_status(tmp_path)[0]
    if write_execute_denial_available():  # as the systemd unit runs it
        payload = worker_input(ModerationRules(), ["you useless pathetic idiot"])
        result = run_denying_write_execute(
            [sys.executable, "-m", "daemon.moderation.worker"], input=payload,
            capture_output=True, text=True, timeout=300,
            env=os.environ | {"STEWARD_SCHOOL_TUNING": str(folder)})
        assert result.returncode == 0, result.stderr[-2000:]
        ready, answer = (json.loads(line) for line in result.stdout.splitlines())
        assert ready["ready"] is True and ready["tuned"] is True
        assert any(reason.startswith("school-tuned model ")
                   for reason in answer["verdicts"][0]["reasons"])


def test_classify_with_the_school_model_refuses_plainly_when_there_is_none(tmp_path, capsys):
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    assert main(["moderate", "classify", "--school-model", "--config", str(config)]) == 1
    assert "the school model is none trained" in capsys.readouterr().err
