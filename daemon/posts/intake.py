"""The intake: watch the inbox, take each complete submission once, judge it, accept or refuse.

A submission is taken when it is complete: renamed into the inbox (one inotify event at full
size, which is how `steward submit` delivers), or unchanged for `settle_seconds` (copied in,
or found by the periodic scan that covers network shares and files present at start-up).

Everything in the inbox may come from an attacker, so taking a submission is:
1. claim it by renaming it, inside the inbox, to a hidden name (`.steward-claim-ID`), so it is
   taken once even if the inbox is shared;
2. read it once (`daemon.posts.reading`: descriptors, no links, no hard links, only what
   post.md lists) and write those bytes into a new folder Steward owns, `<state>/claims/ID`
   (0700), then remove the original from the inbox; the submitter's folder is never written;
3. judge the bytes in one pass (`daemon.posts.assessment`): approvals, then cleaning the pictures,
   then every policy once, on the cleaned pictures;
4. refused: Steward's copy goes to the rejected folder with `NAME.rejected.txt` giving every
   reason in plain English. Accepted: the cleaned pictures are written beside the copy, which
   moves into `<state>/queue/`, is recorded in SQLite and handed to the scheduler.
A crash at any point loses nothing: the next start finishes hidden claims in the inbox and
copies in `<state>/claims/`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import re
import shutil
import stat
import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from config.settings import StewardSettings
from daemon.audit.chain import AuditLog
from daemon.credentials.vault import VaultError
from daemon.posts.assessment import Assessment, assess_submission
from daemon.posts.media_fixing import CLEAN_FOLDER, CleanedImage
from daemon.posts.notices import write_accepted, write_answer
from daemon.posts.publishing import unique_path, write_notice
from daemon.posts.pupil_hashes import PupilHasher
from daemon.posts.reading import read_entry, write_copy, write_new_file
from daemon.posts.requests import Requests
from daemon.runtime.clock import Clock
from daemon.runtime.store import Store, StoredSubmission
from policies.displayed_text import unsafe_character, visible
from policies.findings import Finding
from policies.submission import Submission

log = structlog.get_logger("steward.intake")
CLAIM_PREFIX = ".steward-claim-"   # an inbox entry being taken
TAKEN_PREFIX = ".steward-taken-"   # a taken entry Steward was not allowed to delete
CLAIM_RECORD = "claim.json"        # in a claim's copy: the post's name, written last
PARTIAL_PREFIX = ".partial-"       # a copy being made (Steward's own claims folder)
RESUMED_RECORD = "resumed"         # in a claim's copy: judging it was interrupted once already
FAILED_PREFIX = ".failed-"         # a copy whose recovery failed: kept for the administrator
MAX_NAME_BYTES = 200               # leaves room for "-99" and ".NAME.rejected.txt.partial"
_CLAIM_ID = re.compile(r"[0-9]{8}T[0-9]{12}-[A-Za-z0-9._-]{0,80}")
_OWN_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
OLD_CLAIMS = ".steward/claimed"    # where releases before 0.2 kept claims, inside the inbox
MOVE_PAIRING_SECONDS = 0.02

try:  # Linux (inotify) only
    from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper
except ImportError:  # pragma: no cover - other platforms have no move grouper
    pass
else:
    # watchdog holds every IN_MOVED_FROM for `delay` (0.5 s) to pair it with its IN_MOVED_TO,
    # and later events wait behind it in order. Every claim renames a submission out of the
    # inbox into a folder that is not watched, so its IN_MOVED_FROM never pairs, and a
    # submission arriving within half a second of any claim waited for it (measured: median
    # pickup 499 ms in benchmarks/pickup_latency.py). The two events of one rename arrive
    # microseconds apart, so a much shorter window loses no pairing.
    InotifyMoveEventGrouper.delay = MOVE_PAIRING_SECONDS


def fingerprint(path: Path) -> tuple:
    """Sizes and modification times of an inbox entry and of what is directly inside it (a post
    folder holds only files; anything deeper is refused, so it is never walked): they change
    while it is written."""
    try:
        info = path.lstat()
        entries = [(".", info.st_size, info.st_mtime_ns)]
        if stat.S_ISDIR(info.st_mode):
            with os.scandir(path) as folder:
                for number, entry in enumerate(folder):
                    if number >= 1000:
                        break
                    inside = entry.stat(follow_symlinks=False)
                    entries.append((entry.name, inside.st_size, inside.st_mtime_ns))
        return tuple(sorted(entries))
    except OSError:
        return ()


def newest_change(path: Path) -> float:
    """The newest modification time (seconds since the epoch) in `path`."""
    stamps = [entry[2] / 1e9 for entry in fingerprint(path)]
    return max(stamps, default=0.0)


SETTLE_POLL_SECONDS = 0.2  # how often entries still being written are looked at

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
        self.claims = paths.state_dir / "claims"
        self._work: queue.Queue[str | None] = queue.Queue()
        self._queued: set[str] = set()
        self._candidates: dict[str, tuple[tuple, float]] = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()  # a candidate to settle, or stopping: the ticker looks
        self._threads: list[threading.Thread] = []
        self._observer: BaseObserver | None = None
        self.requests: Requests | None = None  # cancel/unpublish; set by the service
        # the keyed hashes of pupils pictured (issue 22); made from the vault on first use
        self.pupil_hasher: Callable[[], PupilHasher] | None = None
        self._kept: set[str] = set()  # taken entries Steward may not delete, already reported
        self.last_activity = self.clock.monotonic()

    # -- life cycle --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the folders and finish whatever a previous run left behind: copies it made,
        entries it had claimed in the inbox, and claims of releases before 0.2. The inbox may
        hold entries planted to look like any of these: each is read as a submission (once,
        no links) or removed, never followed; and one that fails is set aside, so that no
        entry can stop Steward from starting."""
        for folder in (self.inbox, self.rejected, self.queue_dir, self.claims):
            folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.claims, 0o700)
        for orphan in sorted(self.queue_dir.iterdir()):
            if self.store.submission(orphan.name) is None:
                os.rename(orphan, self.claims / orphan.name)
        for copy in sorted(self.claims.iterdir()):
            if copy.name.startswith(PARTIAL_PREFIX):
                shutil.rmtree(copy, ignore_errors=True)  # its original is still in the inbox
            elif not copy.name.startswith(FAILED_PREFIX):
                self._safely(copy.name, partial(self._resume_copy, copy), set_aside=copy)
        with _opened_folder(self.inbox) as inbox:
            for entry in sorted(os.listdir(inbox)):
                if entry.startswith(TAKEN_PREFIX):
                    self._remove_original(inbox, entry)
                elif entry.startswith(CLAIM_PREFIX):
                    self._safely(entry, partial(self._resume_claim, inbox, entry))
            self._safely(OLD_CLAIMS, lambda: self._finish_old_claims(inbox))

    def _safely(self, what: str, action: Callable[[], None], set_aside: Path | None = None
                ) -> None:
        """Run one piece of start-up recovery; if it fails, say so to the administrator, set
        the copy aside (never tried again) and go on."""
        try:
            action()
        except Exception as error:  # noqa: BLE001 - one leftover must not stop the service
            shown = visible(what)
            if set_aside is not None and set_aside.exists():
                aside = set_aside.with_name(FAILED_PREFIX + set_aside.name)
                os.rename(set_aside, aside)
                shown = f"{shown} (set aside as {aside})"
            self.audit.record("intake.recovery_failed", level="error", entry=shown,
                              reason=f"{error.__class__.__name__}: {error}", audience="admin")

    def _resume_claim(self, inbox: int, entry: str) -> None:
        """An entry the last run had claimed in the inbox (or one planted to look like it)."""
        claim_id = entry.removeprefix(CLAIM_PREFIX)
        if _valid_claim_id(claim_id) and (self.claims / claim_id).exists():
            self._remove_original(inbox, entry)  # copied before the stop; the copy is resumed
            return
        if not _valid_claim_id(claim_id):  # not a name Steward gave: claim it afresh
            fresh = self._claim_id(claim_id)
            os.rename(entry, CLAIM_PREFIX + fresh, src_dir_fd=inbox, dst_dir_fd=inbox)
            entry, claim_id = CLAIM_PREFIX + fresh, fresh
        self.audit.record("submission.claim_resumed", claim=claim_id)
        self._take(inbox, entry, claim_id, _claimed_name(claim_id))

    def _finish_old_claims(self, inbox: int) -> None:
        """Claims a release before 0.2 left in `<inbox>/.steward/claimed/ID/NAME`. Only folders
        this service made (its own user owns them) are taken, each opened without following a
        link; anything else there was planted, and is reported, not read."""
        try:
            steward = os.open(".steward", _OWN_FOLDER_FLAGS, dir_fd=inbox)
        except FileNotFoundError:
            return
        try:
            if not _own(steward):
                raise PermissionError("the inbox's .steward folder is not Steward's own")
            claimed = os.open("claimed", _OWN_FOLDER_FLAGS, dir_fd=steward)
            try:
                if not _own(claimed):
                    raise PermissionError("the inbox's .steward/claimed folder is not Steward's")
                for claim_id in sorted(os.listdir(claimed)):
                    self._safely(claim_id, partial(self._finish_old_claim, claimed, claim_id))
            finally:
                os.close(claimed)
            with contextlib.suppress(OSError):
                os.rmdir("claimed", dir_fd=steward)
        finally:
            os.close(steward)
        with contextlib.suppress(OSError):
            os.rmdir(".steward", dir_fd=inbox)

    def _finish_old_claim(self, claimed: int, claim_id: str) -> None:
        claim = os.open(claim_id, _OWN_FOLDER_FLAGS, dir_fd=claimed)
        try:
            if not _own(claim):
                raise PermissionError(f"the old claim {visible(claim_id)} is not Steward's own")
            entries = sorted(os.listdir(claim))
            if entries:
                self.audit.record("submission.claim_resumed", claim=visible(claim_id))
                fresh = self._claim_id(entries[0])
                self._take(claim, entries[0], fresh, entries[0])
        finally:
            os.close(claim)
        shutil.rmtree(claim_id, dir_fd=claimed)

    def _claim_id(self, name: str) -> str:
        """A new claim id: when it was taken, and a safe form of the post's name."""
        return f"{self.clock.now():%Y%m%dT%H%M%S%f}-{_safe(name)}"

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
        self._wake.set()
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
        self._wake.set()  # the ticker settles it from now on

    def scan(self) -> None:
        """Look at every entry in the inbox; take the settled ones, watch the others, and try
        again to remove the taken ones Steward was not allowed to delete before."""
        try:
            entries = sorted(entry.name for entry in self.inbox.iterdir())
        except OSError as error:
            self.audit.record("intake.inbox_unreadable", level="error", reason=str(error),
                              audience="admin")
            return
        kept = [entry for entry in entries if entry.startswith(TAKEN_PREFIX)]
        if kept:
            with _opened_folder(self.inbox) as inbox:
                for entry in kept:
                    self._remove_original(inbox, entry)
        names = [entry for entry in entries if not entry.startswith(".")]
        now = self.clock.now().timestamp()  # against files' times, which are the real clock's
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
        """Settle candidates every 0.2 s while there are any; otherwise sleep until the next
        rescan is due or inotify reports a change (`changed` wakes it): an idle inbox costs
        one wake-up a scan interval, not five a second."""
        last_scan = self.clock.monotonic()
        while not self._stopping.is_set():
            with self._guard:
                settling = bool(self._candidates)
            interval = self.settings.intake.scan_interval_seconds
            due = interval - (self.clock.monotonic() - last_scan)
            self._wake.wait(SETTLE_POLL_SECONDS if settling else
                            min(max(due, SETTLE_POLL_SECONDS), interval))
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                last_scan = self._tick(last_scan)
            except Exception as error:  # noqa: BLE001 - one entry must not stop the intake
                log.error("intake.tick_failed", reason=error.__class__.__name__)

    def _tick(self, last_scan: float) -> float:
        """Settle candidates, and rescan when it is time; return when the last scan was."""
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
        return last_scan

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
                self.last_activity = self.clock.monotonic()

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
        """Claim the inbox entry `name` by renaming it, inside the inbox, to a hidden name (no
        permission on the entry itself is needed, whatever the submitter's umask), then take
        it."""
        if not os.path.lexists(self.inbox / name):
            return
        if self.disk_is_short():
            self.changed(name)  # try again when it settles next time
            return
        claim_id = self._claim_id(name)
        with _opened_folder(self.inbox) as inbox:
            try:
                os.rename(name, CLAIM_PREFIX + claim_id, src_dir_fd=inbox, dst_dir_fd=inbox)
            except FileNotFoundError:
                return
            self._take(inbox, CLAIM_PREFIX + claim_id, claim_id, name)

    def _take(self, parent: int, entry: str, claim_id: str, name: str) -> None:
        """Read the claimed entry once into a new folder Steward owns, remove it from the inbox,
        and judge the copy. The copy is made before the original goes, so a crash loses
        nothing: the next start finds one or the other."""
        self.audit.record("submission.received", name=name, claim=claim_id)
        submission = self._read(parent, entry, name)
        copy = self.claims / claim_id
        copy_entry = copy_entry_name(name)
        if not copy.exists():  # made whole under a temporary name, then renamed: a copy
            partial = self.claims / f"{PARTIAL_PREFIX}{claim_id}"  # under its own name is whole
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(mode=0o700)
            with _opened_folder(partial) as folder:
                write_copy(submission, folder, copy_entry)
                _write_claim_record(folder, name, copy_entry)
            os.rename(partial, copy)
            with _opened_folder(self.claims) as claims:
                os.fsync(claims)
        self._remove_original(parent, entry)
        self._judge(copy, copy_entry, name, submission)

    def _remove_original(self, parent: int, entry: str) -> None:
        """Remove a claimed entry once Steward has its copy (_remove_original below). One it
        may not delete is kept under a hidden "taken" name, which the next scans try again;
        the administrator is told once, since every SLT member may read it until it goes."""
        kept = _remove_original(parent, entry)
        if kept is None:
            self._kept.discard(entry)
            if entry.startswith(TAKEN_PREFIX):
                self.audit.record("intake.original_removed", entry=visible(entry))
            return
        taken, reason = kept
        if taken in self._kept:
            return
        self._kept.add(taken)
        self.audit.record(
            "intake.original_kept", level="warning", audience="admin", entry=visible(taken),
            reason=reason, note="Steward has its copy, but may not delete this entry in the "
            "inbox (its folders are not writable by the group steward-slt), and every member "
            "of that group may read it until it goes; Steward tries again at each scan. "
            f"Remove it: sudo rm -rf {visible(str(self.inbox / taken))}")

    def _read(self, parent: int, entry: str, name: str) -> Submission:
        return read_entry(parent, entry, name=name, time_zone=self.settings.school.time_zone,
                          max_text_bytes=self.settings.intake.max_text_bytes,
                          max_media_bytes=self.settings.intake.max_media_bytes,
                          max_video_bytes=self.settings.intake.max_video_bytes)

    def _resume_copy(self, copy: Path) -> None:
        """Judge a copy a previous run made but did not finish with."""
        record = _read_claim_record(copy)
        if record is None:
            shutil.rmtree(copy, ignore_errors=True)  # interrupted before the copy was whole
            return
        name, copy_entry = record
        shutil.rmtree(copy / copy_entry / CLEAN_FOLDER, ignore_errors=True)
        self.audit.record("submission.claim_resumed", claim=copy.name)
        resumed = copy / RESUMED_RECORD
        if resumed.exists():  # judging it stopped Steward twice: never a third time
            self._refuse(copy, copy_entry, name, [Finding(
                "internal-error", "steward.format",
                "Steward stopped twice while checking this post, so it will not try again (a "
                "picture too large or too unusual to examine is the usual cause)",
                "Export the pictures again as ordinary JPEGs of 12 megapixels or fewer, sign "
                f"the post again and resubmit it; tell the administrator (reference {copy.name})",
                audience="admin")])
            return
        resumed.write_bytes(b"")
        with _opened_folder(copy) as folder:
            submission = self._read(folder, copy_entry, name)
        self._judge(copy, copy_entry, name, submission)

    def _judge(self, copy: Path, copy_entry: str, name: str, submission: Submission) -> None:
        try:
            findings = _name_findings(name)
            if submission.request is not None:
                self._answer_request(copy, copy_entry, name, submission, findings)
                return
            assessment = assess_submission(submission, self.settings, self.clock.now())
            findings += assessment.findings
            ignored = assessment.context.approval.ignored if assessment.context else ()
            if ignored:  # staff names only: what was wrong is in `steward check`'s words
                self.audit.record("submission.signatures_ignored", level="warning", name=name,
                                  claim=copy.name, count=len(ignored), audience="SLT")
            content = submission.content_sha256()
            if not findings:
                known = self.store.known_submission(content)
                if known is not None and known.status == "cancelled":
                    findings.append(Finding(
                        "duplicate", "steward.format",
                        f"this post is the one cancelled as '{known.name}' ({known.id})",
                        "To hand it in again, change something in it (the text or the time), "
                        "sign it again and submit it: Steward keeps one record per post."))
                elif known is not None:
                    findings.append(Finding(
                        "duplicate", "steward.format",
                        f"this post was already accepted on {known.received_at:%Y-%m-%d %H:%M} "
                        f"UTC as '{known.name}' ({known.id})",
                        "Nothing to do: it will not be published twice. To post it again, "
                        "change the text and sign it again."))
            if findings:
                self._refuse(copy, copy_entry, name, findings, assessment.signers,
                             assessment.warnings)
            else:
                self._accept(copy, copy_entry, name, assessment, content)
        except Exception as error:
            self.audit.record("intake.error", level="error", name=name, claim=copy.name,
                              reason=f"{error.__class__.__name__}: {error}", audience="admin")
            self._refuse(copy, copy_entry, name, [Finding(
                "internal-error", "steward.format",
                "Steward could not process this submission because of an internal error",
                f"Tell the administrator (reference {copy.name}); the post was not published.",
                audience="admin")])

    def _answer_request(self, copy: Path, copy_entry: str, name: str, submission: Submission,
                        findings: list[Finding]) -> None:
        """A signed request to cancel or unpublish a post (daemon.posts.requests): carried
        out, with the answer in accepted/NAME.accepted.txt, or refused like a post."""
        assert submission.request is not None
        kind, target = submission.request
        findings = findings + list(submission.problems)
        self.audit.record("request.received", name=name, claim=copy.name, kind=kind,
                          target=visible(target))
        if not findings and self.requests is None:
            findings.append(Finding("internal-error", "steward.format",
                                    f"this Steward cannot {kind} posts", "Tell IT."))
        answer = ""
        if not findings and self.requests is not None:
            outcome = self.requests.handle(submission)
            findings, answer = list(outcome.findings), outcome.answer
        if findings:
            self._refuse(copy, copy_entry, name, findings, request=(kind, target))
            return
        notice = write_answer(self.settings, name, answer)
        shutil.rmtree(copy, ignore_errors=True)
        self.audit.record("request.done", name=name, kind=kind, target=visible(target),
                          file=str(notice))

    def _clause(self, rule: str) -> str:
        """The school's clause for `rule` (policies.clauses), for audit events."""
        return self.settings.policy.clause_id(rule)

    def _refuse(self, copy: Path, copy_entry: str, name: str, findings: list[Finding],
                signers: tuple[str, ...] = (), warnings: tuple[str, ...] = (),
                request: tuple[str, str] | None = None) -> None:
        """Put Steward's copy (what it read, nothing else) in the rejected folder with the
        reasons beside it, each citing the school's own clause; e-mail them to the `signers`
        (whose valid signatures are on it) who have an address. A refused `request` (kind,
        target) is answered as the request it was: what was not done and what to do instead,
        with no advice about fixing a post and no clause of the policy on posts."""
        catalogue = self.settings.policy.catalogue()
        findings = [finding.cited_in(catalogue) for finding in findings]
        self.rejected.mkdir(parents=True, exist_ok=True)
        target = unique_path(self.rejected / copy_entry)
        if os.path.lexists(copy / copy_entry):
            shutil.rmtree(copy / copy_entry / CLEAN_FOLDER, ignore_errors=True)
            _share_with_group(copy / copy_entry, self.rejected.stat().st_gid)
            _move(copy / copy_entry, target)
        shutil.rmtree(copy, ignore_errors=True)
        received = self.clock.now().astimezone(_zone(self.settings))
        if request is None:
            lines = [f"Steward did not publish '{visible(name)}' (received "
                     f"{received:%Y-%m-%d %H:%M %Z}).", "", "Reasons:"]
            lines += [finding.explain() for finding in findings]
            closing = "Nothing was published. Fix the post, have it signed again, and put it " \
                "back in the inbox."
        else:
            kind, asked = request
            lines = [f"Steward did not {kind} '{visible(asked)}' (request '{visible(name)}', "
                     f"received {received:%Y-%m-%d %H:%M %Z}).", "", "Reasons:"]
            lines += [f"- {finding.problem}\n  What to do: {finding.fix}" for finding in findings]
            closing = f"Nothing was changed by this request to {kind}."
        if warnings:
            lines += ["", "Also:"] + [f"- {warning}" for warning in warnings]
        lines += ["", closing, f"Reference for the administrator: {visible(copy.name)}"]
        report = target.with_name(target.name + ".rejected.txt")
        write_notice(report, "\n".join(lines) + "\n")
        self.audit.record(
            "submission.refused", name=name, claim=copy.name, file=str(report),
            rules=sorted({finding.rule for finding in findings}),
            clauses=sorted({finding.clause_id for finding in findings}),
            reasons=len(findings), audience="SLT")
        self._mail_refusal(name, copy.name, signers, "\n".join(lines) + "\n")

    def _mail_refusal(self, name: str, claim: str, signers: tuple[str, ...], text: str) -> None:
        """Send the refusal to the signers who have an e-mail address; the audit log records
        that it was sent and to how many, never what it says."""
        addresses = [signer.email for signer in self.settings.approval.signers
                     if signer.name in signers and signer.email]
        if not addresses:
            return
        from daemon.runtime.mail import Mailer, MailError  # noqa: PLC0415

        mailer = Mailer(self.settings.mail, self.settings.paths.state_dir / "outbox", self.clock)
        try:
            how = mailer.send(addresses, f"[Steward] Not published: {visible(name)}", text)
        except MailError as error:
            self.audit.record("submission.refusal_mail_failed", level="error", name=name,
                              claim=claim, reason=str(error), audience="admin")
            return
        self.audit.record("submission.refusal_mailed", name=name, claim=claim,
                          recipients=len(addresses), channel=how)

    def _pictured_hashes(self, submission: Submission, submission_id: str) -> list[str]:
        """The keyed hashes of the pupils the post pictures (never their names), so that a
        later change of consent finds it; a vault that cannot give the key is the
        administrator's to fix, said loudly (the post is still accepted: it passed consent)."""
        if not submission.pictured or self.pupil_hasher is None:
            return []
        try:
            hasher = self.pupil_hasher()
        except VaultError as error:
            self.audit.record("consent.pictured_not_recorded", level="error",
                              submission=submission_id, pupils=len(submission.pictured),
                              reason=str(error), audience="admin")
            return []
        return [hasher(pupil) for pupil in submission.pictured]

    def _accept(self, copy: Path, copy_entry: str, name: str, assessment: Assessment,
                content: str) -> None:
        """Write the cleaned pictures beside Steward's copy, move it into the queue, record it
        and schedule it."""
        submission = assessment.submission
        publish_at = submission.publish_at or self.clock.now()
        submission_id = f"{publish_at:%Y%m%d-%H%M}-{content[:12]}"
        if assessment.images:
            clean_folder = copy / copy_entry / CLEAN_FOLDER
            clean_folder.mkdir(mode=0o700)
            with _opened_folder(clean_folder) as folder:
                for image in assessment.images:
                    write_new_file(folder, image.file, image.data)
        queued = self.queue_dir / submission_id
        os.rename(copy, queued)
        folder = queued / copy_entry if submission.is_folder else queued
        for image in assessment.images:
            if image.faces_blurred:
                self.audit.record("media.faces_blurred", clause=self._clause("faces"),
                                  submission=submission_id, file=image.file,
                                  faces=image.faces_blurred)
            report = image.report
            self.audit.record("media.cleaned", clause=self._clause("location-metadata"),
                              submission=submission_id,
                              file=image.file, format=report.format, removed=list(report.removed),
                              orientation_kept=report.orientation,
                              original_sha256=image.original_sha256,
                              cleaned_sha256=image.sha256,
                              bytes_removed=report.bytes_in - report.bytes_out)
            if report.format == "video":
                self._audit_video(submission_id, image, assessment)
        media = [image.description() for image in assessment.images]
        posts = {platform: {"text": submission.text_for(platform), "media": media}
                 for platform in assessment.platforms}
        stored = StoredSubmission(
            id=submission_id, name=name, content_sha256=content, publish_at=publish_at,
            status="scheduled", signers=list(assessment.signers), received_at=self.clock.now(),
            folder=folder, posts=posts)
        self.store.add_submission(stored, self.clock.now(),
                                  pictured=self._pictured_hashes(submission, submission_id))
        for record in (CLAIM_RECORD, RESUMED_RECORD):
            (queued / record).unlink(missing_ok=True)
        self.audit.record("submission.accepted", clause=self._clause("slt-approval"), name=name,
                          submission=submission_id, content_sha256=content,
                          approved_by=list(assessment.signers),
                          images=sum(not image.is_video for image in submission.images),
                          videos=sum(image.is_video for image in submission.images),
                          ignored_files=len(submission.ignored))
        self.audit.record("post.scheduled", submission=submission_id, name=name,
                          publish_at=publish_at.isoformat(), platforms=list(posts))
        self.on_accepted(submission_id, publish_at)
        replaced = self.requests.replace_earlier(name, submission_id, assessment.signers) \
            if self.requests is not None else []
        try:
            notice = write_accepted(self.settings, name, submission_id, publish_at, list(posts),
                                    list(assessment.signers), replaced)
        except OSError as error:
            self.audit.record("notice.failed", level="error", name=name, reason=str(error),
                              audience="admin")
        else:
            self.audit.record("submission.answered", submission=submission_id, name=name,
                              file=str(notice))


    def _audit_video(self, submission_id: str, video: CleanedImage,
                     assessment: Assessment) -> None:
        """What was checked in an accepted video: its samples' hash (byte for byte the
        recording's), and the frames the faces rule examined (none where faces are allowed)."""
        examined = (assessment.videos_examined or {}).get(video.sha256)
        self.audit.record("media.video_examined", clause=self._clause("faces"),
                          submission=submission_id, file=video.file,
                          samples_sha256=video.report.samples_sha256,
                          frames_examined=getattr(examined, "frames", 0),
                          seconds_examined=getattr(examined, "seconds", 0.0),
                          faces=getattr(examined, "faces", 0),
                          faces_policy=self.settings.faces.policy)


def _move(source: Path, target: Path) -> None:
    """Rename, or copy and remove when source and target are on different file systems."""
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        shutil.copytree(source, target, symlinks=True)
        shutil.rmtree(source)


def _valid_claim_id(claim_id: str) -> bool:
    """Whether `claim_id` is one Steward gives (a time and a safe name), not a planted one."""
    return _CLAIM_ID.fullmatch(claim_id) is not None


def _own(descriptor: int) -> bool:
    """Whether the open folder belongs to the user Steward runs as."""
    return os.fstat(descriptor).st_uid == os.geteuid()


def _name_bytes(name: str) -> int:
    return len(name.encode("utf-8", "surrogateescape"))


def _claimed_name(claim_id: str) -> str:
    """The post's name as far as a claim id keeps it (after a crash between claim and copy)."""
    return claim_id.split("-", 1)[1] if "-" in claim_id else claim_id


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80]


def copy_entry_name(name: str) -> str:
    """What Steward's copy of the post is called inside its claim folder: the post's own name
    where it can be, never the name of a record Steward keeps beside it (a post called
    'resumed' was taken for the record that judging it had been interrupted)."""
    entry = name if _storable(name) else _safe(name) or "post"
    return f"post-{entry}" if entry in (CLAIM_RECORD, RESUMED_RECORD, CLEAN_FOLDER) else entry


def _storable(name: str) -> bool:
    """Whether a post's own name can name Steward's copy of it (else a safe form does)."""
    return not name.startswith(".") and unsafe_character(name) is None \
        and _name_bytes(name) <= MAX_NAME_BYTES


def _name_findings(name: str) -> list[Finding]:
    """A post whose name holds control characters, line breaks or direction overrides is
    refused: such a name forges or hides lines wherever it is shown."""
    if _name_bytes(name) > MAX_NAME_BYTES:
        return [Finding(
            "submission-format", "steward.format",
            f"the post's name is {_name_bytes(name)} bytes long; Steward takes names of up to "
            f"{MAX_NAME_BYTES} bytes (about {MAX_NAME_BYTES} plain letters, fewer with accents)",
            "Give the file or folder a shorter name, then put it in the inbox again.")]
    character = unsafe_character(name)
    if character is None:
        return []
    return [Finding(
        "submission-format", "steward.format",
        f"the post's name '{visible(name)}' contains an invisible or control character "
        f"({character})", "Rename the file or folder using ordinary letters, digits, spaces and "
        "dashes, then put it in the inbox again.")]


@contextmanager
def _opened_folder(path: Path):
    """A descriptor for a folder of Steward's own (or the configured inbox), closed after."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _write_claim_record(folder: int, name: str, copy_entry: str) -> None:
    """Written last into a claim's copy: the copy is whole, and this is what it is called."""
    write_new_file(folder, CLAIM_RECORD, json.dumps({"name": name, "entry": copy_entry})
                   .encode("utf-8"))
    os.fsync(folder)


def _read_claim_record(copy: Path) -> tuple[str, str] | None:
    """The post's name and its entry in a copy; None if the copy was never finished. A queue
    folder of a release before 0.2 has no record: its one entry is the post, under its name."""
    try:
        record = json.loads((copy / CLAIM_RECORD).read_text(encoding="utf-8"))
        return str(record["name"]), str(record["entry"])
    except FileNotFoundError:
        entries = [entry for entry in os.listdir(copy)
                   if entry not in (CLEAN_FOLDER, RESUMED_RECORD)] \
            if copy.is_dir() else []
        return (entries[0], entries[0]) if len(entries) == 1 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_original(parent: int, entry: str) -> tuple[str, str] | None:
    """Remove a claimed entry from the inbox once Steward has its copy; None when it is gone.
    Where the submitter's folder does not let Steward delete inside it, it stays under a hidden
    "taken" name that the intake never reads again (an entry already under such a name keeps
    it), closed to everyone else when it is Steward's own; return that name and why."""
    try:
        if stat.S_ISDIR(os.stat(entry, dir_fd=parent, follow_symlinks=False).st_mode):
            shutil.rmtree(entry, dir_fd=parent)
        else:
            os.unlink(entry, dir_fd=parent)
    except FileNotFoundError:
        return None
    except (OSError, RecursionError) as error:  # not allowed, or a tree too deep to walk
        taken = entry if entry.startswith(TAKEN_PREFIX) else \
            TAKEN_PREFIX + entry.removeprefix(CLAIM_PREFIX)
        try:
            if taken != entry:
                os.rename(entry, taken, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            taken = entry
        _close_if_own(parent, taken)
        return taken, getattr(error, "strerror", None) or error.__class__.__name__
    return None


def _close_if_own(parent: int, entry: str) -> None:
    """Make a kept entry unreadable by the inbox's group, if it is Steward's to change (the
    submitter's own files are not: the administrator is told instead)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(entry, flags, dir_fd=parent)
    except OSError:
        return
    try:
        if _own(descriptor):
            os.fchmod(descriptor, 0o700 if stat.S_ISDIR(os.fstat(descriptor).st_mode) else 0o600)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _share_with_group(path: Path, group: int) -> None:
    """Steward's copies are private (0700/0600) while it works on them; a refused one goes back
    to the people who share the rejected folder: its group (steward-slt, which the service is a
    member of), readable, not writable."""
    for root, _folders, files in os.walk(path):
        os.chown(root, -1, group)
        os.chmod(root, 0o750)  # noqa: S103 - group: the rejected folder's readers, no one else
        for name in files:
            os.chown(os.path.join(root, name), -1, group)
            os.chmod(os.path.join(root, name), 0o640)
    if path.is_file():
        os.chown(path, -1, group)
        os.chmod(path, 0o640)
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
            destination = os.fsdecode(event.dest_path)  # str already, on Linux
            name = self.intake.entry_name(destination)
            if name is None:
                return
            if Path(destination).parent == self.intake.inbox:
                self.intake.renamed_in(name)
            else:
                self.intake.changed(name)
            return
        name = self.intake.entry_name(os.fsdecode(event.src_path))
        if name is not None and event.event_type != "deleted":
            self.intake.changed(name)
