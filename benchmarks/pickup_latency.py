"""Pickup latency: from an atomic rename into the inbox to "accepted and scheduled".

Starts the real service (default settings, sandbox mode). For each of 100 submissions: signs it
outside the inbox, copies it in under a hidden name, renames it to its visible name (as
`steward submit` does), and times until the intake hands it to the scheduler. Runs twice: back to
back (each rename right after the previous acceptance) and spaced 0.3 s apart.
Target (issue 2): median < 200 ms. Run: .venv/bin/python benchmarks/pickup_latency.py
"""

from __future__ import annotations

import shutil
import statistics
import threading
import time

from common import percentile, settings_with_signer

from daemon.posts.submitting import submit
from daemon.service import Service
from tests.daemon.harness import write_post

COUNT = 100


class Arrivals:
    """Records when the intake hands each submission to the scheduler."""

    def __init__(self, service: Service) -> None:
        self.times: list[float] = []
        self.condition = threading.Condition()
        self._forward = service.intake.on_accepted
        service.intake.on_accepted = self.accepted

    def accepted(self, submission_id, publish_at) -> None:
        self._forward(submission_id, publish_at)
        with self.condition:
            self.times.append(time.perf_counter())
            self.condition.notify_all()

    def wait_beyond(self, count: int) -> float:
        with self.condition:
            self.condition.wait_for(lambda: len(self.times) > count, timeout=10)
            return self.times[-1]


def measure(label: str, gap: float, settings, key, root, arrivals: Arrivals) -> list[float]:
    inbox = settings.paths.resolved("inbox")
    latencies = []
    for number in range(COUNT):
        time.sleep(gap)
        folder = write_post(root / "drafts" / label / f"post-{number}",
                            f"Benchmark post {number}, {label}.", publish_at="2099-01-01T09:00")
        signed = submit(folder, root / "signed" / label, keys=[key],
                        time_zone=settings.school.time_zone,
                        max_text_bytes=settings.intake.max_text_bytes,
                        max_media_bytes=settings.intake.max_media_bytes,
                                 max_video_bytes=settings.intake.max_video_bytes)
        hidden = inbox / f".incoming-{signed.name}"
        shutil.copytree(signed, hidden)
        before = len(arrivals.times)
        started = time.perf_counter()
        hidden.rename(inbox / signed.name)
        latencies.append((arrivals.wait_beyond(before) - started) * 1000)
    return latencies


def main() -> None:
    settings, key, root = settings_with_signer()
    service = Service(settings)
    service.start()
    arrivals = Arrivals(service)
    try:
        results = {label: measure(label, gap, settings, key, root, arrivals)
                   for label, gap in (("back-to-back", 0.0), ("spaced-0.3s", 0.3))}
    finally:
        service.stop()
    print(f"pickup latency, {COUNT} submissions per run (rename -> accepted and scheduled; "
          "target: median < 200 ms):")
    for label, latencies in results.items():
        print(f"  {label:<13} median {statistics.median(latencies):6.1f} ms, "
              f"p99 {percentile(latencies, 0.99):6.1f} ms, max {max(latencies):6.1f} ms")


if __name__ == "__main__":
    main()
