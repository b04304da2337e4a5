"""The intake: watch the inbox, take each complete submission once, judge it, accept or refuse.

A submission is taken when it is complete: renamed into the inbox (one inotify event at full
size, which is how `steward submit` delivers), or unchanged for `settle_seconds` (copied in,
or found by the periodic scan that covers network shares and files present at start-up).
It is claimed by an atomic rename into `<inbox>/.steward/claimed/`, so it is processed once even
if the inbox is shared; claims left by a crash are finished at the next start.

Refused: the submission moves to the rejected folder with `NAME.rejected.txt` giving every
reason in plain English. Accepted: it moves into the state directory's queue, is recorded in
SQLite, and is handed to the scheduler.
"""

from __future__ import annotations

import errno
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from config.settings import StewardSettings
from daemon.assessment import Assessment, assess
from daemon.audit import AuditLog
from daemon.clock import Clock
from daemon.media_fixing import CLEAN_FOLDER, clean_images
from daemon.publishing import unique_path, write_notice
from daemon.store import Store, StoredSubmission
from policies.findings import Finding
from policies.media import UncleanableMedia
from policies.pipeline import recheck_fixed_media

log = structlog.get_logger("steward.intake")
CLAIMS = ".steward/claimed"
MOVE_PAIRING_SECONDS = 0.02

try:  # Linux (inotify) only
    from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper
except ImportError:  # pragma: no cover - other platforms have no move grouper
    InotifyMoveEventGrouper = None
if InotifyMoveEventGrouper is not None:
    # watchdog holds every IN_MOVED_FROM for `delay` (0.5 s) to pair it with its IN_MOVED_TO,
    # and later events wait behind it in order. Every claim renames a submission out of the
    # inbox into a folder that is not watched, so its IN_MOVED_FROM never pairs, and a
    # submission arriving within half a second of any claim waited for it (measured: median
    # pickup 499 ms in benchmarks/pickup_latency.py). The two events of one rename arrive
    # microseconds apart, so a much shorter window loses no pairing.
    InotifyMoveEventGrouper.delay = MOVE_PAIRING_SECONDS


def fingerprint(path: Path) -> tuple:
    """Sizes and modification times of everything in `path`: changes while it is written."""
    try:
        if not path.is_dir() or path.is_symlink():
            info = path.lstat()
            return ((path.name, info.st_size, info.st_mtime_ns),)
        entries = []
        for root, _directories, files in os.walk(path):
            for name in files[:1000]:
                info = Path(root, name).lstat()
                entries.append((os.path.relpath(Path(root, name), path), info.st_size,
                                info.st_mtime_ns))
        return tuple(sorted(entries))
    except OSError:
        return ()


def newest_change(path: Path) -> float:
    """The newest modification time (seconds since the epoch) in `path`."""
    stamps = [entry[2] / 1e9 for entry in fingerprint(path)]
    return max(stamps, default=0.0)


class Intake:
    """Watches the inbox and feeds complete submissions, one at a time, to `process`."""

    def __init__(self, settings: StewardSettings, store: Store, audit: AuditLog, clock: Clock,
                 on_accepted: Callable[[str, datetime], None]) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self.clock = clock
        self.on_accepted = on_accepted
        paths = settings.paths
        self.inbox = paths.resolved("inbox")
        self.rejected = paths.resolved("rejected")
        self.queue_dir = paths.state_dir / "queue"
        self.claims = self.inbox / CLAIMS
        self._work: queue.Queue[str | None] = queue.Queue()
        self._queued: set[str] = set()
        self._candidates: dict[str, tuple[tuple, float]] = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._observer: Observer | None = None
        self.last_activity = time.monotonic()

    # -- life cycle --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the folders and finish any claims a previous run left behind."""
        for folder in (self.inbox, self.rejected, self.queue_dir, self.claims):
            folder.mkdir(parents=True, exist_ok=True)
        for orphan in sorted(self.queue_dir.iterdir()):
            if self.store.submission(orphan.name) is None:
                os.rename(orphan, self.claims / orphan.name)
        for claim in sorted(self.claims.iterdir()):
            entries = [entry for entry in claim.iterdir()] if claim.is_dir() else []
            if not entries:
                shutil.rmtree(claim, ignore_errors=True)
                continue
            self.audit.record("submission.claim_resumed", claim=claim.name)
            self._handle_claim(claim, entries[0].name)

    def start(self) -> None:
        """Scan the inbox, then watch it (inotify), settle candidates and rescan periodically."""
        self.prepare()
        handler = _InboxEvents(self)
        self._observer = Observer()
        self._observer.schedule(handler, str(self.inbox), recursive=False)
        self._observer.daemon = True
        self._observer.start()
        for target, name in ((self._worker, "intake-worker"), (self._ticker, "intake-ticker")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.scan()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching; let the submission being processed finish."""
        self._stopping.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        self._work.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def alive(self) -> bool:
        """True while the watcher and the worker threads are running (for the watchdog)."""
        observer_ok = self._observer is not None and self._observer.is_alive()
        return observer_ok and all(thread.is_alive() for thread in self._threads)

    # -- noticing submissions ----------------------------------------------------------------

    def entry_name(self, path: str) -> str | None:
        """The inbox entry (top-level name) a path belongs to, or None for Steward's own files."""
        try:
            relative = Path(path).relative_to(self.inbox)
        except ValueError:
            return None
        if not relative.parts or relative.parts[0].startswith("."):
            return None
        return relative.parts[0]

    def renamed_in(self, name: str) -> None:
        """A complete entry was renamed into the inbox: take it now."""
        with self._guard:
            self._candidates.pop(name, None)
        self._enqueue(name)

    def changed(self, name: str) -> None:
        """Something inside an entry changed: take it once it has settled."""
        with self._guard:
            if name not in self._queued:
                self._candidates[name] = ((), self.clock.monotonic())

    def scan(self) -> None:
        """Look at every entry in the inbox; take the settled ones, watch the others."""
        try:
            names = sorted(entry.name for entry in self.inbox.iterdir()
                           if not entry.name.startswith("."))
        except OSError as error:
            self.audit.record("intake.inbox_unreadable", level="error", reason=str(error),
                              audience="admin")
            return
        now = time.time()
        for name in names:
            if now - newest_change(self.inbox / name) >= self.settings.intake.settle_seconds:
                self._enqueue(name)
            else:
                self.changed(name)

    def _enqueue(self, name: str) -> None:
        with self._guard:
            if name in self._queued:
                return
            self._queued.add(name)
        self._work.put(name)

    def _ticker(self) -> None:
        last_scan = self.clock.monotonic()
        while not self._stopping.wait(0.2):
            now = self.clock.monotonic()
            with self._guard:
                candidates = dict(self._candidates)
            for name, (previous, since) in candidates.items():
                current = fingerprint(self.inbox / name)
                if not current:
                    with self._guard:
                        self._candidates.pop(name, None)
                elif current != previous:
                    with self._guard:
                        self._candidates[name] = (current, now)
                elif now - since >= self.settings.intake.settle_seconds:
                    with self._guard:
                        self._candidates.pop(name, None)
                    self._enqueue(name)
            if now - last_scan >= self.settings.intake.scan_interval_seconds:
                last_scan = now
                self.scan()

    def _worker(self) -> None:
        while True:
            name = self._work.get()
            if name is None or self._stopping.is_set():
                return
            try:
                self.process(name)
            except Exception as error:  # the daemon must keep running whatever one post does
                try:
                    self.audit.record("intake.error", level="error", name=name,
                                      reason=f"{error.__class__.__name__}: {error}",
                                      audience="admin")
                except Exception:  # noqa: BLE001 - e.g. the disk is full: journald still hears
                    log.error("intake.error", name=name, reason=error.__class__.__name__)
            finally:
                with self._guard:
                    self._queued.discard(name)
                self.last_activity = time.monotonic()

    # -- processing one submission -----------------------------------------------------------

    def disk_is_short(self) -> bool:
        """Whether the state directory is nearly full: new submissions then wait in the inbox
        (nothing is claimed that might not be recorded), and the administrator is told once."""
        free = shutil.disk_usage(self.queue_dir).free
        short = free < self.settings.intake.min_free_megabytes * 1024 * 1024
        if short and not self._disk_alerted:
            log.error("intake.disk_full", free_bytes=free, state_dir=str(self.queue_dir.parent),
                      note="new submissions wait in the inbox until space is freed")
            try:
                self.audit.record("intake.disk_full", level="error", free_bytes=free,
                                  audience="admin")
            except OSError:
                pass  # the audit log is on the same full disk; the line above reached journald
        self._disk_alerted = short
        return short

    _disk_alerted = False

    def process(self, name: str) -> None:
        """Claim the inbox entry `name` by rename, then judge it."""
        source = self.inbox / name
        if not os.path.lexists(source):
            return
        if self.disk_is_short():
            self.changed(name)  # try again when it settles next time
            return
        claim_id = f"{self.clock.now():%Y%m%dT%H%M%S%f}-{_safe(name)}"
        claim = self.claims / claim_id
        claim.mkdir(parents=True)
        try:
            os.rename(source, claim / name)
        except FileNotFoundError:
            claim.rmdir()
            return
        self._handle_claim(claim, name)

    def _handle_claim(self, claim: Path, name: str) -> None:
        self.audit.record("submission.received", name=name, claim=claim.name)
        try:
            assessment = assess(claim / name, self.settings, self.clock.now(), name=name)
            findings = list(assessment.findings)
            content = assessment.submission.content_sha256(self.settings.intake.max_media_bytes)
            if not findings:
                known = self.store.known_submission(content)
                if known is not None:
                    findings.append(Finding(
                        "duplicate", "steward.format",
                        f"this post was already accepted on {known.received_at:%Y-%m-%d %H:%M} "
                        f"UTC as '{known.name}' ({known.id})",
                        "Nothing to do: it will not be published twice. To post it again, "
                        "change the text and sign it again."))
            if findings:
                self._refuse(claim, name, findings)
            else:
                self._accept(claim, name, assessment, content)
        except Exception as error:
            self.audit.record("intake.error", level="error", name=name, claim=claim.name,
                              reason=f"{error.__class__.__name__}: {error}", audience="admin")
            self._refuse(claim, name, [Finding(
                "internal-error", "steward.format",
                "Steward could not process this submission because of an internal error",
                f"Tell the administrator (reference {claim.name}); the post was not published.",
                audience="admin")])

    def _refuse(self, claim: Path, name: str, findings: list[Finding]) -> None:
        self.rejected.mkdir(parents=True, exist_ok=True)
        target = unique_path(self.rejected / name)
        if os.path.lexists(claim / name):
            shutil.move(str(claim / name), str(target))
        shutil.rmtree(claim, ignore_errors=True)
        received = self.clock.now().astimezone(_zone(self.settings))
        lines = [f"Steward did not publish '{name}' (received {received:%Y-%m-%d %H:%M %Z}).",
                 "", "Reasons:"]
        lines += [finding.explain() for finding in findings]
        lines += ["", "Nothing was published. Fix the post, have it signed again, and put it "
                  "back in the inbox.", f"Reference for the administrator: {claim.name}"]
        report = target.with_name(target.name + ".rejected.txt")
        write_notice(report, "\n".join(lines) + "\n")
        self.audit.record(
            "submission.refused", name=name, claim=claim.name, file=str(report),
            rules=sorted({finding.rule for finding in findings}),
            clauses=sorted({finding.clause_id for finding in findings}),
            reasons=len(findings), audience="SLT")

    def _accept(self, claim: Path, name: str, assessment: Assessment, content: str) -> None:
        submission = assessment.submission
        publish_at = submission.publish_at or self.clock.now()
        submission_id = f"{publish_at:%Y%m%d-%H%M}-{content[:12]}"
        queued = self.queue_dir / submission_id
        _move(claim, queued)
        again = assess(queued / name, self.settings, self.clock.now(), name=name)
        if again.findings or again.submission.content_sha256(
                self.settings.intake.max_media_bytes) != content:
            _move(queued, claim)
            self._refuse(claim, name, [Finding(
                "changed-during-check", "steward.format",
                "the post changed while Steward was checking it",
                "Put it in the inbox again once it is complete (use `steward submit`).")])
            return
        folder = queued / name if submission.is_folder else queued
        try:
            media = clean_images(folder, submission.images, self.audit, submission_id,
                                 blur=self.settings.faces.policy == "blur")
        except UncleanableMedia as error:
            _move(queued, claim)
            self._refuse(claim, name, [Finding(
                "location-metadata", "st-marys.no-geolocation",
                f"an image could not be cleaned of location data: {error}",
                "Use a JPEG or PNG export of the picture.")])
            return
        fixed = replace(submission, root=folder / CLEAN_FOLDER, is_folder=True)
        again_findings = recheck_fixed_media(fixed, assessment.context) if media else []
        if again_findings:
            shutil.rmtree(folder / CLEAN_FOLDER, ignore_errors=True)
            _move(queued, claim)
            self._refuse(claim, name, [replace(finding, problem="after cleaning, "
                                               + finding.problem) for finding in again_findings])
            return
        posts = {platform: {"text": submission.text_for(platform), "media": media}
                 for platform in assessment.platforms}
        stored = StoredSubmission(
            id=submission_id, name=name, content_sha256=content, publish_at=publish_at,
            status="scheduled", signers=list(assessment.signers), received_at=self.clock.now(),
            folder=folder, posts=posts)
        self.store.add_submission(stored, self.clock.now())
        self.audit.record("submission.accepted", clause="st-marys.slt-posts", name=name,
                          submission=submission_id, content_sha256=content,
                          approved_by=list(assessment.signers), images=len(submission.images))
        self.audit.record("post.scheduled", submission=submission_id, name=name,
                          publish_at=publish_at.isoformat(), platforms=list(posts))
        self.on_accepted(submission_id, publish_at)


def _move(source: Path, target: Path) -> None:
    """Rename, or copy and remove when source and target are on different file systems."""
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        shutil.copytree(source, target, symlinks=True)
        shutil.rmtree(source)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80]


def _zone(settings: StewardSettings) -> ZoneInfo:
    return ZoneInfo(settings.school.time_zone)


class _InboxEvents(FileSystemEventHandler):
    """Turn inotify events into `renamed_in` (complete) or `changed` (wait to settle)."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.event_type == "moved":
            name = self.intake.entry_name(event.dest_path)
            if name is None:
                return
            if Path(event.dest_path).parent == self.intake.inbox:
                self.intake.renamed_in(name)
            else:
                self.intake.changed(name)
            return
        name = self.intake.entry_name(event.src_path)
        if name is not None and event.event_type != "deleted":
            self.intake.changed(name)
