"""Scheduling with APScheduler 3.x (the only module that imports it).

APScheduler only wakes Steward up: SQLite says what is due, and the publisher decides what a late
post means. Jobs live in memory and are re-armed from SQLite at every start. Each job is armed
with `misfire_grace_time=None`, because APScheduler's default of one second silently skips a job
that runs a little late (a busy machine, a suspended VM); Steward's own grace window applies
instead, in the publisher and at start-up.

Only posts due within the next hour (`NEAR`) are APScheduler jobs. Later ones wait in an agenda
(a dictionary and a heap, in memory, like the jobs: SQLite stays the record) with one timer, an
APScheduler job for the moment the earliest of them comes within the hour; it hands those to
APScheduler and sets itself for the next. APScheduler checks each job's arguments when it is
added, so 10,000 posts armed one by one were most of a start-up; now they cost a heap push each.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from daemon.runtime.clock import Clock

NEAR = timedelta(hours=1)  # posts due sooner are APScheduler jobs; later ones wait in the agenda
AGENDA_TIMER = "steward-agenda"  # the one job that hands agenda posts to APScheduler


class Scheduler:
    """Runs `job(submission_id)` at the armed time, in a small pool of worker threads.

    `clock`: the real time, which APScheduler keeps too (never a test's fixed clock)."""

    def __init__(self, job: Callable[[str], None], workers: int = 4,
                 clock: Clock | None = None) -> None:
        self._job = job
        self._clock = clock or Clock()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone="UTC",
            logger=logging.getLogger("apscheduler.scheduler"),
        )
        self._lock = threading.RLock()
        self._agenda: dict[str, datetime] = {}  # submission id -> when, for posts not due soon
        self._queue: list[tuple[datetime, str]] = []  # the agenda by time (stale entries skipped)
        self._near: set[str] = set()  # ids that may be APScheduler jobs
        self._timer_at: datetime | None = None

    def arm(self, submission_id: str, when: datetime) -> None:
        """Run the submission's job at `when` (replacing any earlier arming)."""
        with self._lock:
            if when - self._clock.now() <= NEAR:
                self._agenda.pop(submission_id, None)
                self._add_job(submission_id, when)
                return
            if submission_id in self._near:
                self._remove_job(submission_id)
            self._agenda[submission_id] = when
            heapq.heappush(self._queue, (when, submission_id))
            if self._timer_at is None or when - NEAR < self._timer_at:
                self._set_timer()

    def disarm(self, submission_id: str) -> None:
        with self._lock:
            self._agenda.pop(submission_id, None)  # its heap entry is skipped when reached
            self._remove_job(submission_id)

    def every(self, name: str, seconds: float, function: Callable[[], object]) -> None:
        """Run `function` every `seconds` (housekeeping: health checks, sweeps); what it
        returns is thrown away."""
        self._scheduler.add_job(function, "interval", seconds=seconds, id=name,
                                replace_existing=True)

    def run_soon(self, name: str) -> bool:
        """Run the housekeeping job `name` (from `every`) now rather than at its next time,
        keeping its interval; False if there is no such job. Never a second run at once:
        one already running is left to finish (max_instances=1)."""
        try:
            self._scheduler.modify_job(name, next_run_time=self._clock.now())
        except JobLookupError:
            return False
        return True

    def start(self) -> None:
        self._scheduler.start()

    def alive(self) -> bool:
        return bool(self._scheduler.running)

    def armed(self) -> int:
        """How many jobs are armed: posts (soon or later) and housekeeping."""
        with self._lock:
            return sum(1 for job in self._scheduler.get_jobs() if job.id != AGENDA_TIMER) + \
                len(self._agenda)

    def next_runs(self, limit: int = 5) -> list[tuple[str, datetime]]:
        with self._lock:
            runs = [(job.id, when) for job in self._scheduler.get_jobs()
                    if job.id != AGENDA_TIMER and (when := _next_run(job)) is not None]
            runs += [(submission_id, when.astimezone(UTC))
                     for submission_id, when in self._agenda.items()]
        return sorted(runs, key=lambda run: run[1])[:limit]

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    # -- inside the lock -------------------------------------------------------------------------

    def _add_job(self, submission_id: str, when: datetime) -> None:
        self._near.add(submission_id)
        self._scheduler.add_job(self._run, "date", run_date=when, args=(submission_id,),
                                id=submission_id, replace_existing=True)

    def _remove_job(self, submission_id: str) -> None:
        self._near.discard(submission_id)
        try:
            self._scheduler.remove_job(submission_id)
        except JobLookupError:
            pass

    def _run(self, submission_id: str) -> None:
        with self._lock:
            self._near.discard(submission_id)
        self._job(submission_id)

    def _set_timer(self) -> None:
        """Set the agenda's timer for when its earliest post comes within NEAR (none if the
        agenda is empty)."""
        queue = self._queue
        while queue and self._agenda.get(queue[0][1]) != queue[0][0]:
            heapq.heappop(queue)  # disarmed or armed again since
        if not queue:
            self._timer_at = None
            try:
                self._scheduler.remove_job(AGENDA_TIMER)
            except JobLookupError:
                pass
            return
        self._timer_at = queue[0][0] - NEAR
        self._scheduler.add_job(self._promote, "date", run_date=self._timer_at,
                                id=AGENDA_TIMER, replace_existing=True)

    def _promote(self) -> None:
        """The timer: hand every agenda post now due within NEAR to APScheduler."""
        with self._lock:
            horizon = self._clock.now() + NEAR
            queue = self._queue
            while queue and queue[0][0] <= horizon:
                when, submission_id = heapq.heappop(queue)
                if self._agenda.get(submission_id) == when:
                    del self._agenda[submission_id]
                    self._add_job(submission_id, when)
            self._timer_at = None
            self._set_timer()


def _next_run(job) -> datetime | None:
    """When an APScheduler job runs next (before the scheduler starts, its date trigger's)."""
    when = getattr(job, "next_run_time", None) or getattr(job.trigger, "run_date", None)
    return when if isinstance(when, datetime) else None
