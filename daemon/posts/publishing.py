"""Publishing: one delivery per platform, each exactly once, whatever fails on the way.

For each delivery of a due submission:

1. `pending -> sending` is committed (with the time it began) before the platform is called.
2. The connector publishes. Success commits `sending -> sent` with the remote id and URL.
3. A definite failure (the platform refused before anything happened) puts it back to `pending`
   with a retry time (back-off with jitter, or the platform's reset time), or `failed` once the
   attempt budget is spent or the platform refused the post for good.
4. An ambiguous failure (timeout, dropped connection, 5xx on the create call), or a `sending`
   row found after a crash, is resolved by *looking*: the account's recent posts are searched
   for the same text and media count since the attempt began. Found: `sent`. Not found: back to
   `pending`. The platform cannot be asked to deduplicate (neither X nor the Graph API takes
   idempotency keys), and Steward never adds visible markers to a school's posts.
5. A `ConnectorBug` (Steward's own connector code failed, not the platform) is not retried:
   the delivery ends `failed`, its reason saying whether the post may be on the platform, after
   one look when the create call had been sent (found there: `sent`).

Before anything is sent, two things are checked again, because time has passed since the
intake accepted the post: its approvals must still come from configured SLT signers (a signer
removed since then no longer counts), and every cleaned picture must still be, byte for byte,
the one whose SHA-256 the intake recorded and audited. Either failing stops the post.

When every delivery is final, the submission is archived with a receipt of the URLs.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from config.settings import PublishingSettings
from connectors.domain import Media, Post, PostRef, PublishedPost, comparable_text
from connectors.errors import (
    AuthenticationFailed,
    ConnectorBug,
    ConnectorError,
    RateLimited,
    Rejected,
    TemporaryFailure,
)
from connectors.protocol import Connector, PublishesInSteps
from daemon.audit.chain import AuditLog
from daemon.runtime.clock import Clock
from daemon.runtime.store import Delivery, Store, StoredSubmission
from policies.clauses import DEFAULT_CATALOGUE, ClauseCatalogue


class MediaChanged(Exception):
    """A picture in Steward's queue is not the one the intake checked; the message says which."""


def checked_media_bytes(path: Path, expected_sha256: str) -> bytes:
    """Read a queued picture (never through a link) and return its bytes if their SHA-256 is
    the one recorded at intake; raise MediaChanged otherwise."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise MediaChanged(f"the checked picture '{path.name}' cannot be read "
                           f"({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise MediaChanged(f"the picture '{path.name}' is not the one Steward checked and "
                           f"recorded (SHA-256 {actual[:16]}... instead of "
                           f"{expected_sha256[:16]}...): it was changed after the post was "
                           "accepted")
    return data


def backoff_seconds(attempts: int, settings: PublishingSettings, rng: random.Random) -> float:
    """Exponential back-off with jitter: initial * 2^(attempts-1), capped, times 0.5..1.0."""
    base = min(settings.retry_max_seconds,
               settings.retry_initial_seconds * 2 ** max(0, attempts - 1))
    return base * rng.uniform(0.5, 1.0)


class Publisher:
    """Runs due deliveries for one submission at a time (per submission, never concurrently)."""

    def __init__(self, store: Store, connectors: dict[str, Connector], audit: AuditLog,
                 clock: Clock, settings: PublishingSettings, archive_dir: Path,
                 rng: random.Random | None = None,
                 on_finished: Callable[[StoredSubmission], None] | None = None,
                 approval_problem: Callable[[StoredSubmission], str | None] | None = None,
                 on_held: Callable[[StoredSubmission, str], object] | None = None,
                 clauses: ClauseCatalogue = DEFAULT_CATALOGUE) -> None:
        self.store = store
        self.connectors = connectors
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.archive_dir = Path(archive_dir)
        self.rng = rng or random.Random()
        self.on_finished = on_finished
        self.approval_problem = approval_problem
        self.clauses = clauses  # the school's: every event cites its clause for publishing
        self.on_held = on_held
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.in_flight = 0

    @property
    def clause(self) -> str:
        """The school's clause for publishing (from its catalogue), cited by every event."""
        return self.clauses.clause_id("publishing")

    def _lock_for(self, submission_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(submission_id, threading.Lock())

    def run(self, submission_id: str) -> datetime | None:
        """Do whatever is due for the submission; return when to come back (None: done)."""
        lock = self._lock_for(submission_id)
        if not lock.acquire(blocking=False):
            return self.clock.now() + timedelta(seconds=1)
        try:
            self.in_flight += 1
            return self._run(submission_id)
        finally:
            self.in_flight -= 1
            lock.release()

    def _run(self, submission_id: str) -> datetime | None:
        submission = self.store.submission(submission_id)
        if submission is None or submission.status not in ("scheduled",):
            return None
        if self._about_to_start(submission) and self._held_for_approvals(submission):
            return None
        for delivery in self.store.deliveries(submission_id):
            now = self.clock.now()
            if delivery.state == "sending" and self._due(delivery, submission, now):
                delivery = self._resolve(submission, delivery)
            if delivery.state == "pending" and self._due(delivery, submission, self.clock.now()):
                self._deliver(submission, delivery)
        deliveries = self.store.deliveries(submission_id)
        open_ones = [d for d in deliveries if d.state in ("pending", "sending")]
        if open_ones:
            return min(d.next_attempt_at or submission.publish_at for d in open_ones)
        self._finish(submission, deliveries)
        return None

    @staticmethod
    def _due(delivery: Delivery, submission: StoredSubmission, now: datetime) -> bool:
        return (delivery.next_attempt_at or submission.publish_at) <= now

    def _about_to_start(self, submission: StoredSubmission) -> bool:
        """Whether the post is due and nothing of it has been sent yet: the moment its
        approvals are looked at again. (Once one platform has it, the others follow.)"""
        now = self.clock.now()
        deliveries = self.store.deliveries(submission.id)
        return all(delivery.state == "pending" and delivery.attempts == 0
                   for delivery in deliveries) and any(
            self._due(delivery, submission, now) for delivery in deliveries)

    def _held_for_approvals(self, submission: StoredSubmission) -> bool:
        """Hold the post's unsent deliveries if its approvals no longer suffice (a signer was
        removed or re-keyed since it was accepted); True if it was held."""
        problem = self.approval_problem(submission) if self.approval_problem else None
        if problem is None:
            return False
        now = self.clock.now()
        for delivery in self.store.deliveries(submission.id):
            self.store.transition(submission.id, delivery.platform, ("pending",), "held", now,
                                  last_error=problem)
        self.store.set_submission_status(submission.id, "held")
        self.audit.record("post.held", level="warning", clause=self.clause, submission=submission.id,
                          name=submission.name, reason=problem, audience="SLT")
        if self.on_held is not None:
            self.on_held(submission, problem)
        return True

    # -- one delivery ------------------------------------------------------------------------

    def _post_for(self, submission: StoredSubmission, platform: str, *,
                  with_media: bool = False) -> Post:
        """The post for `platform`; `with_media`: with the pictures' bytes, each checked against
        the SHA-256 recorded at intake (raise MediaChanged if one differs)."""
        spec = submission.posts[platform]
        media = tuple(Media(submission.folder / item["file"], item["alt"], item["mime"],
                            item["sha256"], checked_media_bytes(
                                submission.folder / item["file"], item["sha256"])
                            if with_media else b"") for item in spec["media"])
        return Post(spec["text"], media)

    def _deliver(self, submission: StoredSubmission, delivery: Delivery) -> None:
        platform = delivery.platform
        connector = self.connectors.get(platform)
        fields = {"submission": submission.id, "name": submission.name, "platform": platform}
        if connector is None:
            self.store.transition(submission.id, platform, ("pending",), "failed",
                                  self.clock.now(), last_error="platform not configured")
            self.audit.record("post.failed", level="error", clause=self.clause, **fields,
                              reason=f"{platform} is not enabled in the configuration any more")
            return
        try:
            post = self._post_for(submission, platform, with_media=True)
        except MediaChanged as error:
            self.store.transition(submission.id, platform, ("pending",), "failed",
                                  self.clock.now(), last_error=str(error))
            self.audit.record("post.failed", level="error", clause=self.clause, **fields,
                              reason=f"{error}; nothing was uploaded", tampering=True,
                              audience="admin")
            return
        started = self.clock.now()
        attempt = delivery.attempts + 1
        if not self.store.transition(submission.id, platform, ("pending",), "sending", started,
                                     attempts=attempt, sending_since=started):
            return  # another worker took it
        self.audit.record("delivery.sending", **fields, attempt=attempt)
        try:
            if isinstance(connector, PublishesInSteps):
                ref = self._publish_in_steps(connector, submission, self._reload(delivery), post)
            else:
                ref = connector.publish(post)
        except RateLimited as error:
            wait = error.retry_after if error.retry_after is not None else \
                backoff_seconds(attempt, self.settings, self.rng)
            self._retry_or_fail(submission, delivery, attempt, max(1.0, wait) + self.rng.uniform(
                0, 2), error, "delivery.rate_limited")
        except AuthenticationFailed as error:
            # A person must renew the credentials; retry slowly without spending the budget.
            later = self.clock.now() + timedelta(seconds=self.settings.retry_max_seconds)
            self.store.transition(submission.id, platform, ("sending",), "pending",
                                  self.clock.now(), attempts=attempt - 1, next_attempt_at=later,
                                  last_error=error.message)
            self.audit.record("delivery.credentials_refused", level="error", **fields,
                              reason=error.message, retry_at=later.isoformat(),
                              audience="admin")
        except ConnectorBug as error:
            self._connector_bug(submission, delivery, error)
        except TemporaryFailure as error:
            if error.ambiguous:
                later = self.clock.now() + timedelta(
                    seconds=backoff_seconds(attempt, self.settings, self.rng))
                self.store.transition(submission.id, platform, ("sending",), "sending",
                                      self.clock.now(), next_attempt_at=later,
                                      last_error=error.message)
                self.audit.record("delivery.uncertain", level="warning", **fields,
                                  reason=error.message, check_at=later.isoformat())
            else:
                self._retry_or_fail(submission, delivery, attempt,
                                    backoff_seconds(attempt, self.settings, self.rng), error,
                                    "delivery.retry_scheduled")
        except Rejected as error:
            self.store.transition(submission.id, platform, ("sending",), "failed",
                                  self.clock.now(), last_error=error.message)
            self.audit.record("post.failed", level="error", clause=self.clause, **fields,
                              reason=error.message, audience="admin")
        else:
            self.store.transition(submission.id, platform, ("sending",), "sent", self.clock.now(),
                                  remote_id=ref.remote_id, url=ref.url, last_error=None)
            self.audit.record("post.published", clause=self.clause, **fields,
                              remote_id=ref.remote_id, url=ref.url, attempt=attempt)

    def _publish_in_steps(self, connector: PublishesInSteps, submission: StoredSubmission,
                          delivery: Delivery, post: Post) -> PostRef:
        """Publish through a platform's two steps (Instagram: a container, then media_publish),
        exactly once: the first step's id is committed before the second is asked; a recorded
        one is asked about first (published: found; ready: publish it; gone: a new one)."""
        prepared = delivery.prepared_id
        if prepared is not None:
            state = connector.prepared_state(prepared)
            if state == "published":
                found = self.find_published(submission, delivery)
                if found is None:
                    raise TemporaryFailure(delivery.platform, f"{delivery.platform} says the "
                                           "post was published but does not list it yet",
                                           ambiguous=True)
                return found.ref
            if state == "gone":
                prepared = None
        if prepared is None:
            prepared = connector.prepare(post)
            self.store.transition(submission.id, delivery.platform, ("sending",), "sending",
                                  self.clock.now(), prepared_id=prepared)
            self.audit.record("delivery.prepared", submission=submission.id,
                              name=submission.name, platform=delivery.platform,
                              prepared_id=prepared)
        return connector.publish_prepared(prepared)

    def _connector_bug(self, submission: StoredSubmission, delivery: Delivery,
                       error: ConnectorBug) -> None:
        """The connector's own code failed while publishing: retrying would fail the same way,
        so the delivery ends. If the create call had been sent, look once for the post: found,
        it is `sent`; otherwise it is `failed`, saying whether the post may be there."""
        fields = {"submission": submission.id, "name": submission.name,
                  "platform": delivery.platform}
        platform = delivery.platform
        reason = f"{error.message}; nothing was posted"
        if error.ambiguous:
            try:
                found = self.find_published(submission, self._reload(delivery))
            except ConnectorError:
                found = None
                reason = (f"{error.message}; Steward could not look whether the post reached "
                          f"{platform}: check the account before handing the post in again")
            else:
                reason = (f"{error.message}; the post was not on {platform} when Steward "
                          "looked: hand it in again once Steward is fixed")
            if found is not None:
                self.store.transition(submission.id, platform, ("sending",), "sent",
                                      self.clock.now(), remote_id=found.ref.remote_id,
                                      url=found.ref.url, last_error=None)
                self.audit.record("post.published", clause=self.clause, **fields,
                                  remote_id=found.ref.remote_id, url=found.ref.url,
                                  attempt=delivery.attempts + 1, found_after_interruption=True,
                                  connector_bug=error.error_class)
                return
        self.store.transition(submission.id, platform, ("sending",), "failed", self.clock.now(),
                              last_error=reason)
        self.audit.record("post.failed", level="error", clause=self.clause, **fields, reason=reason,
                          error_class=error.error_class, connector_bug=True, audience="admin")

    def _retry_or_fail(self, submission: StoredSubmission, delivery: Delivery, attempt: int,
                       wait: float, error: ConnectorError, event: str) -> None:
        fields = {"submission": submission.id, "name": submission.name,
                  "platform": delivery.platform}
        if attempt >= self.settings.max_attempts:
            self.store.transition(submission.id, delivery.platform, ("sending",), "failed",
                                  self.clock.now(), last_error=error.message)
            self.audit.record("post.failed", level="error", clause=self.clause, **fields,
                              reason=f"gave up after {attempt} attempts: {error.message}",
                              audience="admin")
            return
        later = self.clock.now() + timedelta(seconds=wait)
        self.store.transition(submission.id, delivery.platform, ("sending",), "pending",
                              self.clock.now(), next_attempt_at=later, last_error=error.message)
        self.audit.record(event, level="warning", **fields, reason=error.message,
                          attempt=attempt, retry_at=later.isoformat())

    # -- resolving an uncertain delivery -----------------------------------------------------

    def find_published(self, submission: StoredSubmission, delivery: Delivery) -> PublishedPost | None:
        """Look on the platform for this delivery's post, made since its attempt began."""
        connector = self.connectors[delivery.platform]
        post = self._post_for(submission, delivery.platform)
        since = (delivery.sending_since or submission.publish_at) - timedelta(
            minutes=self.settings.lookup_slack_minutes)
        claimed = self.store.remote_ids(delivery.platform)
        wanted = comparable_text(post.text)
        for candidate in connector.recent_posts(since):
            if candidate.ref.remote_id in claimed:
                continue
            if comparable_text(candidate.text) == wanted and \
                    candidate.media_count == len(post.media):
                return candidate
        return None

    def _resolve(self, submission: StoredSubmission, delivery: Delivery) -> Delivery:
        fields = {"submission": submission.id, "name": submission.name,
                  "platform": delivery.platform}
        connector = self.connectors.get(delivery.platform)
        if isinstance(connector, PublishesInSteps):
            return self._resolve_in_steps(connector, submission, delivery)
        try:
            found = self.find_published(submission, delivery)
        except ConnectorBug as error:  # looking again would fail the same way
            reason = (f"{error.message}; Steward could not look whether the post reached "
                      f"{delivery.platform}: check the account before handing the post in again")
            self.store.transition(submission.id, delivery.platform, ("sending",), "failed",
                                  self.clock.now(), last_error=reason)
            self.audit.record("post.failed", level="error", clause=self.clause, **fields,
                              reason=reason, error_class=error.error_class, connector_bug=True,
                              audience="admin")
            return self._reload(delivery)
        except ConnectorError as error:
            return self._postpone_check(submission, delivery, fields, error.message,
                                        delivery.attempts)
        if found is not None:
            return self._mark_found(submission, delivery, fields, found)
        if delivery.attempts >= self.settings.max_attempts:
            return self._give_up(submission, delivery, fields)
        self.store.transition(submission.id, delivery.platform, ("sending",), "pending",
                              self.clock.now(), next_attempt_at=self.clock.now())
        self.audit.record("delivery.not_found_will_retry", **fields, attempt=delivery.attempts)
        return self._reload(delivery)

    def _resolve_in_steps(self, connector: PublishesInSteps, submission: StoredSubmission,
                          delivery: Delivery) -> Delivery:
        """A two-step delivery found `sending`: nothing can be on the platform unless its first
        step was recorded (the second is asked only after), so ask what became of that."""
        fields = {"submission": submission.id, "name": submission.name,
                  "platform": delivery.platform}
        state = "gone"
        if delivery.prepared_id is not None:
            try:
                state = connector.prepared_state(delivery.prepared_id)
            except ConnectorError as error:
                return self._postpone_check(submission, delivery, fields, error.message,
                                            delivery.attempts)
        if state == "published":
            return self._resolve_published(submission, delivery)
        if delivery.attempts >= self.settings.max_attempts:
            return self._give_up(submission, delivery, fields)
        # ready or processing: publish that container next; gone or never made: a new one
        keep = delivery.prepared_id if state in ("ready", "processing") else None
        self.store.transition(submission.id, delivery.platform, ("sending",), "pending",
                              self.clock.now(), next_attempt_at=self.clock.now(),
                              prepared_id=keep)
        self.audit.record("delivery.not_published_will_retry", **fields,
                          attempt=delivery.attempts, prepared=state)
        return self._reload(delivery)

    def _resolve_published(self, submission: StoredSubmission, delivery: Delivery) -> Delivery:
        """The platform says the prepared post was published: find it for its id and URL."""
        fields = {"submission": submission.id, "name": submission.name,
                  "platform": delivery.platform}
        try:
            found = self.find_published(submission, delivery)
        except ConnectorError as error:
            found = None
            reason = error.message
        else:
            reason = "published, but not listed yet"
        if found is None:  # it is there: never publish again; look for it later
            return self._postpone_check(submission, delivery, fields, reason,
                                        max(1, delivery.attempts))
        return self._mark_found(submission, delivery, fields, found)

    def _postpone_check(self, submission: StoredSubmission, delivery: Delivery, fields: dict,
                        reason: str, attempts: int) -> Delivery:
        """Whether a `sending` delivery reached the platform could not be told now: stay
        `sending` (never publish again blindly) and look again after a backoff."""
        later = self.clock.now() + timedelta(
            seconds=backoff_seconds(attempts, self.settings, self.rng))
        self.store.transition(submission.id, delivery.platform, ("sending",), "sending",
                              self.clock.now(), next_attempt_at=later, last_error=reason)
        self.audit.record("delivery.check_postponed", level="warning", **fields,
                          reason=reason, check_at=later.isoformat())
        return self._reload(delivery)

    def _mark_found(self, submission: StoredSubmission, delivery: Delivery, fields: dict,
                    found: PublishedPost) -> Delivery:
        """The interrupted delivery is on the platform after all: record it as sent."""
        self.store.transition(submission.id, delivery.platform, ("sending",), "sent",
                              self.clock.now(), remote_id=found.ref.remote_id,
                              url=found.ref.url, last_error=None)
        self.audit.record("post.published", clause=self.clause, **fields,
                          remote_id=found.ref.remote_id, url=found.ref.url,
                          attempt=delivery.attempts, found_after_interruption=True)
        return self._reload(delivery)

    def _give_up(self, submission: StoredSubmission, delivery: Delivery,
                 fields: dict) -> Delivery:
        """An interrupted delivery not found after max_attempts: failed, the admin told."""
        self.store.transition(submission.id, delivery.platform, ("sending",), "failed",
                              self.clock.now(), last_error=delivery.last_error)
        self.audit.record("post.failed", level="error", clause=self.clause, **fields,
                          reason=f"gave up after {delivery.attempts} attempts: "
                          f"{delivery.last_error}", audience="admin")
        return self._reload(delivery)

    def _reload(self, delivery: Delivery) -> Delivery:
        return next(d for d in self.store.deliveries(delivery.submission_id)
                    if d.platform == delivery.platform)

    # -- finishing ---------------------------------------------------------------------------

    def _finish(self, submission: StoredSubmission, deliveries: list[Delivery]) -> None:
        failed = [d for d in deliveries if d.state == "failed"]
        status = "failed" if len(failed) == len(deliveries) else (
            "partly-failed" if failed else "done")
        archived = self._archive(submission, deliveries)
        self.store.set_submission_status(submission.id, status)
        self.audit.record("submission.archived" if not failed else "submission.finished_with_failures",
                          level="info" if not failed else "error", submission=submission.id,
                          name=submission.name, status=status, archive=str(archived),
                          platforms={d.platform: d.url or d.state for d in deliveries})
        if self.on_finished is not None:
            self.on_finished(submission)

    def _archive(self, submission: StoredSubmission, deliveries: list[Delivery]) -> Path:
        """Move the submission to the archive folder with a receipt; return where it went."""
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        target = unique_path(self.archive_dir / submission.name)
        if submission.folder.exists():
            shutil.move(str(submission.folder), target)
            container = submission.folder.parent
            if container.exists() and not any(container.iterdir()):
                container.rmdir()
        lines = [f"Receipt for '{submission.name}' ({submission.id})",
                 f"Approved by: {', '.join(submission.signers)}",
                 f"Scheduled for: {submission.publish_at.isoformat()}", ""]
        for delivery in deliveries:
            if delivery.state == "sent":
                lines.append(f"{delivery.platform}: published {delivery.url}")
            else:
                lines.append(f"{delivery.platform}: NOT published ({delivery.last_error})")
        receipt = target.with_name(target.name + ".receipt.txt")
        write_notice(receipt, "\n".join(lines) + "\n")
        self.store.move_submission_folder(submission.id, target)
        return target


def write_notice(path: Path, text: str) -> None:
    """Write a file people read (receipts, refusals, held notices) so that it appears whole:
    anyone, or anything, that sees it never sees it half-written."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def unique_path(path: Path) -> Path:
    """`path` if free, else `path-2`, `path-3`, ... (never overwrite a person's files)."""
    if not path.exists() and not path.with_name(path.name + ".receipt.txt").exists():
        return path
    for number in range(2, 10000):
        candidate = path.with_name(f"{path.name}-{number}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(path)
