"""daemon.cli.forked: results in the jobs' order whoever computed them, each job done once, a
worker's failure reported rather than results missing, an exception here passed on."""

from __future__ import annotations

import os

import pytest

from daemon.cli.forked import MAX_QUEUED, WorkerFailed, in_order


def square_and_who(number: int) -> tuple[int, int]:
    return number * number, os.getpid()


def test_results_come_in_the_jobs_order_each_job_done_once():
    jobs = [(number,) for number in range(200)]
    results = list(in_order(square_and_who, jobs, workers=3))
    assert [square for square, _ in results] == [number * number for number in range(200)]
    assert len({pid for _, pid in results}) <= 3


def test_one_worker_or_one_job_runs_here():
    for jobs, workers in (([(2,), (3,)], 1), ([(4,)], 4)):
        assert {pid for _, pid in in_order(square_and_who, jobs, workers)} == {os.getpid()}


def test_more_jobs_than_the_queue_holds_run_here():
    jobs = [(number,) for number in range(MAX_QUEUED + 1)]
    results = list(in_order(square_and_who, jobs, workers=2))
    assert len(results) == len(jobs) and {pid for _, pid in results} == {os.getpid()}


def fails_elsewhere(parent: int) -> int:
    if os.getpid() != parent:
        raise RuntimeError("a fault in a worker")
    os.sched_yield()
    return 1


def test_a_worker_that_fails_fails_the_run():
    jobs = [(os.getpid(),)] * 400
    try:
        results = list(in_order(fails_elsewhere, jobs, workers=2))
    except WorkerFailed:
        return
    assert results == [1] * 400  # this process took every job before the worker started


def test_an_exception_here_comes_out():
    def fails_here(parent: int) -> int:
        if os.getpid() == parent:
            raise ValueError("here")
        return 1

    with pytest.raises(ValueError, match="here"):
        list(in_order(fails_here, [(os.getpid(),)] * 50, workers=2))
