"""kill -9 at random moments while Steward publishes videos to X in chunks: afterwards each post
is on X exactly once, with its video whole, and the restarts continued each upload from the
store rather than sending it again (at most the chunk in flight at a kill goes twice).

The random sleep before each kill is the campaign itself (seeded, so a failure can be
replayed), not a wait for something to happen: tests/test_determinism.py knows it."""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from daemon.runtime.records import StoredSubmission
from daemon.runtime.store import Store
from sandbox.app import start_sandbox
from tests.movies import movie, sound, video
from tests.reliability.processes import ROOT
from tests.reliability.video_publisher import CHUNK

VIDEOS = 4
MAX_KILLS = 12


@pytest.fixture
def sandbox(tmp_path):
    server = start_sandbox(state_file=tmp_path / "sandbox-state.json")
    yield server
    server.stop()


def start(state_dir, url: str, ids: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.video_publisher",
                             str(state_dir), url, *ids], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def queue_videos(state_dir) -> dict[str, tuple[str, bytes]]:
    """Four accepted video posts, due now: id -> (text, the video's bytes)."""
    state_dir.mkdir()
    store = Store(state_dir / "steward.sqlite3")
    now = datetime.now(UTC)
    queued = {}
    for number in range(VIDEOS):
        folder = state_dir / "queue" / f"play-{number}"
        folder.mkdir(parents=True)
        clip = movie([video(count=60, seed=number + 1), sound(count=80, seed=number + 7)])
        (folder / "play.mp4").write_bytes(clip)
        text = f"The Year {number + 3} play, in rehearsal"
        store.add_submission(StoredSubmission(
            id=f"play-{number}", name=f"play-{number}", content_sha256=f"{number}" * 64,
            publish_at=now, status="scheduled", signers=["Deputy Head"],
            received_at=now - timedelta(minutes=1), folder=folder,
            posts={"x": {"text": text, "media": [{
                "file": "play.mp4", "alt": "A class on stage", "mime": "video/mp4",
                "sha256": hashlib.sha256(clip).hexdigest()}]}}), now)
        queued[f"play-{number}"] = (text, clip)
    store.close()
    return queued


@pytest.mark.slow  # publisher processes, each killed at a random moment
def test_video_uploads_killed_at_random_are_each_posted_once_and_sent_about_once(
        sandbox, tmp_path):
    state_dir = tmp_path / "state"
    queued = queue_videos(state_dir)
    ids = list(queued)
    # each chunk takes a moment, so that kills land during uploads, not only between them
    requests.post(f"{sandbox.url}/_sandbox/faults", json={
        "method": "POST", "path": "/append$", "delay": 0.1, "times": -1},
        timeout=5).raise_for_status()
    generator = random.Random(2312)
    kills = 0
    while kills < MAX_KILLS:
        child = start(state_dir, sandbox.url, ids)
        time.sleep(generator.uniform(0.5, 3.0))
        if child.poll() is not None:
            break  # it finished everything before the kill
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        kills += 1
    final = start(state_dir, sandbox.url, ids)
    out, err = final.communicate(timeout=180)
    assert final.returncode == 0, err[-2000:]
    assert [line for line in out.splitlines() if line.startswith("delivery ")] == [
        "delivery sent"] * VIDEOS
    world = requests.get(f"{sandbox.url}/_sandbox/state", timeout=5).json()["x"]
    segments = -(-len(next(iter(queued.values()))[1]) // CHUNK)
    for text, clip in queued.values():
        tweets = [tweet for tweet in world["tweets"].values() if tweet["text"] == text]
        assert len(tweets) == 1, text
        [key] = tweets[0]["attachments"]["media_keys"]
        used = next(item for item in world["uploads"].values() if item["media_key"] == key)
        assert used["sha256"] == hashlib.sha256(clip).hexdigest()
    appends = sum(upload["appends"] for upload in world["uploads"].values())
    # a kill can cost the chunk in flight, or an upload begun and not yet recorded; never a
    # whole video again while X holds its upload
    assert appends <= VIDEOS * segments + kills, (appends, segments, kills)
    assert kills >= 3
    print(f"{kills} kills; {appends} chunks sent for {VIDEOS * segments}; "
          f"{len(world['uploads'])} upload sessions for {VIDEOS} videos")
