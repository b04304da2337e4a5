"""Someone who may read Steward's state directory but not write it: an auditor, a member of SLT
running `steward status`, a DSL exporting the incident log.

As root (the test container), the work runs in a forked child that has become `nobody`, in a
folder everyone can read and nobody but root can write; as anyone else, in this process with
the folder made read-only for the time of the work.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

NOBODY = 65534


def as_a_reader_who_cannot_write(folder: Path, work: Callable[[], object]) -> tuple[object, str]:
    """Run `work` as a reader who cannot write `folder`; return what it returned (something
    JSON can carry) and what it printed. An exception in the work comes back as its repr."""
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            return _captured(work)
        finally:
            folder.chmod(mode)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            payload = json.dumps(_captured(work))
        except BaseException as error:  # noqa: BLE001 - everything goes back to the test
            payload = json.dumps([f"raised {error!r}", ""])
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        payload = pipe.read()
    os.waitpid(child, 0)
    result, printed = json.loads(payload)
    return result, printed


def _captured(work: Callable[[], object]) -> tuple[object, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            result = work()
        except Exception as error:  # noqa: BLE001 - the test reads it
            result = f"raised {error!r}"
    return result, buffer.getvalue()
