"""The scheduler hands APScheduler only the posts due within the hour; later ones wait in its
agenda, behind one timer, and come to APScheduler when their hour comes. What is armed, and
when each post runs, is the same as when every post was an APScheduler job."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from daemon.posts.scheduling import AGENDA_TIMER, NEAR, Scheduler
from daemon.runtime.clock import Clock, FixedClock
from daemon.runtime.store import parse_timestamp, timestamp

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def jobs(scheduler):
    return {job.id for job in scheduler._scheduler.get_jobs()}


def test_a_post_due_soon_is_an_apscheduler_job_and_a_later_one_waits_in_the_agenda():
    scheduler = Scheduler(lambda submission: None, clock=FixedClock(NOW))
    scheduler.arm("soon", NOW + timedelta(minutes=5))
    scheduler.arm("next-week", NOW + timedelta(days=7))
    scheduler.arm("tomorrow", NOW + timedelta(days=1))
    assert jobs(scheduler) == {"soon", AGENDA_TIMER}
    assert scheduler.armed() == 3
    assert [name for name, _ in scheduler.next_runs()] == ["soon", "tomorrow", "next-week"]
    assert scheduler._timer_at == NOW + timedelta(days=1) - NEAR


def test_the_timer_hands_a_post_to_apscheduler_when_its_hour_comes():
    clock = FixedClock(NOW)
    scheduler = Scheduler(lambda submission: None, clock=clock)
    scheduler.arm("tomorrow", NOW + timedelta(days=1))
    scheduler.arm("next-week", NOW + timedelta(days=7))
    clock.advance(timedelta(days=1).total_seconds() - NEAR.total_seconds())
    scheduler._promote()
    assert jobs(scheduler) == {"tomorrow", AGENDA_TIMER}
    assert scheduler._timer_at == NOW + timedelta(days=7) - NEAR
    assert scheduler.armed() == 2


def test_arming_again_replaces_the_earlier_arming_wherever_it_was():
    clock = FixedClock(NOW)
    scheduler = Scheduler(lambda submission: None, clock=clock)
    scheduler.arm("post", NOW + timedelta(minutes=5))
    scheduler.arm("post", NOW + timedelta(days=2))  # retried later: no longer a job
    assert jobs(scheduler) == {AGENDA_TIMER} and scheduler.armed() == 1
    scheduler.arm("post", NOW + timedelta(minutes=10))  # and sooner again
    assert jobs(scheduler) == {"post", AGENDA_TIMER} and scheduler.armed() == 1
    clock.advance(3 * 24 * 3600)
    scheduler._promote()  # its old agenda entry is stale: nothing else is armed
    assert jobs(scheduler) == {"post"}


def test_a_disarmed_post_never_runs_and_an_empty_agenda_has_no_timer():
    scheduler = Scheduler(lambda submission: None, clock=FixedClock(NOW))
    scheduler.arm("later", NOW + timedelta(days=1))
    scheduler.arm("soon", NOW + timedelta(minutes=1))
    scheduler.disarm("later")
    scheduler.disarm("soon")
    scheduler._promote()
    assert jobs(scheduler) == set() and scheduler.armed() == 0


def test_a_post_due_now_runs_in_real_time():
    ran = threading.Event()
    scheduler = Scheduler(lambda submission: ran.set())
    scheduler.arm("now", Clock().now())
    scheduler.start()
    try:
        assert ran.wait(10)
        assert scheduler.armed() == 0
    finally:
        scheduler.shutdown()


def test_database_times_read_back_as_written_by_the_quick_way_and_the_careful_way():
    moment = datetime(2026, 3, 29, 1, 30, 5, 120034, tzinfo=UTC)
    assert parse_timestamp(timestamp(moment)) == moment
    assert parse_timestamp("2026-03-29T01:30:05.12Z") == moment.replace(microsecond=120000)
