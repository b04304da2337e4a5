"""Resident memory of the idle daemon: `steward run` (sandbox mode, default settings) started
as its own process, left idle for 10 s, then VmRSS read from /proc. Target (issue 2): < 120 MB.
Run: .venv/bin/python benchmarks/idle_memory.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import settings_with_signer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    settings, _, root = settings_with_signer()
    environment = dict(os.environ, STEWARD_PATHS__STATE_DIR=str(settings.paths.state_dir))
    process = subprocess.Popen([sys.executable, "-m", "daemon.cli.main", "run"], cwd=ROOT,
                               env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        time.sleep(10)
        if process.poll() is not None:
            raise SystemExit(f"steward run exited: {process.stderr.read().decode()}")
        status = Path(f"/proc/{process.pid}/status").read_text()
        rss_kb = int(next(line.split()[1] for line in status.splitlines()
                          if line.startswith("VmRSS:")))
        threads = int(next(line.split()[1] for line in status.splitlines()
                           if line.startswith("Threads:")))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    print(f"idle daemon resident memory: {rss_kb / 1024:.1f} MB ({threads} threads; "
          f"target < 120 MB); exit code on SIGTERM: {process.returncode}")


if __name__ == "__main__":
    main()
