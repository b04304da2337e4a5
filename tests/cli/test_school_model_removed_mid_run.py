"""`steward moderate classify --school-model` when the school's model goes away while it reads
standard input (someone removes or retrains it meanwhile): a plain refusal, not a traceback.

ONNX Runtime is only in the optional [train] extra, so the test says it is installed; the model
is gone before it would be run, so nothing of it is needed.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from daemon.cli.main import main
from daemon.moderation import school_model


class RemovesTheModelWhileRead(io.StringIO):
    """Standard input whose first line is read only after the model folder is removed."""

    def __init__(self, text: str, moderation_folder: Path) -> None:
        super().__init__(text)
        self.moderation_folder = moderation_folder

    def __iter__(self) -> Iterator[str]:
        shutil.rmtree(self.moderation_folder)
        return super().__iter__()


def test_refuses_in_one_line_when_the_school_model_is_removed_while_classifying(
        tmp_path, monkeypatch, capsys):
    state_dir = tmp_path / "state"
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state_dir}"\n', encoding="utf-8")
    school_model.encoder_directory(state_dir).mkdir(parents=True)
    school_model.model_path(state_dir).write_text(
        json.dumps({"format": school_model.MODEL_FORMAT}), encoding="utf-8")
    monkeypatch.setattr(school_model, "_runtime_installed", lambda: True)
    assert school_model.school_model_status(state_dir)[0], "the model is usable at the start"
    monkeypatch.setattr("sys.stdin", RemovesTheModelWhileRead(
        "well done everyone\n", state_dir / "moderation"))

    assert main(["moderate", "classify", "--school-model", "--config", str(config)]) == 1

    said = capsys.readouterr().err
    assert said == ("steward moderate: the school model is no longer usable (it was removed "
                    "or replaced while the texts were read); run the command again\n")
