"""A child process for tests/reliability/test_video_kill.py: Steward's real Publisher, store,
audit log and X connector (with the store as its upload journal) publishing one submission
until it is done, or until the test kills it with SIGKILL.

    python -m tests.reliability.video_publisher STATE_DIR SANDBOX_URL SUBMISSION_ID...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from config.settings import PublishingSettings
from connectors.x import XConnector
from daemon.audit.chain import AuditLog
from daemon.posts.publishing import Publisher
from daemon.runtime.clock import Clock
from daemon.runtime.store import Store
from sandbox.state import DEFAULT_X_CREDENTIALS

CHUNK = 1024


def main(state_dir: Path, url: str, submission_ids: list[str]) -> int:
    clock = Clock()
    store = Store(state_dir / "steward.sqlite3")
    connector = XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=url, timeout=5.0, clock=clock,
                           uploads=store, video_chunk_bytes=CHUNK)
    publisher = Publisher(store, {"x": connector}, AuditLog(state_dir / "audit.jsonl", clock,
                                                              echo_info=False),
                          clock, PublishingSettings(retry_initial_seconds=0.2,
                                                    retry_max_seconds=1),
                          state_dir / "archive")
    for submission_id in submission_ids:  # one after the other, as they fall due
        later = publisher.run(submission_id)
        while later is not None:  # a polling loop: come back when the publisher says
            time.sleep(max(0.0, min(1.0, (later - clock.now()).total_seconds())))
            later = publisher.run(submission_id)
        print(f"delivery {store.deliveries(submission_id)[0].state}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:]))
