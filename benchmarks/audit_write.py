"""Audit log writes through the daemon's path against plain structlog JSON to a file.

Steward: the daemon's AuditLog (redacted once, chained, numbered, hashed, a signed checkpoint
every 1,000 events with an fsync, the file locked and checked for tampering before each
write) with logging configured as the daemon configures it (stdout to /dev/null here): info
events are not echoed to stdout, since the file is the record; warnings and errors still are,
for journald. Baseline: structlog writing the same fields as one JSON line per event to a
file (add_log_level, an ISO timestamp, JSONRenderer, WriteLogger), configured as plainly as
that (structlog's defaults otherwise), and a second time with cache_logger_on_first_use, its
fastest. Interleaved rounds, medians.
Run: .venv/bin/python benchmarks/audit_write.py [EVENTS_PER_ROUND] [ROUNDS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import structlog
from common import compare

from daemon.audit.chain import AuditLog
from daemon.runtime.logs import configure_logging


def steward_round(folder: Path, events: int) -> float:
    configure_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 - as the daemon does
    audit = AuditLog(folder / "audit.jsonl", echo_info=False)
    started = time.perf_counter()
    for number in range(events):
        audit.record("post.published", platform="x", name=f"news-{number}",
                     url=f"https://example.invalid/x/{number}")
    elapsed = time.perf_counter() - started
    audit.close()
    return events / elapsed


def structlog_round(folder: Path, events: int, cached: bool) -> float:
    with open(folder / "plain.jsonl", "a", encoding="utf-8") as handle:
        structlog.configure(
            processors=[structlog.processors.add_log_level,
                        structlog.processors.TimeStamper(fmt="iso", utc=True),
                        structlog.processors.JSONRenderer()],
            logger_factory=structlog.WriteLoggerFactory(file=handle),
            cache_logger_on_first_use=cached)
        log = structlog.get_logger()
        started = time.perf_counter()
        for number in range(events):
            log.info("post.published", platform="x", name=f"news-{number}",
                     url=f"https://example.invalid/x/{number}")
        elapsed = time.perf_counter() - started
    structlog.reset_defaults()
    return events / elapsed


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    ours, plain, cached = [], [], []
    for _ in range(rounds):
        ours.append(steward_round(Path(tempfile.mkdtemp()), events))
        plain.append(structlog_round(Path(tempfile.mkdtemp()), events, cached=False))
        cached.append(structlog_round(Path(tempfile.mkdtemp()), events, cached=True))
    compare(f"audit writes, {events:,} events a round", "lines/s", ours, plain,
            "plain structlog JSON to a file")
    compare(f"audit writes, {events:,} events a round", "lines/s", ours, cached,
            "structlog JSON to a file, loggers cached")


if __name__ == "__main__":
    main()
