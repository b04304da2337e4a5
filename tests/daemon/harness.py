"""A real Steward service in a temporary state directory, on its embedded sandbox, for tests.

Nothing is mocked: the service uses the real connectors, SQLite, APScheduler, watchdog and the
sandbox over loopback HTTP. Tests write posts the way staff do and read the sandbox's state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from config.settings import (
    ApprovalSettings,
    CredentialSettings,
    IntakeSettings,
    PathSettings,
    PublishingSettings,
    SandboxSettings,
    SignerSettings,
    StewardSettings,
)
from daemon.posts.sample_images import png_image
from daemon.posts.submitting import submit
from daemon.runtime.clock import Clock
from daemon.runtime.keys import ApprovalKey, new_key
from daemon.service import Service


def write_post(folder: Path, text: str, *, publish_at: datetime | str | None = None,
               platforms: list[str] | None = None, images: int = 0,
               extra_front_matter: str = "", pictured: list[str] | None = None) -> Path:
    """Write a post folder as a member of staff would. Posts with images say who is pictured
    (nobody, unless `pictured` is given)."""
    folder.mkdir(parents=True)
    lines = ["+++"]
    if images or "[[images]]" in extra_front_matter:
        lines.append("pictured = [" + ", ".join(f'"{p}"' for p in pictured or []) + "]")
    if publish_at is not None:
        written = publish_at if isinstance(publish_at, str) else publish_at.isoformat()
        lines.append(f'publish_at = "{written}"')
    if platforms is not None:
        lines.append("platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]")
    if extra_front_matter:
        lines.append(extra_front_matter)
    for number in range(images):
        (folder / f"photo-{number}.png").write_bytes(png_image(16, 12, seed=number))
        lines += ["[[images]]", f'file = "photo-{number}.png"',
                  f'alt = "Photograph number {number} of the school garden"']
    lines += ["+++", text, ""]
    (folder / "post.md").write_text("\n".join(lines), encoding="utf-8")
    return folder


class StewardUnderTest:
    """Builds settings, starts and stops the service, submits posts, reads results."""

    def __init__(self, root: Path, approvals_required: int = 1, signers: int = 1,
                 **publishing) -> None:
        self.root = root
        self.state_dir = root / "state"
        self.keys: list[ApprovalKey] = []
        keys_dir = root / "keys"
        keys_dir.mkdir(parents=True, exist_ok=True)
        for number in range(signers):
            path = keys_dir / f"signer-{number}.key"
            self.keys.append(new_key(f"Deputy Head {number}", path))
        self.settings = StewardSettings(
            mode="sandbox",
            paths=PathSettings(state_dir=self.state_dir),
            intake=IntakeSettings(settle_seconds=0.3, scan_interval_seconds=1),
            approval=ApprovalSettings(
                approvals_required=approvals_required,
                signers=[SignerSettings(name=k.name, public_key=k.public_key_base64())
                         for k in self.keys]),
            publishing=PublishingSettings(**({"retry_initial_seconds": 0.2,
                                              "retry_max_seconds": 1} | publishing)),
            sandbox=SandboxSettings(state_file=root / "sandbox-state.json"),
            credentials=CredentialSettings(master_key_file=keys_dir / "master.key"),
        )
        self.service: Service | None = None
        self.drafts = root / "drafts"
        self.clock = Clock()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> Service:
        self.service = Service(self.settings, self.clock)
        self.service.start()
        return self.service

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop("test finished")
            self.service = None

    @property
    def inbox(self) -> Path:
        return self.settings.paths.resolved("inbox")

    @property
    def rejected(self) -> Path:
        return self.settings.paths.resolved("rejected")

    @property
    def archive(self) -> Path:
        return self.settings.paths.resolved("archive")

    def soon(self, seconds: float = 0.5) -> str:
        """A publish_at a moment from now, written in school time without an offset."""
        zone = ZoneInfo(self.settings.school.time_zone)
        moment = self.clock.now().astimezone(zone) + timedelta(seconds=seconds)
        return f"{moment:%Y-%m-%dT%H:%M:%S.%f}"

    def post(self, name: str, text: str, *, sign: int | None = 1, publish_at=None,
             **options) -> Path:
        folder = write_post(self.drafts / name, text,
                            publish_at=publish_at if publish_at is not None else self.soon(),
                            **options)
        return self.submit(folder, sign)

    def submit(self, folder: Path, sign: int | None = 1) -> Path:
        keys = self.keys[:sign] if sign else []
        return submit(folder, self.inbox, keys=keys, time_zone=self.settings.school.time_zone,
                      max_text_bytes=self.settings.intake.max_text_bytes,
                      max_media_bytes=self.settings.intake.max_media_bytes)

    # -- reading results ---------------------------------------------------------------------

    def sandbox_url(self) -> str:
        return self.service.sandbox_url

    def world(self) -> dict:
        if self.service is not None:
            return requests.get(f"{self.sandbox_url()}/_sandbox/state", timeout=5).json()
        return json.loads((self.root / "sandbox-state.json").read_text())

    def published_texts(self) -> dict[str, list[str]]:
        world = self.world()
        return {
            "x": [t["text"] for t in world["x"]["tweets"].values()
                  if t["author_id"] == world["x"]["me"] and not t["deleted"]],
            "facebook": [p["message"] for p in world["facebook"]["posts"].values()
                         if not p["deleted"]],
        }

    def wait_for_status(self, name: str, statuses=("done",), timeout: float = 20) -> bool:
        def finished() -> bool:
            rows = self.service.store.query("SELECT status FROM submissions WHERE name = ?",
                                            (name,))
            return bool(rows) and rows[0]["status"] in statuses

        return self.service.wait_until(finished, timeout)

    def wait_for_refusal(self, name: str, timeout: float = 10) -> str | None:
        report = self.rejected / f"{name}.rejected.txt"
        if self.service.wait_until(report.exists, timeout):
            return report.read_text(encoding="utf-8")
        return None

    def move_publish_time(self, name: str, moment: datetime) -> None:
        """Set a stored post's publish time, as if the time had passed while Steward was
        stopped (test set-up, written straight into the database; run it while stopped)."""
        import sqlite3  # noqa: PLC0415

        written = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with sqlite3.connect(self.state_dir / "steward.sqlite3") as database:
            database.execute("UPDATE submissions SET publish_at = ? WHERE name = ?",
                             (written, name))

    def audit_events(self) -> list[dict]:
        path = self.state_dir / "audit.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def events_named(self, name: str) -> list[dict]:
        return [event for event in self.audit_events() if event["event"] == name]

    def fault(self, **fault) -> None:
        requests.post(f"{self.sandbox_url()}/_sandbox/faults", json=fault,
                      timeout=5).raise_for_status()
