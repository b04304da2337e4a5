"""kill -9 at random moments while Steward publishes 50 posts, twenty rounds: afterwards every
post is on every platform exactly once, and none is lost.

The random sleep before each kill is the campaign itself (seeded, so a failure can be
replayed), not a wait for something to happen: tests/test_determinism.py knows it."""

from __future__ import annotations

import random
import signal
import time

import pytest

from daemon.posts.submitting import submit
from tests.daemon.harness import write_post
from tests.reliability.processes import Processes

POSTS = 50
ROUNDS = 20


@pytest.fixture
def processes(tmp_path):
    running = Processes(tmp_path)
    yield running
    running.stop()


@pytest.mark.slow  # twenty daemons, each killed at a random moment: minutes of real time
def test_no_post_is_lost_or_published_twice_across_twenty_kill_minus_9s(processes, tmp_path):
    texts = [f"Campaign post {number}: the choir sings at {number % 12 + 1} o'clock."
             for number in range(POSTS)]
    inbox = processes.state_dir / "inbox"
    for number, text in enumerate(texts):  # no publish_at: due as soon as accepted
        folder = write_post(tmp_path / "drafts" / f"post-{number:02d}", text,
                            images=number % 3 == 0)
        submit(folder, inbox, keys=[processes.key], time_zone="Europe/London",
               max_text_bytes=10**6, max_media_bytes=10**7)
    generator = random.Random(2026)
    kills = 0
    for _ in range(ROUNDS):
        daemon = processes.start_daemon()
        time.sleep(generator.uniform(0.8, 3.0))
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGKILL)
            kills += 1
        daemon.wait(timeout=30)
    processes.start_daemon()
    finished = processes.wait(lambda: all(
        processes.published()[platform].count(text) >= 1
        for text in texts for platform in ("x", "facebook")), timeout=180)
    published = processes.published()
    missing = [(p, t) for p in ("x", "facebook") for t in texts if t not in published[p]]
    twice = [(p, t) for p in ("x", "facebook") for t in texts if published[p].count(t) > 1]
    assert kills >= ROUNDS - 2
    assert finished and missing == [] and twice == [], (missing[:3], twice[:3])
    recovered = [e for e in processes.audit_events() if e.get("found_after_interruption")]
    print(f"{kills} kills; {len(recovered)} deliveries resolved by looking after a kill")
