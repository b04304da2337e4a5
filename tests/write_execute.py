"""Run a process as systemd's MemoryDenyWriteExecute=yes would: no memory that is both
writable and executable. Linux 6.3+ offers the same rule per process (prctl PR_SET_MDWE), so
tests can check that what the unit runs still works under it."""

from __future__ import annotations

import ctypes
import subprocess

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def _deny_write_execute() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE) refused")


def write_execute_denial_available() -> bool:
    """Whether this kernel can apply the rule (Linux 6.3 or later)."""
    try:
        run_denying_write_execute(["true"], check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def run_denying_write_execute(arguments: list[str], **options) -> subprocess.CompletedProcess:
    options.setdefault("check", False)
    return subprocess.run(arguments, preexec_fn=_deny_write_execute,  # noqa: PLW1509, S603
                          **options)
