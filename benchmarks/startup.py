"""Start-up with 10,000 scheduled posts in SQLite, to the moment READY=1 would be sent, against
the same start with no posts: what the posts add.

Fills a state directory's database with COUNT accepted submissions due over the next week
(from an hour ahead), then times `Service.start()` (configuration already loaded; sandbox start,
platform checks, audit verification, re-arming every post from SQLite, intake start), in
interleaved rounds with a state directory holding no posts. Target (issue 21): the posts add
< 0.3 s.
Run: .venv/bin/python benchmarks/startup.py [COUNT] [ROUNDS]
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from common import machine, median, settings_with_signer

from daemon.audit.chain import AuditLog
from daemon.runtime.clock import Clock
from daemon.runtime.store import Store, StoredSubmission
from daemon.service import Service


def prepared(count: int):
    settings, _, _ = settings_with_signer()
    settings.paths.state_dir.mkdir(parents=True)
    store = Store(settings.paths.state_dir / "steward.sqlite3")
    now = Clock().now()
    for number in range(count):
        store.add_submission(StoredSubmission(
            id=f"bench-{number:05d}", name=f"post-{number}", content_sha256=f"{number:064x}",
            publish_at=now + timedelta(hours=1, minutes=number), status="scheduled",
            signers=["Benchmark Signer"], received_at=now,
            folder=settings.paths.state_dir / "queue" / f"bench-{number:05d}",
            posts={"x": {"text": f"Post {number}", "media": []},
                   "facebook": {"text": f"Post {number}", "media": []}}), now)
    store.close()
    audit = AuditLog(settings.paths.state_dir / "audit.jsonl")  # as the intake left it: signed
    audit.record("submissions.accepted", count=str(count))
    audit.close()
    return settings


def start_once(settings) -> tuple[float, int]:
    service = Service(settings)
    started = time.perf_counter()
    service.start()
    elapsed = time.perf_counter() - started
    armed = service.scheduler.armed()
    service.stop()
    return elapsed, armed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with_posts, without = [], []
    for _ in range(rounds):  # a fresh state each round: each start signs and anchors the log
        elapsed, armed = start_once(prepared(count))
        with_posts.append(elapsed)
        without.append(start_once(prepared(0))[0])
    ours, empty = median(with_posts), median(without)
    print(f"start-up to READY with {count:,} scheduled posts: {ours:.3f} s; the same state with "
          f"no posts: {empty:.3f} s (medians of {rounds} interleaved rounds); the posts add "
          f"{ours - empty:.3f} s (target < 0.3 s); ratio {ours / empty:.2f}; "
          f"{armed:,} posts scheduled")
    print(machine())


if __name__ == "__main__":
    main()
