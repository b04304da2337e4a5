"""Wake-ups and disk writes of the idle daemon: `steward run` (sandbox mode, default settings)
started as its own process and left idle, against an event-driven process that only waits for
a signal (what an idle daemon could cost: nothing). Interleaved windows of a few seconds each:
wake-ups are the context switches of all the process's threads (/proc/PID/task/*/status),
writes its write() calls and the bytes it sent to disk (/proc/PID/io). Target (issue 21): at
most one wake-up a second, no disk writes while idle.
Run: .venv/bin/python benchmarks/idle_wakeups.py [WINDOW_SECONDS] [ROUNDS]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, median

ROOT = Path(__file__).resolve().parent.parent


def sample(pid: int) -> tuple[int, int, int]:
    """(context switches of every thread, write calls, bytes written to disk) so far."""
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            status = Path(f"/proc/{pid}/task/{task}/status").read_text()
        except OSError:
            continue  # a thread that just ended
        for line in status.splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return switches, int(io["syscw"]), int(io["write_bytes"])


def rates(pid: int, seconds: float) -> tuple[float, float, int]:
    before = sample(pid)
    time.sleep(seconds)
    after = sample(pid)
    return ((after[0] - before[0]) / seconds, (after[1] - before[1]) / seconds,
            after[2] - before[2])


def start_steward(root: Path) -> subprocess.Popen:
    config = root / "steward.toml"
    config.write_text(f'mode = "sandbox"\n\n[paths]\nstate_dir = "{root / "state"}"\n\n'
                      f'[sandbox]\nstate_file = "{root / "sandbox-state.json"}"\n',
                      encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "daemon.cli.main", "run", "--config",
                                str(config)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    audit = root / "state" / "audit.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # READY: the start recorded in the audit log
        if process.poll() is not None:
            raise SystemExit(f"steward run exited with {process.returncode} before it started")
        if audit.exists() and '"event":"service.started"' in audit.read_text(encoding="utf-8"):
            return process
        time.sleep(0.1)
    raise SystemExit("steward run did not start within two minutes")


def main() -> None:
    window = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    root = Path(tempfile.mkdtemp(prefix="steward-idle-"))
    steward = start_steward(root)
    waiting = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    figures: dict[str, list[tuple[float, float, int]]] = {"steward": [], "baseline": []}
    try:
        time.sleep(window)  # let start-up's last work finish
        for _ in range(rounds):
            figures["steward"].append(rates(steward.pid, window))
            figures["baseline"].append(rates(waiting.pid, window))
    finally:
        for process in (steward, waiting):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    ours, theirs = figures["steward"], figures["baseline"]
    print(f"idle, {rounds} interleaved windows of {window:g} s (medians): wake-ups "
          f"Steward {median([f[0] for f in ours]):.1f}/s, a process waiting for a signal "
          f"{median([f[0] for f in theirs]):.1f}/s (target <= 1/s); write calls Steward "
          f"{median([f[1] for f in ours]):.2f}/s, baseline {median([f[1] for f in theirs]):.2f}/s;"
          f" bytes to disk Steward {sum(f[2] for f in ours):,}, baseline "
          f"{sum(f[2] for f in theirs):,} (target 0); Steward exit code on SIGTERM "
          f"{steward.returncode}")
    print(machine())


if __name__ == "__main__":
    main()
