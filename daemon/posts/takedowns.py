"""Withdrawn consent takes published posts down (issue 22).

Each run compares the consent register with what the last run saw (as keyed hashes,
`daemon.posts.pupil_hashes`: no name is stored, logged or audited). A pupil newly on the
restricted list opens a takedown due at once; a pupil whose photo consent was withdrawn opens
one due after `consent.takedown_grace_hours`, in which the DSL may confirm it (due now) or keep
the posts (`steward consent confirm|keep ID`). A due takedown deletes every live post picturing
the pupil on every platform (the unpublish path, `Requests.delete_everywhere`), holds the
scheduled ones and tells their submitters, and e-mails the DSL. A delete that fails stays open
and is tried again next run, so nothing is lost to a failure or a restart; a platform that
cannot delete by API puts the post on the checklist for a person. At most
`consent.takedowns_per_run` posts per run; `dry_run` says what would happen and changes nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from config.settings import StewardSettings
from daemon.audit.chain import AuditLog
from daemon.posts.publishing import unique_path, write_notice
from daemon.posts.pupil_hashes import PupilHasher, short
from daemon.posts.requests import Requests
from daemon.posts.rosters import load_consent
from daemon.runtime.clock import Clock
from daemon.runtime.mail import Mailer, MailError
from daemon.runtime.store import Store, StoredSubmission, StoredTakedown
from policies.displayed_text import visible

OPEN = ("waiting", "due")
WHY = {"restricted": "a pupil it pictures is now on the restricted list",
       "withdrawn": "photo consent for a pupil it pictures was withdrawn",
       "request": "it was asked to come down"}


class TakedownError(Exception):
    """A takedown cannot be found or changed; the message says why."""


@dataclass
class RunReport:
    """What one run did (or, dry, would do)."""

    opened: list[int] = field(default_factory=list)
    would_open: list[str] = field(default_factory=list)  # dry run: "pupil HASH (why): IDs"
    deleted: list[str] = field(default_factory=list)  # "ID platform: ..."
    held: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    by_hand: list[str] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    capped: bool = False


class Takedowns:
    def __init__(self, settings: StewardSettings, store: Store, audit: AuditLog, clock: Clock,
                 requests: Requests, hasher: PupilHasher, mailer: Mailer) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self.clock = clock
        self.requests = requests
        self.hasher = hasher
        self.mailer = mailer
        self._lock = threading.Lock()

    def _clause(self, reason: str) -> str:
        rule = "restricted-list" if reason == "restricted" else "photo-consent"
        return self.settings.policy.clause_id(rule)

    # -- the register ------------------------------------------------------------------------

    def compare_register(self, dry_run: bool = False, report: RunReport | None = None
                         ) -> list[int]:
        """Open a takedown for each pupil newly restricted or withdrawn who is pictured in a
        live or scheduled post; remember the register as seen. Return the takedowns opened."""
        register = load_consent(self.settings)
        if register is None:
            return []
        states: dict[str, str] = {}
        for key, entry in register.entries.items():
            if entry.restricted:
                states[self.hasher(key)] = "restricted"
            elif not entry.photo_consent:
                states[self.hasher(key)] = "withdrawn"
        seen = self.store.consent_seen()
        now = self.clock.now()
        grace = timedelta(hours=self.settings.consent.takedown_grace_hours)
        opened = []
        for pupil_hash, state in sorted(states.items()):
            if seen.get(pupil_hash) == state or (state == "withdrawn"
                                                 and seen.get(pupil_hash) == "restricted"):
                continue
            posts = [s.id for s in self._affected(pupil_hash)]
            if not posts:
                continue
            if dry_run:
                self.audit.record("takedown.would_open", pupil=pupil_hash, reason=state,
                                  posts=posts, dry_run=True)
                if report is not None:
                    report.would_open.append(f"pupil {short(pupil_hash)} ({state}): "
                                             f"{', '.join(posts)}")
                continue
            due = now if state == "restricted" else now + grace
            takedown = self.store.add_takedown(
                reason=state, status="due" if state == "restricted" else "waiting", due_at=due,
                now=now, pupil_hash=pupil_hash)
            self.audit.record("takedown.opened", level="warning", takedown=takedown,
                              pupil=pupil_hash, reason=state, posts=posts,
                              due_at=due.isoformat(), clause=self._clause(state),
                              audience="DSL")
            opened.append(takedown)
            if state == "withdrawn":
                self._mail_dsl_grace(takedown, posts, due)
            else:
                self._mail_dsl_opened(takedown, pupil_hash, posts)
        if not dry_run and states != seen:
            self.store.replace_consent_seen(states, now)
        return opened

    def _affected(self, pupil_hash: str) -> list[StoredSubmission]:
        return affected(self.store, pupil_hash)

    # -- on request, and the DSL's decisions (also from the commands: module functions) ------

    def request_pupil(self, pupil: str, dry_run: bool = False) -> tuple[int | None, list[str]]:
        return open_for_pupil(self.settings, self.store, self.audit, self.clock,
                              self.hasher(pupil), dry_run=dry_run)

    def request_post(self, submission_id: str, dry_run: bool = False
                     ) -> tuple[int | None, list[str]]:
        return open_for_post(self.settings, self.store, self.audit, self.clock, submission_id,
                             dry_run=dry_run)

    def confirm(self, takedown_id: int, by: str) -> None:
        decide(self.store, self.audit, self.clock, takedown_id, "confirm", by)

    def keep(self, takedown_id: int, by: str) -> None:
        decide(self.store, self.audit, self.clock, takedown_id, "keep", by)

    # -- carrying them out -------------------------------------------------------------------

    def run(self, dry_run: bool = False) -> RunReport:
        """Compare the register, then carry out what is due, at most the cap of posts."""
        with self._lock:
            report = RunReport()
            report.opened = self.compare_register(dry_run, report)
            now = self.clock.now()
            budget = self.settings.consent.takedowns_per_run
            for takedown in self.store.takedowns(OPEN):
                if takedown.status == "waiting" and takedown.due_at > now:
                    continue
                if budget <= 0:
                    report.capped = True
                    break
                if takedown.status == "waiting":
                    if not dry_run:
                        self.store.set_takedown_status(takedown.id, "due", now,
                                                       from_statuses=("waiting",))
                        self.audit.record("takedown.grace_ended", takedown=takedown.id,
                                          audience="DSL")
                budget = self._carry_out(takedown, report, budget, dry_run)
            if report.capped:
                self.audit.record("takedown.capped", level="warning",
                                  cap=self.settings.consent.takedowns_per_run, dry_run=dry_run)
            return report

    def _posts(self, takedown: StoredTakedown) -> list[StoredSubmission]:
        if takedown.pupil_hash is not None:
            return self._affected(takedown.pupil_hash)
        found = self.store.submission(takedown.submission_id or "")
        return [found] if found is not None else []

    def _carry_out(self, takedown: StoredTakedown, report: RunReport, budget: int,
                   dry_run: bool) -> int:
        audited = {"takedown": takedown.id, "because": takedown.reason,
                   "pupil": takedown.pupil_hash}
        remaining = False
        deleted_here: list[str] = []
        failed_here: list[str] = []
        by_hand: list[str] = []
        for submission in self._posts(takedown):
            if budget <= 0:  # the cap: the rest of this takedown follows in the next run
                report.capped = remaining = True
                break
            budget -= 1
            deliveries = self.store.deliveries(submission.id)
            if dry_run:
                report.deleted += [f"{submission.id} {d.platform} (would delete)"
                                   for d in deliveries if d.state == "sent"]
                report.held += [submission.id] if any(d.state == "pending"
                                                      for d in deliveries) else []
                continue
            if any(d.state == "pending" for d in deliveries):
                self._hold(submission, takedown)
                report.held.append(submission.id)
            lines, failures, cannot = self.requests.delete_everywhere(submission, **audited)
            deleted_here += [f"{submission.id} {line}" for line in lines]
            failed_here += [f"{submission.id} {line}" for line in failures]
            report.failed += [f"{submission.id} {line}" for line in failures]
            for where in cannot:
                key = f"takedown:{takedown.id}:{submission.id}:{where.split(':', 1)[0]}"
                self.store.raise_checklist_item(
                    key, where.split(":", 1)[0],
                    f"Delete post {submission.id} by hand ({where}): {WHY[takedown.reason]}; "
                    "its API cannot delete it. Then: steward reconcile --confirm " + key,
                    self.clock.now())
                by_hand.append(f"{submission.id} {where}")
            if failures or any(d.state == "sending" for d in self.store.deliveries(
                    submission.id)):
                remaining = True
            elif lines and not cannot:
                self.store.set_submission_status(submission.id, "unpublished")
        report.deleted += deleted_here
        report.by_hand += by_hand
        if failed_here:
            self._tell_it_is_failing(takedown, failed_here)
        if dry_run or remaining:
            return budget
        now = self.clock.now()
        self.store.resolve_checklist_item(f"takedown:{takedown.id}:failing", now)
        if self.store.set_takedown_status(takedown.id, "done", now, from_statuses=OPEN):
            seconds = (now - takedown.created_at).total_seconds()
            self.audit.record("takedown.done", takedown=takedown.id, reason=takedown.reason,
                              pupil=takedown.pupil_hash, seconds=round(seconds, 3),
                              by_hand=len(by_hand), clause=self._clause(takedown.reason),
                              audience="DSL")
            report.finished.append(takedown.id)
            self._mail_dsl_done(takedown, deleted_here, by_hand)
        return budget

    def _hold(self, submission: StoredSubmission, takedown: StoredTakedown) -> None:
        now = self.clock.now()
        for delivery in self.store.deliveries(submission.id):
            self.store.transition(submission.id, delivery.platform, ("pending",), "held", now,
                                  last_error=f"held: {WHY[takedown.reason]}")
        self.store.set_submission_status(submission.id, "held")
        clause = self._clause(takedown.reason)
        local = submission.publish_at.astimezone(ZoneInfo(self.settings.school.time_zone))
        folder = self.settings.paths.resolved("rejected")
        notice = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = unique_path(folder / f"{submission.name}.held.txt")
            write_notice(path, (
                f"Steward has held '{visible(submission.name)}' ({submission.id}), due "
                f"{local:%A %d %B %Y at %H:%M}: {WHY[takedown.reason]}.\n\n"
                f"Policy clause: {clause}\n\nNothing of it was published, and this copy never "
                "will be. If the post should still go out, remove every photo showing that "
                "pupil (and the pupil from `pictured`), have it signed again and put it in the "
                "inbox as usual. The DSL can tell you which photos.\n"))
            notice = str(path)
        except OSError as error:
            self.audit.record("notice.failed", level="error", name=submission.name,
                              reason=str(error), audience="admin")
        self.audit.record("post.held", level="warning", submission=submission.id,
                          name=submission.name, takedown=takedown.id, file=notice,
                          reason=WHY[takedown.reason], clause=clause, audience="SLT")
        self._mail_submitters(submission, takedown, clause, local)

    def _mail_submitters(self, submission: StoredSubmission, takedown: StoredTakedown,
                         clause: str, local) -> None:
        """Tell the SLT members who signed the held post, those with an e-mail address, as a
        refusal is told: why, with the clause, and what to do. The audit log records that it
        was sent and to how many, never what it says."""
        addresses = [signer.email for signer in self.settings.approval.signers
                     if signer.name in submission.signers and signer.email]
        if not addresses:
            return
        body = (f"Steward has held '{visible(submission.name)}' ({submission.id}), due "
                f"{local:%A %d %B %Y at %H:%M}: {WHY[takedown.reason]}.\n\n"
                f"Policy clause: {clause}\n\nNothing of it was published. If it should still "
                "go out, remove every photo showing that pupil (and the pupil from "
                "`pictured`), have it signed again and put it in the inbox as usual. The DSL "
                "can tell you which photos.\n")
        try:
            how = self.mailer.send(addresses, f"[Steward] Held: {visible(submission.name)}",
                                   body)
        except MailError as error:
            self.audit.record("post.held_mail_failed", level="error",
                              submission=submission.id, reason=str(error), audience="admin")
            return
        self.audit.record("post.held_mailed", submission=submission.id, takedown=takedown.id,
                          recipients=len(addresses), channel=how)

    # -- telling the DSL ---------------------------------------------------------------------

    def _tell_it_is_failing(self, takedown: StoredTakedown, failed: list[str]) -> None:
        """The first time a takedown's deletes fail: on the checklist (resolved when it is
        done) and an e-mail to the DSL and the administrators; it is tried again each check."""
        key = f"takedown:{takedown.id}:failing"
        if self.store.checklist_item(key) is not None:
            return
        self.store.add_checklist_item(
            key, "consent", f"Takedown T{takedown.id} is not complete: {'; '.join(failed)}. "
            "Steward tries again at every check; if it keeps failing, delete the posts by "
            "hand on the platform.", self.clock.now())
        self.audit.record("takedown.failing", level="error", takedown=takedown.id,
                          failures=len(failed), audience="admin")
        lead = self.settings.mail.esafety_lead
        recipients = ([lead] if lead else []) + list(self.settings.mail.administrators)
        body = (f"Steward could not yet delete every post of takedown T{takedown.id} "
                f"({WHY[takedown.reason]}):\n" + "".join(f"  {line}\n" for line in failed)
                + f"\nIt tries again every {self.settings.consent.check_interval_seconds:g} s "
                "and will e-mail when the takedown is done. If it keeps failing, delete the "
                "posts by hand on the platform.\n")
        try:
            self.mailer.send(recipients, f"[Steward] Takedown T{takedown.id} not complete yet",
                             body)
        except MailError as error:
            self.audit.record("takedown.mail_failed", level="error", takedown=takedown.id,
                              reason=str(error), audience="admin")

    def _mail(self, takedown_id: int, subject: str, body: str) -> None:
        lead = self.settings.mail.esafety_lead
        try:
            how = self.mailer.send([lead] if lead else [], f"[Steward] {subject}", body)
        except MailError as error:
            self.audit.record("takedown.mail_failed", level="error", takedown=takedown_id,
                              reason=str(error), audience="admin")
            return
        self.audit.record("takedown.mailed", takedown=takedown_id, recipients=1 if lead else 0,
                          channel=how)

    def _mail_dsl_opened(self, takedown_id: int, pupil_hash: str, posts: list[str]) -> None:
        """A pupil is now on the restricted list: the DSL hears at once, before any delete
        is tried (a platform that is down must not delay the safeguarding lead knowing)."""
        self._mail(takedown_id, f"Restricted list: takedown {takedown_id} under way", (
            f"A pupil now on the restricted list is pictured in {len(posts)} post(s): "
            f"{', '.join(posts)}.\n\nSteward is deleting every one of them on every platform "
            "now, and holding any not yet published; it e-mails again when the takedown is "
            "done, or if a platform refuses.\n\n"
            f"Pupil reference: {short(pupil_hash)} (Steward keeps no names; check against the "
            "register).\nProgress: steward consent takedowns\n"))

    def _mail_dsl_done(self, takedown: StoredTakedown, deleted: list[str],
                       by_hand: list[str]) -> None:
        lines = [f"Steward has taken down every post of takedown {takedown.id}: "
                 f"{WHY[takedown.reason]}.", ""]
        lines += ["Deleted:"] + [f"  {line}" for line in deleted or ["(nothing was still up)"]]
        if by_hand:
            lines += ["", "A person must delete these (the platform's API cannot), then "
                      "confirm on the checklist (steward reconcile):"]
            lines += [f"  [ ] {line}" for line in by_hand]
        if takedown.pupil_hash:
            lines += ["", f"Pupil reference: {short(takedown.pupil_hash)} (Steward keeps no "
                      "names; check against the register)."]
        lines += ["", "Scheduled posts picturing the pupil were held and their submitters told.",
                  "The audit log records each step."]
        self._mail(takedown.id, f"Takedown {takedown.id} done", "\n".join(lines) + "\n")

    def _mail_dsl_grace(self, takedown_id: int, posts: list[str], due) -> None:
        local = due.astimezone(ZoneInfo(self.settings.school.time_zone))
        self._mail(takedown_id, f"Consent withdrawn: takedown {takedown_id} on "
                   f"{local:%d %B at %H:%M}", (
                       f"Photo consent was withdrawn for a pupil pictured in {len(posts)} "
                       f"post(s): {', '.join(posts)}.\n\nSteward will delete them everywhere "
                       f"on {local:%A %d %B %Y at %H:%M} unless you decide first:\n"
                       f"  steward consent confirm {takedown_id}   (take them down now)\n"
                       f"  steward consent keep {takedown_id}      (keep them, e.g. once "
                       "cropped)\n"))


# -- what the commands do too (`steward consent ...`), with the store and the audit log ------

def affected(store: Store, pupil_hash: str) -> list[StoredSubmission]:
    """The pupil's posts still up somewhere or still to go out."""
    return [s for s in store.submissions_picturing(pupil_hash)
            if s.status != "unpublished" and any(
                d.state in ("sent", "pending", "sending") for d in store.deliveries(s.id))]


def open_for_pupil(settings: StewardSettings, store: Store, audit: AuditLog, clock: Clock,
                   pupil_hash: str, *, dry_run: bool = False) -> tuple[int | None, list[str]]:
    """Take down every post picturing the pupil (a parent's complaint): a takedown due now,
    carried out at the service's next check. Return it (None when dry) and the posts."""
    posts = [s.id for s in affected(store, pupil_hash)]
    if dry_run:
        return None, posts
    now = clock.now()
    takedown = store.add_takedown(reason="request", status="due", due_at=now, now=now,
                                  pupil_hash=pupil_hash)
    audit.record("takedown.opened", level="warning", takedown=takedown, pupil=pupil_hash,
                 reason="request", posts=posts,
                 clause=settings.policy.clause_id("photo-consent"), audience="DSL")
    return takedown, posts


def open_for_post(settings: StewardSettings, store: Store, audit: AuditLog, clock: Clock,
                  submission_id: str, *, dry_run: bool = False) -> tuple[int | None, list[str]]:
    """Take one post down everywhere (and hold it if it has not gone out)."""
    if store.submission(submission_id) is None:
        raise TakedownError(f"there is no post '{visible(submission_id)}'; use the ID from "
                            "`steward status` or the acceptance notice")
    if dry_run:
        return None, [submission_id]
    now = clock.now()
    takedown = store.add_takedown(reason="request", status="due", due_at=now, now=now,
                                  submission_id=submission_id)
    audit.record("takedown.opened", level="warning", takedown=takedown, reason="request",
                 posts=[submission_id], clause=settings.policy.clause_id("photo-consent"),
                 audience="DSL")
    return takedown, [submission_id]


def decide(store: Store, audit: AuditLog, clock: Clock, takedown_id: int, decision: str,
           by: str) -> None:
    """The DSL's decision on a takedown waiting out its grace period: `confirm` (due now) or
    `keep` (the posts stay, e.g. cropped). TakedownError when it is not waiting."""
    now = clock.now()
    if decision == "confirm":
        moved = store.set_takedown_status(takedown_id, "due", now, from_statuses=("waiting",),
                                          due_at=now)
    else:
        moved = store.set_takedown_status(takedown_id, "kept", now, from_statuses=("waiting",))
    if not moved:
        found = store.takedown(takedown_id)
        if found is None:
            raise TakedownError(f"there is no takedown {takedown_id} (see `steward consent "
                                "takedowns`)")
        raise TakedownError(f"takedown {takedown_id} is {found.status}, not waiting for a "
                            "decision: only a takedown for withdrawn consent, within its grace "
                            "period, can be confirmed or kept")
    audit.record("takedown.confirmed" if decision == "confirm" else "takedown.kept",
                 takedown=takedown_id, by=by, audience="DSL")
