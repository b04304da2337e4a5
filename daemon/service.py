"""The running service: builds every part from the configuration, starts them in order, and
stops them in the reverse order exactly once.

Start-up order, and why:
1. state directory, database, then the audit log, checked against the database's record of
   its last signed checkpoint: nothing may happen that is not recorded;
2. the sandbox (sandbox mode only) and the connectors, each checked once; a platform that is
   down is reported and checked again later, and the service stays up;
3. the publisher, then the scheduler re-armed from SQLite (late posts held);
4. the intake, last, so nothing is accepted before it can be scheduled;
5. READY=1 to systemd.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from config.settings import StewardSettings
from connectors.errors import ConnectorError
from connectors.protocol import Connector, RefreshesTokens
from daemon.accounts.platforms import SANDBOX_URL_FILE, build_connectors, start_media_host
from daemon.accounts.reconcile import Reconciler
from daemon.audit.chain import AuditLog, repair_torn_tail
from daemon.credentials.vault import VaultError, missing_credentials_message, with_vault_secrets
from daemon.moderation.evidence import EvidenceStore
from daemon.moderation.moderator import Moderator
from daemon.posts.intake import Intake, copy_entry_name
from daemon.posts.publishing import Publisher
from daemon.posts.pupil_hashes import PupilHasher, pupil_hasher
from daemon.posts.requests import Requests
from daemon.posts.scheduling import Scheduler
from daemon.posts.takedowns import OPEN as OPEN_TAKEDOWNS
from daemon.posts.takedowns import Takedowns
from daemon.runtime import systemd
from daemon.runtime.clock import Clock
from daemon.runtime.logs import REDACTOR
from daemon.runtime.mail import Mailer
from daemon.runtime.running import RunningLock, daemon_running
from daemon.runtime.slt_view import ViewWriter
from daemon.runtime.store import Store

if TYPE_CHECKING:  # the sandbox is imported only in sandbox mode
    from sandbox.server import SandboxServer

log = structlog.get_logger("steward.service")
HEALTH_CHECK_SECONDS = 300


class StartupError(Exception):
    """The service cannot start; the message tells the administrator what to fix."""


class Service:
    """Steward's daemon: intake, scheduler, publisher and their shared state."""

    def __init__(self, settings: StewardSettings, clock: Clock | None = None) -> None:
        self.settings = with_vault_secrets(settings)
        self.clock = clock or Clock()
        self.state_dir = settings.paths.state_dir
        self.sandbox: SandboxServer | None = None
        self.connectors: dict[str, Connector] = {}
        self.platform_health: dict[str, bool] = {}
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._started = False
        self._watchdog_stop = threading.Event()
        self._running: RunningLock | None = None
        self._slt_view = ViewWriter()
        self._hasher: PupilHasher | None = None
        self._takedowns: Takedowns | None = None
        self._takedown_problem: str | None = None

    # -- start -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything in order; raise StartupError with a clear message if impossible
        (and then hold nothing: the state directory is free for the next attempt)."""
        try:
            self._start()
        except BaseException:
            self._slt_view.release()
            if self._running is not None:
                self._running.release()
            raise

    def _start(self) -> None:
        self._prepare_state_dir()
        self._read_credentials()
        REDACTOR.add(self.settings.secret_values())
        audit_path = self.state_dir / "audit.jsonl"
        torn = repair_torn_tail(audit_path)
        self.store = self._open_store()
        self.audit = self._open_audit_log(audit_path)
        if torn:
            self.audit.record("audit.tail_repaired", level="warning", detail=torn)
        self._start_platforms()
        self.publisher = Publisher(
            self.store, self.connectors, self.audit, self.clock, self.settings.publishing,
            self.settings.paths.resolved("archive"), approval_problem=self._approval_problem,
            on_held=lambda submission, reason: self._tell_slt_it_is_held(
                submission.name, submission.publish_at, reason),
            clauses=self.settings.policy.catalogue())
        self.scheduler = Scheduler(self._publish_job)
        self._rearm()
        self.intake = Intake(self.settings, self.store, self.audit, self.clock,
                             self.scheduler.arm)
        self.intake.requests = Requests(self.settings, self.store, self.audit, self.clock,
                                        lambda: self.connectors)
        self.intake.pupil_hasher = self._pupil_hasher
        self.intake.start()
        self._write_slt_view()
        self.scheduler.every("platform-health", HEALTH_CHECK_SECONDS, self.check_platforms)
        self._start_moderation()
        self._start_reconcilers()
        self.scheduler.every("credentials-daily", 24 * 3600, self.check_credentials)
        self.scheduler.every("consent-takedowns", self.settings.consent.check_interval_seconds,
                             self.consent_takedowns)
        self.scheduler.every("audit-checkpoint", self.settings.audit.checkpoint_every_minutes
                             * 60, self.audit_housekeeping)

        x = self.connectors.get("x")
        if isinstance(x, RefreshesTokens) and not x.user_auth:  # OAuth 2.0 lasts two hours
            self.scheduler.every("x-oauth2-refresh", 3600, self.refresh_x_token)
        self.scheduler.start()
        if self.store.takedowns(OPEN_TAKEDOWNS):
            # Takedowns opened while the service was stopped (`steward consent reload`, or a
            # crash mid-takedown) are carried out now, not after a whole check interval.
            self.scheduler.run_soon("consent-takedowns")
        self._started = True
        self.audit.record("service.started", mode=self.settings.mode,
                          platforms=sorted(self.connectors), state_dir=str(self.state_dir),
                          inbox=str(self.intake.inbox))
        systemd.notify("READY=1", f"STATUS={self.status_line()}")
        self._start_watchdog()

    def _pupil_hasher(self) -> PupilHasher:
        if self._hasher is None:
            self._hasher = pupil_hasher(self.settings)
        return self._hasher

    def takedowns(self) -> Takedowns:
        """Consent takedowns (issue 22), built on first use: the hash key is in the vault."""
        if self._takedowns is None:
            assert self.intake.requests is not None
            self._takedowns = Takedowns(
                self.settings, self.store, self.audit, self.clock, self.intake.requests,
                self._pupil_hasher(), Mailer(self.settings.mail, self.state_dir / "outbox",
                                             self.clock))
        return self._takedowns

    def consent_takedowns(self) -> None:
        """Compare the consent register with the live posts and carry out what is due; a
        register that cannot be read, or a vault that cannot give the key, is reported."""
        from daemon.posts.rosters import consent_path  # noqa: PLC0415
        from daemon.posts.takedowns import OPEN  # noqa: PLC0415
        from policies.roster import RosterError  # noqa: PLC0415

        if self._takedowns is None and not consent_path(self.settings).exists() \
                and not self.store.takedowns(OPEN):
            return  # no register, nothing asked: the vault's key is not needed yet
        try:
            self.takedowns().run()
        except (RosterError, VaultError) as error:
            if str(error) != self._takedown_problem:  # said once, not at every check
                self._takedown_problem = str(error)
                self.audit.record("takedown.check_failed", level="error", reason=str(error),
                                  audience="admin")
            return
        if self._takedown_problem is not None:
            self._takedown_problem = None
            self.audit.record("takedown.check_recovered", audience="admin")

    def _read_credentials(self) -> None:
        """Take the secrets from the vault (a vault that cannot be opened stops the start, with
        the reason), and refuse to go live without every secret the platforms need."""
        try:
            self.settings = with_vault_secrets(self.settings, strict=True)
        except VaultError as error:
            raise StartupError(str(error)) from None
        missing = self.settings.missing_credentials()
        if missing:
            raise StartupError(missing_credentials_message(missing))

    def refresh_x_token(self) -> None:
        """Refresh X's OAuth 2.0 token (the new pair is in the vault before it is used), then
        re-escrow it."""
        from daemon.credentials.escrow import rebuild_if_configured  # noqa: PLC0415

        connector = self.connectors["x"]
        if not isinstance(connector, RefreshesTokens):
            return  # only armed for a connector that refreshes its tokens
        try:
            expires_at = connector.refresh()
        except ConnectorError as error:
            self.audit.record("credentials.refresh_failed", level="error", platform="x",
                              reason=error.message, audience="admin")
            return
        rebuild_if_configured(self.settings, self.store, self.clock)
        self.audit.record("credentials.refreshed", platform="x", expires_at=expires_at)

    def check_credentials(self) -> None:
        """Daily: the escrow still opens for every recipient, and no token expires soon."""
        from datetime import timedelta  # noqa: PLC0415

        from daemon.credentials.escrow import verify  # noqa: PLC0415
        from daemon.credentials.handover import outstanding  # noqa: PLC0415
        from daemon.credentials.vault import Vault, VaultError  # noqa: PLC0415

        problems = []
        if self.settings.escrow.recipients:
            try:
                vault = Vault(self.settings)
                problems += verify(self.settings, vault, self.store.inactive_administrators())
                problems += outstanding(self.store, vault)  # handover items nobody confirmed
            except VaultError as error:
                problems.append(str(error))
        for name, connector in self.connectors.items():
            if not hasattr(connector, "token_expiry"):
                continue
            try:
                expiry = connector.token_expiry()
            except ConnectorError as error:
                problems.append(f"{name}: {error.message}")
                continue
            warn = timedelta(days=self.settings.credentials.warn_days)
            if expiry is not None and expiry - self.clock.now() < warn:
                problems.append(f"{name}: the token expires on {expiry:%Y-%m-%d}; issue a new "
                                "one before then (steward credentials set ...)")
        self.audit.record("credentials.checked" if not problems else "credentials.problem",
                          level="info" if not problems else "error", problems=problems,
                          audience="admin")
        if problems:  # a failed send is recorded (alert.mail_failed) and kept in the outbox
            Mailer(self.settings.mail, self.state_dir / "outbox", self.clock).alert(
                self.audit, "Credentials need attention",
                "\n".join(f"- {problem}" for problem in problems))

    def _start_reconcilers(self) -> None:
        """Followers hourly, following and settings daily (X charges per account listed),
        direct messages every few minutes (configurable);
        each job runs at most once at a time, and each platform separately."""
        self.reconciler = Reconciler(
            self.settings, self.store, self.connectors, self.audit, self.clock,
            Mailer(self.settings.mail, self.state_dir / "outbox", self.clock),
            EvidenceStore(self.state_dir / "evidence"))
        timing = self.settings.reconcile
        jobs = (("followers", ("links", "followers"), timing.followers_interval_minutes),
                ("following", ("following",), timing.following_interval_minutes),
                ("settings", ("settings",), timing.settings_interval_minutes),
                ("direct-messages", ("direct_messages",),
                 timing.direct_messages_interval_minutes))
        for name, areas, minutes in jobs:
            for platform in self.connectors:
                self.scheduler.every(
                    f"reconcile-{name}-{platform}", minutes * 60,
                    partial(self.reconciler.run, areas, platforms=[platform]))

    def _start_moderation(self) -> None:
        """Sweep each platform's replies every poll interval (unless moderation is off)."""
        moderation = self.settings.moderation
        if not moderation.enabled:
            return
        self.moderator = Moderator(
            self.settings, self.store, self.connectors, self.audit, self.clock,
            Mailer(self.settings.mail, self.state_dir / "outbox", self.clock),
            EvidenceStore(self.state_dir / "evidence"))
        for platform in self.connectors:
            self.scheduler.every(f"moderation-{platform}", moderation.poll_interval_seconds,
                                 partial(self.moderator.sweep, platform))
        from daemon.moderation.school_model import detector_limits, school_model_status

        usable, school_model = school_model_status(self.state_dir)
        self.audit.record("moderation.started", platforms=sorted(self.connectors),
                          dry_run=moderation.dry_run,
                          interval_seconds=moderation.poll_interval_seconds,
                          school_model=school_model, expect=detector_limits(usable),
                          level="info" if usable or school_model.startswith("none") else
                          "warning", audience="admin")

    def _open_audit_log(self, audit_path: Path) -> AuditLog:
        """Verify the log so far against Steward's own key and against the database's anchor
        (its record of the last checkpoint it signed), refusing to start, and alerting the
        administrators, on a damaged, forged, cut-short or deleted log; then open it, and sign
        what the last run or a command left unsigned. Nothing is written to a log refused."""
        from daemon.audit.anchor import anchor_from_row, refusal_message  # noqa: PLC0415
        from daemon.audit.chain import load_signing_key  # noqa: PLC0415
        from daemon.audit.verification import verify_chain  # noqa: PLC0415
        from daemon.runtime.keys import public_key_text  # noqa: PLC0415

        key = load_signing_key(self.state_dir)
        if key is None:
            raise StartupError(f"cannot read or create Steward's audit signing key in "
                               f"{self.state_dir}: check the folder's owner and permissions")
        anchor = anchor_from_row(self.store.audit_anchor())
        report = verify_chain([self.state_dir], [public_key_text(key)], open_tail=True,
                              unsigned_ok=True, anchor=anchor,
                              earlier_activity=self.store.activity())
        if not report.intact:
            message = refusal_message(report, self.state_dir)
            self._alert_without_the_log("Steward refused to start: the audit log does not "
                                        "verify", f"Steward refused to start on {audit_path}"
                                        f":\n\n{message}\n")
            raise StartupError(message)
        options = self.settings.audit
        audit = AuditLog(audit_path, self.clock, signing_key=key,
                         checkpoint_every_events=options.checkpoint_every_events,
                         rotate_max_bytes=options.rotate_max_megabytes * 1024 * 1024,
                         rotate_daily=options.rotate_daily,
                         on_checkpoint=self._anchor_checkpoint,
                         on_tampering=self._alert_tampering,
                         echo_info=False)  # the file is the record; journald gets warnings
        if anchor is None and report.events:
            audit.record("audit.anchored", audience="admin", detail=(
                "the database held no record of the log's last checkpoint (the first start "
                "with this check, or a new database); from now on each checkpoint is recorded "
                "there, and a log that lost it is refused"))
        elif not report.events:  # signed and anchored below, before anything can happen
            audit.record("audit.begun", audience="admin", detail=(
                "a new audit log begins; each checkpoint signed from now on is also recorded "
                "in the database, and a log that lost it is refused"))
        latest = report.last_checkpoint
        if latest is not None and (anchor is None or latest["seq"] > anchor.seq):
            self._anchor_checkpoint(dict(latest, hash=report.last_checkpoint_hash))
        if report.uncovered:
            audit.record("audit.unclean_stop", level="warning", unsigned_events=report.uncovered,
                         detail="the last run did not stop cleanly, or commands ran while "
                                "Steward was stopped; those events are signed now")
        audit.checkpoint("start")
        return audit

    def send_checkpoint_digest_if_due(self) -> None:
        """Every audit.digest_every_days (checked hourly, remembered across restarts): sign the
        log now and e-mail its latest checkpoint to people outside the machine
        (audit.digest_to). Someone who can rewrite both the log and the database here cannot
        rewrite those e-mails: a later log that no longer holds that checkpoint, with that hash,
        was tampered with."""
        from daemon.audit.anchor import anchor_from_row  # noqa: PLC0415
        from daemon.runtime.store import parse_timestamp, timestamp  # noqa: PLC0415

        last = self.store.cursor("audit", "digest_sent_at")
        due = timedelta(days=self.settings.audit.digest_every_days)
        if last is not None and self.clock.now() - parse_timestamp(last) < due:
            return
        self.audit.checkpoint("digest")
        anchor = anchor_from_row(self.store.audit_anchor())
        if anchor is None:
            return
        options = self.settings.audit
        recipients = list(options.digest_to) or list(self.settings.mail.administrators)
        body = (f"Steward's audit log for {self.settings.school.name} holds, as of "
                f"{anchor.signed_at}, the signed {anchor.describe()}.\n"
                f"Full hash: {anchor.head}\n\n"
                "Keep this e-mail. It is a record of the log kept outside the school's server. "
                "Every later governors' report (steward audit report) and `steward audit "
                f"verify` must show a log that still holds checkpoint #{anchor.seq} with this "
                "hash. If one does not, the log was cut short or rewritten: tell the "
                "administrators and the head teacher, and keep this e-mail as evidence.\n")
        from daemon.runtime.mail import MailError  # noqa: PLC0415

        try:
            how = Mailer(self.settings.mail, self.state_dir / "outbox", self.clock).send(
                recipients, f"[Steward] Audit checkpoint #{anchor.seq}", body)
        except MailError as error:
            self.audit.record("audit.digest_failed", level="error", reason=str(error),
                              audience="admin")
            return
        self.store.set_cursor("audit", "digest_sent_at", timestamp(self.clock.now()))
        self.audit.record("audit.digest_sent", checkpoint=anchor.seq, head=anchor.head,
                          recipients=len(recipients), delivered_by=how)

    def audit_housekeeping(self) -> None:
        """Hourly: sign new events, rotate the file when a new day has begun, and send the
        checkpoint digest when it is due."""
        self.audit.checkpoint("hourly")
        self.audit.rotate_if_due()
        self.send_checkpoint_digest_if_due()

    def _open_store(self) -> Store:
        """The database, opened before the audit log: it holds the anchor the log is checked
        against. If it cannot be opened, nothing is written to the log (appended to now, it
        could no longer be checked against the anchor); the administrators are told."""
        try:
            return Store(self.state_dir / "steward.sqlite3")
        except Exception as error:
            self._alert_without_the_log("Steward refused to start: its database cannot be "
                                        "opened", f"{error}\n\nThe audit log was not touched.")
            raise StartupError(str(error)) from None

    def _anchor_checkpoint(self, checkpoint: dict) -> None:
        """Keep the checkpoint just signed as the anchor (daemon.audit.anchor). A failure is
        logged by the audit log; the next checkpoint tries again."""
        self.store.set_audit_anchor(checkpoint["seq"], checkpoint["hash"], checkpoint["prev"],
                                    checkpoint["timestamp"], "audit.jsonl", self.clock.now())

    def _alert_tampering(self, found: dict) -> None:
        """The audit log found its file shrunk, rewritten, replaced or deleted: tell the
        administrators what was found, where it is kept and what to do."""
        from daemon.audit.anchor import anchor_from_row  # noqa: PLC0415

        anchor = anchor_from_row(self.store.audit_anchor())
        evidence = found.get("evidence")
        kept = (f"The file as Steward found it is kept in {self.state_dir / evidence} "
                f"(SHA-256 {found.get('evidence_sha256')})." if evidence
                else "Nothing was left to keep.")
        after = (
            "Nothing was lost: Steward put back its own copy, recorded the tampering in the "
            "log and keeps running." if found.get("recovered") else
            "Events were lost from the log. Steward keeps running and recording, in a new file "
            "chained to the last line it knew was good, but it will refuse to start again "
            "until a person has looked: `steward audit verify` says what the log still proves;"
            " then follow what Steward says when it refuses to start.")
        body = (f"Steward found its audit log tampered with at {found['timestamp']}:\n\n"
                f"{found['detail']}.\n\n{kept}\nThe last line Steward knew was good: event "
                f"#{found['last_good_seq']} (hash {str(found['last_good_head'])[:16]}…).\n"
                f"Steward's anchored checkpoint: "
                f"{anchor.describe() if anchor else 'none yet'}.\n\n{after}\n\n"
                "Keep every file of the state directory's audit-archive/, audit-tampered/ and "
                "audit.jsonl as evidence (copy them off the machine), and find out who could "
                "write to the state directory.\n")
        if hasattr(self, "audit"):
            Mailer(self.settings.mail, self.state_dir / "outbox", self.clock).alert(
                self.audit, "Audit log tampered with", body)
        else:  # found while the log was being opened
            self._alert_without_the_log("Audit log tampered with", body)

    def _alert_without_the_log(self, subject: str, body: str) -> None:
        """Alert the administrators when there is no audit log to record a failed send in:
        that goes to the journal; the message stays in the outbox."""
        from daemon.runtime.mail import MailError  # noqa: PLC0415

        try:
            Mailer(self.settings.mail, self.state_dir / "outbox", self.clock).send(
                list(self.settings.mail.administrators), f"[Steward] {subject}", body)
        except (MailError, OSError) as error:
            log.error("alert.mail_failed", reason=str(error))

    def _prepare_state_dir(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
            probe = self.state_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
            self._running = RunningLock(self.state_dir)
            acquired = self._running.acquire(self.clock.now())
        except OSError as error:
            raise StartupError(
                f"the state directory {self.state_dir} cannot be written ({error.strerror}); "
                "set paths.state_dir in the configuration (or STEWARD_PATHS__STATE_DIR) to a "
                "folder Steward may write") from None
        if not acquired:
            other = daemon_running(self.state_dir)
            who = f" (process {other.pid}, since {other.since})" if other else ""
            raise StartupError(f"another Steward is already running on {self.state_dir}{who}; "
                               "two must never share one state directory")

    def _start_platforms(self) -> None:
        sandbox_url = None
        if self.settings.mode == "sandbox":
            sandbox_url = self.settings.sandbox.url
            if sandbox_url is None:
                from sandbox.app import start_sandbox  # noqa: PLC0415 - only in sandbox mode

                self.sandbox = start_sandbox(
                    port=self.settings.sandbox.port,
                    state_file=self.settings.sandbox.state_file
                    or self.state_dir / "sandbox-state.json",
                    scenario_file=self.settings.sandbox.scenario)
                sandbox_url = self.sandbox.url
                (self.state_dir / SANDBOX_URL_FILE).write_text(sandbox_url, encoding="utf-8")
            self.audit.record("sandbox.in_use", url=sandbox_url,
                              note="posts go to the local sandbox, not to real platforms")
        self.sandbox_url = sandbox_url
        reason = self.settings.instagram.unavailable_reason(self.settings.mode)
        if reason is not None:  # configured, but it cannot work: say so, plainly, at start
            self.audit.record("platform.unusable", level="error", platform="instagram",
                              reason=reason, audience="admin")
        # Clock(), not the service's: the URLs' minutes are real minutes for Instagram
        self.media_host = start_media_host(self.settings, Clock())
        self.connectors = build_connectors(self.settings, sandbox_url, self.clock,
                                           uploads=self.store, media_host=self.media_host)
        self.check_platforms()

    def check_platforms(self) -> None:
        """Check each platform; log a change of health once each way, never on every check."""
        for name, connector in self.connectors.items():
            try:
                account = connector.check()
            except ConnectorError as error:
                if self.platform_health.get(name, True):
                    self.audit.record("platform.unavailable", level="error", platform=name,
                                      reason=error.message, audience="admin")
                self.platform_health[name] = False
                continue
            if not self.platform_health.get(name, False):
                self.audit.record("platform.available", platform=name, account=account.handle)
            self.platform_health[name] = True

    def _rearm(self) -> None:
        """Arm one job per open submission from SQLite; hold posts that are too late."""
        now = self.clock.now()
        grace = timedelta(minutes=self.settings.publishing.grace_minutes)
        armed = 0
        for submission_id, due, publish_at, untouched in self.store.open_submissions():
            if untouched and now - publish_at > grace:
                self._hold(submission_id, now)
                continue
            self.scheduler.arm(submission_id, max(due, now))
            armed += 1
        self.audit.record("scheduler.rearmed", submissions=armed)

    def _hold(self, submission_id: str, now: datetime) -> None:
        for delivery in self.store.deliveries(submission_id):
            self.store.transition(submission_id, delivery.platform, ("pending",), "held", now,
                                  last_error="publish time passed while Steward was stopped")
        self.store.set_submission_status(submission_id, "held")
        submission = self.store.submission(submission_id)
        if submission is None:  # it was open a moment ago: a damaged or hand-edited database
            raise StartupError(f"submission {submission_id} vanished from the database while "
                               "Steward held it: restore the database from a backup")
        notice = self._tell_slt_it_is_held(submission.name, submission.publish_at)
        self.audit.record(
            "post.held", level="warning", submission=submission_id, name=submission.name,
            publish_at=submission.publish_at.isoformat(), audience="SLT", file=notice,
            reason="its publish time passed more than the grace window ago while Steward was "
            "not running; a person must decide whether it still makes sense")

    def _tell_slt_it_is_held(self, name: str, publish_at: datetime,
                             reason: str | None = None) -> str | None:
        """Leave `NAME.held.txt` where SLT read refusals: they signed a time, not "whenever
        Steward is back", so publishing late is their decision, taken by signing again. With
        a `reason`, the post was held for that reason instead (its approvals lapsed)."""
        from zoneinfo import ZoneInfo  # noqa: PLC0415

        from daemon.posts.publishing import unique_path, write_notice  # noqa: PLC0415

        folder = self.settings.paths.resolved("rejected")
        local = publish_at.astimezone(ZoneInfo(self.settings.school.time_zone))
        grace = self.settings.publishing.grace_minutes
        try:
            folder.mkdir(parents=True, exist_ok=True)
            notice = unique_path(folder / f"{name}.held.txt")
            if reason is not None:
                text = (f"Steward has held '{name}', due {local:%A %d %B %Y at %H:%M}: "
                        f"{reason}.\n\nNothing was published, and this copy never will be.\n"
                        "If it should still go out, have it signed again by current SLT "
                        "signers and put it in the inbox as usual.\n")
            else:
                text = (f"Steward has held '{name}': it was signed for "
                        f"{local:%A %d %B %Y at %H:%M}, and Steward was not running then or in "
                        f"the {grace:g} minutes after.\n\n"
                        "Nothing was published, and this copy never will be: a post that is "
                        "late may no longer make sense (an event that has passed, a closure "
                        "that has ended).\nIf it should still go out, give it a new publish "
                        "time, have it signed again and put it in the inbox as usual.\n")
            write_notice(notice, text)
        except OSError as error:
            self.audit.record("notice.failed", level="error", name=name, reason=str(error),
                              audience="admin")
            return None
        return str(notice)

    def _approval_problem(self, submission) -> str | None:
        """Why an accepted post's approvals no longer suffice under today's signers, or None."""
        from daemon.posts.assessment import approval_problem_now  # noqa: PLC0415

        folder, entry = submission.folder, copy_entry_name(submission.name)
        path = folder if folder.name == entry else folder / entry
        return approval_problem_now(path, submission.name, self.settings)

    def _publish_job(self, submission_id: str) -> None:
        next_time = self.publisher.run(submission_id)
        if next_time is not None and not self._stopped:
            self.scheduler.arm(submission_id, max(next_time, self.clock.now()))

    # -- status and health -------------------------------------------------------------------

    def reload(self, settings: StewardSettings) -> list[str]:
        """Use a new, already validated configuration; return the sections that only take
        effect at the next restart (platforms, credentials, folders, schedules)."""
        settings = with_vault_secrets(settings)
        restart_only = [name for name in ("mode", "paths", "x", "facebook", "sandbox", "mail",
                                          "reconcile")
                        if getattr(settings, name) != getattr(self.settings, name)]
        changed = [name for name in type(settings).model_fields
                   if getattr(settings, name) != getattr(self.settings, name)]
        self.settings = settings
        self.intake.settings = settings
        if self.intake.requests is not None:
            self.intake.requests.settings = settings
        self.publisher.settings = settings.publishing
        if self._takedowns is not None:
            self._takedowns.settings = settings
        self.publisher.clauses = settings.policy.catalogue()
        for part in ("moderator", "reconciler"):
            if hasattr(self, part):
                getattr(self, part).settings = settings
        self.audit.record("config.reloaded", changed=changed, restart_needed=restart_only)
        self._write_slt_view()
        # A reload also re-reads the consent register at once (`steward consent reload`):
        # a pupil just put on the restricted list must not wait for the next check.
        self.scheduler.run_soon("consent-takedowns")
        return restart_only

    def _write_slt_view(self) -> None:
        """Write the settings SLT commands read (daemon.runtime.slt_view); a folder that cannot
        be written is the administrator's to fix, and does not stop the service."""
        try:
            path = self._slt_view.write(self.settings, self.clock.now())
        except OSError as error:
            self.audit.record("slt_view.failed", level="error", reason=str(error),
                              audience="admin")
            return
        self.audit.record("slt_view.written", file=str(path),
                          signers=len(self.settings.approval.signers))

    def status_line(self) -> str:
        counts = self.store.counts()
        health = ", ".join(f"{name} {'up' if ok else 'DOWN'}"
                           for name, ok in sorted(self.platform_health.items()))
        return (f"{counts.get('pending', 0)} pending, {counts.get('sent', 0)} sent, "
                f"{counts.get('failed', 0)} failed; {health or 'no platforms'}")

    def alive(self) -> bool:
        """True while every part that must run is running."""
        return self._started and self.scheduler.alive() and self.intake.alive()

    def _start_watchdog(self) -> None:
        interval = systemd.watchdog_interval()
        if interval is None:
            return

        def ping() -> None:
            while not self._watchdog_stop.wait(interval):
                if self.alive():
                    systemd.notify("WATCHDOG=1", f"STATUS={self.status_line()}")

        threading.Thread(target=ping, name="systemd-watchdog", daemon=True).start()

    # -- stop --------------------------------------------------------------------------------

    def stop(self, reason: str = "requested") -> None:
        """Stop in order, once: intake, then in-flight publishes, then the log and database.

        Intake goes first so that nothing new is accepted; the scheduler is shut down waiting
        for running publishes, because a publish cut off between `sending` and `sent` would need
        a lookup at the next start; the audit log is flushed last so it records the stop.
        """
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        systemd.notify("STOPPING=1")
        self._watchdog_stop.set()
        if hasattr(self, "intake"):
            self.intake.stop()
        if hasattr(self, "scheduler"):
            self.scheduler.shutdown(wait=True)
        if getattr(self, "moderator", None) is not None:
            self.moderator.close()  # after the sweeps: none is using the worker now
        if hasattr(self, "audit"):
            self.audit.record("service.stopped", reason=reason)
        if hasattr(self, "audit"):
            self.audit.close()  # its stop checkpoint is anchored in the database: close that last
        if hasattr(self, "store"):
            self.store.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if getattr(self, "media_host", None) is not None:
            self.media_host.stop()
        self._slt_view.release()
        if self._running is not None:
            self._running.release()  # last: `steward status` now says it has stopped

    def wait_until(self, condition, timeout: float, poll: float = 0.1) -> bool:
        """Poll `condition()` until true or `timeout` seconds pass (for demo and tests). The
        seconds are real ones, whatever clock the service runs on: a FixedClock never moves."""
        real = Clock()
        deadline = real.monotonic() + timeout
        while real.monotonic() < deadline:
            if condition():
                return True
            time.sleep(poll)
        return condition()

