"""Training a school's own model: labels, inputs, and plain errors (the fit itself needs the
optional [train] extra, PyTorch, and is measured by benchmarks/moderation_training.py)."""

from __future__ import annotations

import importlib.util

import pytest

from daemon.cli import main
from daemon.moderation_training import TrainingError, read_examples, train


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


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is not None,
                    reason="the [train] extra is installed here")
def test_without_the_extra_train_says_how_to_install_it(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\n" + "".join(f"nice {n},clean\nawful {n},offensive\n"
                                             for n in range(40)))
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    assert main(["moderate", "train", str(path), "--config", str(config)]) == 1
    assert 'pip install -e ".[train]"' in capsys.readouterr().err
