"""The systemd unit sets MemoryDenyWriteExecute=yes: no memory may be both writable and
executable, which breaks any library that writes machine code at run time (oneDNN in PyTorch
did, for the school model). These run Steward's processes under the same rule, per process, as
Linux 6.3+ allows, so such a library cannot creep in unnoticed."""

from __future__ import annotations

import json
import sys

import pytest

from daemon.moderation.worker import worker_input
from policies.moderation import ModerationRules
from tests.write_execute import run_denying_write_execute, write_execute_denial_available

pytestmark = pytest.mark.skipif(not write_execute_denial_available(),
                                reason="this kernel cannot deny write+execute memory per "
                                "process (prctl PR_SET_MDWE needs Linux 6.3 or later)")


@pytest.mark.slow  # the whole `steward demo`
def test_the_main_job_runs_as_the_unit_would_run_it(tmp_path):
    result = run_denying_write_execute([sys.executable, "-m", "daemon.cli.main", "demo"],
                                       capture_output=True, text=True, timeout=300,
                                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "VERIFIED" in result.stdout


def test_the_classifier_process_answers_as_the_unit_would_run_it():
    payload = worker_input(ModerationRules(), ["Thank you for the lovely concert",
                                               "I will find you after school and hurt you"])
    result = run_denying_write_execute([sys.executable, "-m", "daemon.moderation.worker"],
                                       input=payload, capture_output=True, text=True,
                                       timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    ready, answer = (json.loads(line) for line in result.stdout.splitlines())
    assert ready["ready"] is True
    assert [verdict["verdict"] for verdict in answer["verdicts"]] == ["allow", "act"]


def test_video_frames_are_examined_for_faces_as_the_unit_would_run_it(tmp_path):
    """FFmpeg's decoders (PyAV) and OpenCV, under the unit's rule, find the face in a clip."""
    from tests.clips import clip, face_picture  # noqa: PLC0415

    video = tmp_path / "face.mp4"
    video.write_bytes(clip(2, picture=face_picture(320, 240), picture_from=1))
    result = run_denying_write_execute(
        [sys.executable, "-c", "import sys; from daemon.posts.video_frames import "
         "video_face_detector; print(video_face_detector(60).count(open(sys.argv[1], 'rb')"
         ".read(), 50_000_000))", str(video)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "1"
