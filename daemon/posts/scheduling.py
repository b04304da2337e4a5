"""Scheduling with APScheduler 3.x (the only module that imports it).

APScheduler only wakes Steward up: SQLite says what is due, and the publisher decides what a late
post means. Jobs live in memory and are re-armed from SQLite at every start. Each job is armed
with `misfire_grace_time=None`, because APScheduler's default of one second silently skips a job
that runs a little late (a busy machine, a suspended VM); Steward's own grace window applies
instead, in the publisher and at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler


class Scheduler:
    """Runs `job(submission_id)` at the armed time, in a small pool of worker threads."""

    def __init__(self, job: Callable[[str], None], workers: int = 4) -> None:
        self._job = job
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone="UTC",
            logger=logging.getLogger("apscheduler.scheduler"),
        )

    def arm(self, submission_id: str, when: datetime) -> None:
        """Run the submission's job at `when` (replacing any earlier arming)."""
        self._scheduler.add_job(self._job, "date", run_date=when, args=(submission_id,),
                                id=submission_id, replace_existing=True)

    def disarm(self, submission_id: str) -> None:
        try:
            self._scheduler.remove_job(submission_id)
        except JobLookupError:
            pass

    def every(self, name: str, seconds: float, function: Callable[[], object]) -> None:
        """Run `function` every `seconds` (housekeeping: health checks, sweeps); what it
        returns is thrown away."""
        self._scheduler.add_job(function, "interval", seconds=seconds, id=name,
                                replace_existing=True)

    def start(self) -> None:
        self._scheduler.start()

    def alive(self) -> bool:
        return bool(self._scheduler.running)

    def armed(self) -> int:
        return len(self._scheduler.get_jobs())

    def next_runs(self, limit: int = 5) -> list[tuple[str, datetime]]:
        jobs = sorted((job for job in self._scheduler.get_jobs() if job.next_run_time),
                      key=lambda job: job.next_run_time)
        return [(job.id, job.next_run_time) for job in jobs[:limit]]

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
