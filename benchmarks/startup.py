"""Start-up time with 10,000 scheduled posts in SQLite, to the moment READY=1 would be sent.

Fills a state directory's database with 10,000 accepted submissions due over the next months,
then times `Service.start()` (configuration already loaded; sandbox start, platform checks,
re-arming every job from SQLite, intake start). Target (issue 2): < 2 s.
Run: .venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import time
from datetime import timedelta

from common import settings_with_signer

from daemon.runtime.clock import Clock
from daemon.runtime.store import Store, StoredSubmission
from daemon.service import Service

COUNT = 10_000


def main() -> None:
    settings, _, _ = settings_with_signer()
    settings.paths.state_dir.mkdir(parents=True)
    store = Store(settings.paths.state_dir / "steward.sqlite3")
    now = Clock().now()
    for number in range(COUNT):
        store.add_submission(StoredSubmission(
            id=f"bench-{number:05d}", name=f"post-{number}", content_sha256=f"{number:064x}",
            publish_at=now + timedelta(hours=1, minutes=number), status="scheduled",
            signers=["Benchmark Signer"], received_at=now,
            folder=settings.paths.state_dir / "queue" / f"bench-{number:05d}",
            posts={"x": {"text": f"Post {number}", "media": []},
                   "facebook": {"text": f"Post {number}", "media": []}}), now)
    store.close()
    service = Service(settings)
    started = time.perf_counter()
    service.start()
    elapsed = time.perf_counter() - started
    armed = service.scheduler.armed()
    service.stop()
    print(f"start-up with {COUNT:,} scheduled posts: {elapsed:.2f} s to READY "
          f"({armed:,} jobs armed; target < 2 s)")


if __name__ == "__main__":
    main()
