"""Steward and its sandbox as separate processes, as systemd runs them, for reliability tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests

from daemon.runtime.keys import new_key

ROOT = Path(__file__).resolve().parents[2]


class Processes:
    def __init__(self, root: Path, moderation: bool = False) -> None:
        self.root = root
        self.state_dir = root / "state"
        self.sandbox_state = root / "sandbox-state.json"
        self.key = new_key("Deputy Head", root / "deputy.key")
        self.sandbox = subprocess.Popen(
            [sys.executable, "-m", "daemon.cli.main", "sandbox", "serve", "--port", "0", "--state",
             str(self.sandbox_state)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.url = self.sandbox.stdout.readline().split()[3]
        self.config = root / "steward.toml"
        self.config.write_text("\n".join([
            'mode = "sandbox"',
            "[paths]", f'state_dir = "{self.state_dir}"',
            "[sandbox]", f'url = "{self.url}"',
            "[intake]", "settle_seconds = 0.2", "scan_interval_seconds = 1",
            "[publishing]", "retry_initial_seconds = 0.5", "retry_max_seconds = 2",
            "lookup_slack_minutes = 10",
            "[moderation]", f"enabled = {'true' if moderation else 'false'}",
            "[approval]", "[[approval.signers]]", 'name = "Deputy Head"',
            f'public_key = "{self.key.public_key_base64()}"', ""]))
        self.daemon: subprocess.Popen | None = None

    def start_daemon(self) -> subprocess.Popen:
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "daemon.cli.main", "run", "--config", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        return self.daemon

    def run_command(self, *arguments: str, stdin: str | None = None):
        return subprocess.run([sys.executable, "-m", "daemon.cli.main", *arguments, "--config",
                               str(self.config)], input=stdin, capture_output=True, text=True,
                              timeout=120, cwd=ROOT)

    def world(self) -> dict:
        return requests.get(f"{self.url}/_sandbox/state", timeout=30).json()

    def published(self) -> dict[str, list[str]]:
        world = self.world()
        return {"x": [t["text"] for t in world["x"]["tweets"].values()
                      if t["author_id"] == world["x"]["me"] and not t["deleted"]],
                "facebook": [p["message"] for p in world["facebook"]["posts"].values()
                             if not p["deleted"]]}

    def wait(self, condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.25)
        return condition()

    def audit_events(self) -> list[dict]:
        path = self.state_dir / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() \
            else []

    def stop(self) -> None:
        for process in (self.daemon, self.sandbox):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
