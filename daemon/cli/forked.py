"""Run one function over many jobs on every core, with forked copies of this process, and give
the results in the jobs' order (`steward media clean` of many files).

Lighter than a process pool, which matters to a command whose whole run is a fraction of a
second: nothing more is imported, nothing is sent to a worker (a fork has the jobs already),
and this process works too instead of waiting. Jobs are handed out as they are asked for (each
worker reads the next job's number from a shared pipe: reads of a few bytes from a pipe are
atomic), so a core that another program keeps busy takes fewer. Each worker sends its results
back, pickled, when it has no job left.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

_NUMBER = struct.Struct("<I")  # a job's number in the queue pipe
MAX_QUEUED = 16000  # job numbers that fit in a pipe's buffer (64 KiB), so that writing never waits


class WorkerFailed(RuntimeError):
    """A worker process stopped without giving its results (killed, or a fault in Steward)."""


def in_order(function: Callable[..., Any], jobs: Sequence[tuple[Any, ...]],
             workers: int) -> Iterator[Any]:
    """function(*job) for each job, in order, computed by `workers` processes (this one among
    them). Exceptions are function's to catch: one that escapes a worker fails the run."""
    if workers < 2 or len(jobs) < 2 or len(jobs) > MAX_QUEUED:
        yield from (function(*job) for job in jobs)
        return
    queue_out, queue_in = os.pipe()
    os.write(queue_in, b"".join(_NUMBER.pack(number) for number in range(len(jobs))))
    os.close(queue_in)  # an empty queue then reads as the end
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[tuple[int, int]] = []
    try:
        for _ in range(workers - 1):
            results_out, results_in = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                os.close(results_out)
                _work(function, jobs, queue_out, results_in)
            os.close(results_in)
            children.append((pid, results_out))
        results = dict(_take(function, jobs, queue_out))
        while children:
            results.update(_collect(*children.pop()))
    finally:
        os.close(queue_out)
        for pid, results_out in children:  # interrupted: the workers are not waited for long
            os.close(results_out)
            os.waitpid(pid, 0)
    if len(results) != len(jobs):
        raise WorkerFailed("a worker stopped before its jobs were done")
    yield from (results[number] for number in range(len(jobs)))


def _take(function: Callable[..., Any], jobs: Sequence[tuple[Any, ...]],
          queue: int) -> Iterator[tuple[int, Any]]:
    while len(taken := os.read(queue, _NUMBER.size)) == _NUMBER.size:
        (number,) = _NUMBER.unpack(taken)
        yield number, function(*jobs[number])


def _work(function: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], queue: int,
          results: int) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        data = pickle.dumps(list(_take(function, jobs, queue)))
        view = memoryview(data)
        while view:
            view = view[os.write(results, view):]
    except BaseException:  # noqa: BLE001 - reported by the parent as a worker that failed
        code = 1
    os._exit(code)  # never the parent's clean-up, buffers or exit handlers


def _collect(pid: int, results: int) -> list[tuple[int, Any]]:
    chunks = []
    while chunk := os.read(results, 1 << 16):
        chunks.append(chunk)
    os.close(results)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise WorkerFailed("a worker failed (a fault in Steward); run the command again")
    loaded: list[tuple[int, Any]] = pickle.loads(b"".join(chunks))  # noqa: S301 - our own child
    return loaded
