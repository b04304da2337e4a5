"""Soak: `steward run` against the sandbox (both as processes) under a steady stream of posts,
replies (a quarter abusive), new followers and direct messages, for a bounded time.

Prints the daemon's resident memory after warm-up (the first fifth) and at the end, and the
latency percentiles of intake (received -> accepted), publishing (due -> published on a
platform) and moderation (reply posted -> classified). Target (issue 7): no memory growth beyond
10% after warm-up. Run: .venv/bin/python benchmarks/soak.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from common import percentile  # noqa: E402

from daemon.posts.submitting import submit  # noqa: E402
from tests.daemon.harness import write_post  # noqa: E402
from tests.reliability.processes import Processes  # noqa: E402

ABUSE = "I will find you after school and hurt you"


def rss_megabytes(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmRSS:"))) / 1024


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    duration = parser.parse_args().minutes * 60
    root = Path(tempfile.mkdtemp(prefix="steward-soak-"))
    processes = Processes(root, moderation=True)
    processes.config.write_text(processes.config.read_text().replace(
        "[moderation]\nenabled = true", "[moderation]\nenabled = true\npoll_interval_seconds = 5"))
    daemon = processes.start_daemon()
    processes.wait(lambda: any(e["event"] == "service.started"
                               for e in processes.audit_events()), 60)
    url = processes.url
    samples: list[tuple[float, float]] = []
    replies_sent: dict[str, float] = {}
    started = time.monotonic()
    try:
        for tick in itertools.count():
            elapsed = time.monotonic() - started
            if elapsed > duration:
                break
            if tick % 2 == 0:  # a post every 2 s
                folder = write_post(root / "drafts" / f"post-{tick}",
                                    f"Soak post {tick}: the week's news.")
                submit(folder, processes.state_dir / "inbox", keys=[processes.key],
                       time_zone="Europe/London", max_text_bytes=10**6, max_media_bytes=10**7)
            if tick % 3 == 0 and tick > 4:  # a reply every 3 s
                text = ABUSE if tick % 12 == 0 else f"Lovely, thank you ({tick})"
                answer = requests.post(f"{url}/_sandbox/events", json={
                    "kind": "x.reply", "user_id": str(3_200_000_000_000_000_000 + tick),
                    "text": text}, timeout=30)
                if answer.ok:
                    replies_sent[answer.json()["id"]] = time.time()
            if tick % 5 == 0:
                requests.post(f"{url}/_sandbox/events", json={
                    "kind": "x.follow", "user_id": str(3_300_000_000_000_000_000 + tick)},
                    timeout=30)
            if tick % 10 == 0:
                requests.post(f"{url}/_sandbox/events", json={
                    "kind": "x.dm", "user_id": "3400000000000000001", "text": "hello"},
                    timeout=30)
            if tick % 10 == 0:
                samples.append((elapsed, rss_megabytes(daemon.pid)))
            time.sleep(1)
        events = processes.audit_events()
    finally:
        processes.stop()
    intake, received = [], {}
    for event in events:
        if event["event"] == "submission.received":
            received[event["name"]] = event["timestamp"]
        elif event["event"] == "submission.accepted" and event["name"] in received:
            intake.append(seconds_between(received[event["name"]], event["timestamp"]) * 1000)
    due = {e["submission"]: e["publish_at"] for e in events if e["event"] == "post.scheduled"}
    publish = [seconds_between(due[e["submission"]], e["timestamp"]) * 1000 for e in events
               if e["event"] == "post.published" and e["submission"] in due]
    moderation = [(datetime.fromisoformat(e["timestamp"]).timestamp()
                   - replies_sent[e["reply_id"]]) * 1000 for e in events
                  if e["event"] == "reply.classified" and e.get("reply_id") in replies_sent]
    warm = [rss for at, rss in samples if at >= duration / 5] or [s[1] for s in samples]
    growth = (warm[-1] - warm[0]) / warm[0] if warm else 0.0
    print(f"soak for {duration / 60:.1f} minutes: {len(intake)} posts accepted, {len(publish)} "
          f"deliveries, {len(moderation)} replies classified")
    print(f"  resident memory: {warm[0]:.1f} MB after warm-up, {warm[-1]:.1f} MB at the end "
          f"({growth:+.1%}; target within +10%)")
    for name, values in (("intake", intake), ("publish", publish), ("moderation", moderation)):
        if values:
            print(f"  {name:<10} median {statistics.median(values):8.0f} ms, p95 "
                  f"{percentile(values, 0.95):8.0f} ms, p99 {percentile(values, 0.99):8.0f} ms")


if __name__ == "__main__":
    main()
