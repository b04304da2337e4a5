"""Moderation: collect replies and comments on the school's posts, classify them, and act.

For each platform, every poll: apply the decisions moderators queued (`steward moderate decide`,
`restore`), then collect in parts (each of the school's recent posts, then mentions), each part
classified and handled before its cursor is committed, so a rate limit mid-sweep loses nothing
and repeats nothing (the replies table also refuses a reply twice).

What each verdict gets is the school's response table (`moderation.act_responses`,
`review_responses`), read against the connector's declared capabilities by
`policies.moderation.responses.plan_responses`, never against the platform's name. By default
`act` is, in this order, each step an audit event naming the clause: evidence (written and
synced before anything changes), hide (or delete, where the school says remove and the platform
can), sanction as far as the platform allows (mute, DM-block, block; a block makes the others
unnecessary), then report (an e-mail to the head teacher and the e-safety lead, and a row in the
incident log) saying also what the platform did not allow. `review` goes to the moderators'
digest. A cap per platform per hour turns acting into review and alerts; dry-run classifies and
reports but changes nothing.

A `ConnectorBug` (Steward's own connector code failed) is told to the administrator, once by
e-mail per kind, with the exception's class; the part or step it broke is skipped, never
retried as if the platform were down.
"""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from config.settings import StewardSettings
from connectors.domain import Reply
from connectors.errors import ConnectorBug, ConnectorError, RateLimited
from daemon.audit.chain import AuditLog
from daemon.moderation.evidence import EvidenceStore
from daemon.moderation.rules import moderation_rules
from daemon.moderation.school_model import tuning_directory
from daemon.moderation.worker import ClassifierWorker, model_cache_directory
from daemon.runtime.clock import Clock
from daemon.runtime.mail import Mailer, MailError
from daemon.runtime.spend import Budgets
from daemon.runtime.store import Store, StoredIncident, StoredReply
from policies.moderation import Verdict
from policies.moderation.responses import RESPONSES, ResponsePlan, plan_responses

log = structlog.get_logger("steward.moderation")


class ClassifierUnavailable(Exception):
    """Replies could not be classified; the sweep stops so their cursor is not committed."""
# The rules whose clause (in the school's catalogue, `settings.policy`) each event cites.
EVIDENCE, REMOVAL, SANCTION, INCIDENT_LOG = ("moderation-evidence", "moderation-removal",
                                             "moderation-sanction", "incident-log")


class Moderator:
    def __init__(self, settings: StewardSettings, store: Store, connectors: dict, audit: AuditLog,
                 clock: Clock, mailer: Mailer, evidence: EvidenceStore) -> None:
        self.settings = settings
        self.store = store
        self.connectors = connectors
        self.audit = audit
        self.clock = clock
        self.mailer = mailer
        self.evidence = evidence
        self._locks = {platform: threading.Lock() for platform in connectors}
        self._cap_alerted: dict[str, datetime] = {}
        self._school_model_failure: str | None = None
        self._bugs_alerted: set[tuple[str, str, str]] = set()
        state_dir = settings.paths.state_dir
        self.classifier = ClassifierWorker(model_cache_directory(state_dir),
                                           tuning_directory(state_dir), self._detector_ready)

    def _detector_ready(self, status: dict) -> None:
        """The worker has started: say which detector answers (the contextual model, or why
        not and what stands in), so that a weaker detector is never in use unannounced."""
        contextual = bool(status.get("contextual"))
        self.audit.record("moderation.detector_ready", detector=str(status.get("detector")),
                          level="info" if contextual and not status.get("tuning_failed") else
                          "warning", audience="admin")
        if status.get("tuning_failed"):
            self._school_model_failed(str(status.get("detector")))

    def close(self) -> None:
        """Stop the classifier worker."""
        self.classifier.close()

    # -- one sweep ---------------------------------------------------------------------------

    def sweep(self, platform: str) -> None:
        """Apply queued decisions, then collect and handle new replies, part by part."""
        lock = self._locks[platform]
        if not lock.acquire(blocking=False):
            return
        try:
            self._apply_decisions(platform)
            for key, fetch in self._parts(platform):
                try:
                    replies, cursor = fetch()
                except RateLimited as error:
                    self.audit.record("moderation.sweep_paused", level="warning",
                                      platform=platform, part=key, reason=error.message)
                    return  # the rest of the sweep waits for the next poll; nothing is lost
                except ConnectorBug as error:
                    self._connector_bug(platform, error, part=key)
                    continue  # its cursor stays; the other parts are still moderated
                except ConnectorError as error:
                    self.audit.record("moderation.collect_failed", level="warning",
                                      platform=platform, part=key, reason=error.message)
                    continue
                try:
                    self.handle(platform, replies)
                except ClassifierUnavailable:
                    return  # tried again at the next poll; the cursor has not moved
                self.store.set_cursor(platform, key, cursor)
            self._send_review_digest(platform)
        finally:
            lock.release()

    def _parts(self, platform: str):
        """(cursor key, fetch function) for each part of a sweep: the replies to each of the
        school's recent posts, then mentions, as far as the platform can read them."""
        connector = self.connectors[platform]
        capabilities = connector.capabilities
        # Once the month's budget is used up, old posts are no longer polled: only the last
        # day's (a live incident is under a new post). Publishing never waits for a budget.
        budgets = Budgets(self.settings, self.settings.paths.state_dir, self.clock)
        days = self.settings.moderation.watch_days if budgets.allows_optional_work(platform) \
            else 1
        since = self.clock.now() - timedelta(days=days)
        posts = self.store.sent_since(platform, since) if capabilities.read_replies else []
        if capabilities.read_replies_together and posts:
            # one call (a few for many posts) for every watched post, with one cursor: a
            # platform that charges per request (X) is not asked once per post per poll
            parts = [("replies:together", self._reader(
                platform, "replies:together",
                lambda cursor, posts=tuple(posts): connector.replies_to_posts(posts, cursor)))]
        else:
            parts = [(f"post:{post}", self._reader(
                platform, f"post:{post}",
                lambda cursor, post=post: connector.replies(post, cursor))) for post in posts]
        if capabilities.read_mentions:
            parts.append(("mentions", self._reader(platform, "mentions", connector.mentions)))
        return parts

    def _reader(self, platform: str, key: str, read):
        """A fetch function: read from the part's saved cursor; return the replies and the
        cursor to save once they are handled."""
        def fetch():
            page = read(self.store.cursor(platform, key))
            return list(page.replies), page.cursor
        return fetch

    # -- handling replies --------------------------------------------------------------------

    def handle(self, platform: str, replies: list[Reply]) -> None:
        """Classify and handle replies not seen before."""
        known = self.store.reply_ids(platform)
        fresh = list({reply.reply_id: reply for reply in replies
                      if reply.reply_id not in known}.values())
        if not fresh:
            return
        try:
            verdicts = self.classifier.classify([reply.text for reply in fresh],
                                                moderation_rules(self.settings))
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            self.audit.record("moderation.classifier_failed", level="error", platform=platform,
                              reason=str(error), audience="admin")
            raise ClassifierUnavailable(str(error)) from None
        for reply, verdict in zip(fresh, verdicts, strict=True):
            row_id = self._record(reply, verdict)
            if row_id is None:
                continue
            self.audit.record("reply.classified", platform=platform, reply=f"R{row_id}",
                              reply_id=reply.reply_id, author_id=reply.author_id,
                              verdict=verdict.verdict, score=round(verdict.score, 3),
                              reasons=list(verdict.reasons))
            if verdict.verdict == "act":
                self._act_or_hold(row_id, reply, verdict)
            elif verdict.verdict == "review":
                self._review(row_id, reply, verdict)

    def _record(self, reply: Reply, verdict: Verdict) -> int | None:
        keep_text = verdict.verdict != "allow"  # allowed messages are not kept
        return self.store.add_reply(
            platform=reply.platform, reply_id=reply.reply_id, author_id=reply.author_id,
            author_handle=reply.author_handle, in_reply_to=reply.in_reply_to, url=reply.url,
            verdict=verdict.verdict, score=verdict.score, reasons=list(verdict.reasons),
            status="allowed" if verdict.verdict == "allow" else "new",
            text=reply.text if keep_text else None, now=self.clock.now())

    def _set_status(self, row_id: int, status: str, **fields) -> None:
        self.store.update_reply(row_id, status, self.clock.now(), **fields)

    def _actions_this_hour(self, platform: str) -> int:
        return self.store.actions_since(platform, self.clock.now() - timedelta(hours=1))

    def _act_or_hold(self, row_id: int, reply: Reply, verdict: Verdict) -> None:
        moderation = self.settings.moderation
        if moderation.dry_run:
            self._set_status(row_id, "dry-run")
            self.audit.record("moderation.dry_run", platform=reply.platform, reply=f"R{row_id}",
                              note="would have saved evidence, hidden, sanctioned and reported",
                              planned=list(self._plan(reply).actions))
            self._report(row_id, reply, verdict, ["none: dry run"], None, None, dry_run=True)
            return
        if self._actions_this_hour(reply.platform) >= moderation.max_actions_per_hour:
            self._set_status(row_id, "review", decision="cap")
            self.audit.record("moderation.cap_reached", level="warning", platform=reply.platform,
                              reply=f"R{row_id}", cap=moderation.max_actions_per_hour,
                              audience="admin")
            last = self._cap_alerted.get(reply.platform)
            if last is None or self.clock.now() - last > timedelta(hours=1):
                self._cap_alerted[reply.platform] = self.clock.now()
                self.mailer.alert(
                    self.audit, f"Moderation cap reached on {reply.platform}",
                    f"More than {moderation.max_actions_per_hour} replies on "
                    f"{reply.platform} would have been acted on within an hour. Steward "
                    "now only reports them for review until the hour has passed. If "
                    "this is a pile-on, review the digest; if the classifier misfires, "
                    "set moderation.dry_run = true and tell the administrator.")
            return
        self.act(row_id, reply, verdict)

    def _school_model_failed(self, reason: str) -> None:
        """The school's tuning cannot be used but Steward's own model answers: say so each time
        the worker starts in the audit log, and by e-mail once per new reason, rather than
        stop moderating."""
        self.audit.record("moderation.school_model_failed", level="warning", reason=reason,
                          note="Steward's own model classifies replies instead",
                          audience="admin")
        if reason == self._school_model_failure:
            return
        self._school_model_failure = reason
        self.mailer.alert(
            self.audit, "The school's moderation model failed",
            f"Steward could not use the school's own tuning of its moderation model. Replies "
            "are still classified and acted on by Steward's own model, which has not learnt "
            f"from your moderators' decisions. What the worker said: {reason}. A damaged or "
            "half-copied folder, or an upgrade of Steward, is the usual cause: run `steward "
            "moderate train` again; `steward moderate classify` shows which model answers.")

    def _plan(self, reply: Reply, responses=None) -> ResponsePlan:
        """The school's responses (by default to 'act') as far as the reply's platform can."""
        moderation = self.settings.moderation
        return plan_responses(
            moderation.act_responses if responses is None else responses,
            self.connectors[reply.platform].capabilities, reply.platform,
            author_known=bool(reply.author_id),
            remove_instead_of_hide=moderation.remove_instead_of_hide)

    def _save_evidence(self, row_id: int, reply: Reply, verdict: Verdict,
                       status: str) -> tuple[Path, str]:
        path, digest = self.evidence.save(reply, verdict, self.clock.now())
        self._set_status(row_id, status, evidence_path=str(path), evidence_sha256=digest)
        self.audit.record("evidence.saved", clause=self._clause(EVIDENCE), platform=reply.platform,
                          reply=f"R{row_id}", sha256=digest, path=str(path))
        return path, digest

    def _review(self, row_id: int, reply: Reply, verdict: Verdict) -> None:
        """A borderline reply: the school's review responses (evidence, if listed), then the
        moderators' digest."""
        if "evidence" in self.settings.moderation.review_responses:
            self._save_evidence(row_id, reply, verdict, "review")
        self._set_status(row_id, "review")

    def act(self, row_id: int, reply: Reply, verdict: Verdict) -> None:
        """The school's act responses, in their order (by default evidence, hide, sanction,
        report), each step recorded; what the platform cannot do goes in the report."""
        self._set_status(row_id, "acting")
        connector = self.connectors[reply.platform]
        plan = self._plan(reply)
        actions: list[str] = []
        path, digest, incident = None, None, None
        for name in plan.actions:
            if name == "evidence":
                path, digest = self._save_evidence(row_id, reply, verdict, "acting")
            elif name == "report":
                incident = self._report(row_id, reply, verdict, actions + list(plan.not_done),
                                        path, digest)
            else:
                event, rule, call = STEPS[name]
                self._step(actions, row_id, reply, event, self._done(name, connector),
                           self._clause(rule), lambda call=call: call(connector, reply))
        self._set_status(row_id, "acted", incident=incident,
                         actions=json.dumps(actions + list(plan.not_done)))

    def _clause(self, rule: str) -> str:
        """The id of the school's clause that `rule` cites."""
        return self.settings.policy.clause_id(rule)

    @staticmethod
    def _done(name: str, connector) -> str:
        """The words for a done step, with where a block applies ("from the Page")."""
        done = RESPONSES[name].done or name
        scope = connector.capabilities.block_scope
        return f"{done} {scope}" if name == "block" and scope else done

    def _step(self, actions, row_id, reply, event, done, clause, call) -> None:
        try:
            call()
        except ConnectorError as error:
            if isinstance(error, ConnectorBug):
                self._connector_bug(reply.platform, error, reply=f"R{row_id}")
            actions.append(f"FAILED to {done.split()[0]}: {error.message}")
            self.audit.record(event + "_failed", level="error", clause=clause,
                              platform=reply.platform, reply=f"R{row_id}", reason=error.message,
                              audience="admin")
            return
        actions.append(done)
        self.audit.record(event, clause=clause, platform=reply.platform, reply=f"R{row_id}",
                          author_id=reply.author_id)

    def _connector_bug(self, platform: str, error: ConnectorBug, **where) -> None:
        """Steward's connector code failed: an error for the administrator every time, with the
        exception's class, and an e-mail once for each kind (the connector logged the
        traceback). Nothing is retried because of it."""
        self.audit.record("moderation.connector_bug", level="error", platform=platform,
                          action=error.action, error_class=error.error_class,
                          reason=error.message, audience="admin", **where)
        kind = (platform, error.action, error.error_class)
        if kind in self._bugs_alerted:
            return
        self._bugs_alerted.add(kind)
        self.mailer.alert(
            self.audit, f"A fault in Steward's {platform} connector",
            f"Steward's own code failed ({error.error_class}) while trying to {error.action} "
            f"on {platform}. This is not {platform} being down, so Steward does not retry it: "
            "the replies or the step it was handling were skipped (their evidence, where "
            "saved, is kept). The traceback is in Steward's log (journalctl -u steward, event "
            "connector.bug); please report it with that traceback.")

    # -- reporting ---------------------------------------------------------------------------

    def _incident_number(self) -> str:
        year = self.clock.now().year
        count = self.store.count_incidents(f"INC-{year}-")
        return f"INC-{year}-{count + 1:04d}"

    def _report(self, row_id, reply, verdict, actions, path, digest, dry_run=False) -> str:
        mail = self.settings.mail
        recipients = [address for address in (mail.head_teacher, mail.esafety_lead) if address]
        number = "DRY-RUN" if dry_run else self._incident_number()
        nature = ", ".join(verdict.layers) or "offensive"
        body = "\n".join([
            f"{'[DRY RUN: nothing was changed] ' if dry_run else ''}Incident {number}",
            f"School: {self.settings.school.name}",
            f"Platform: {reply.platform}", f"When: {reply.created_at or self.clock.now()}",
            f"Author: {reply.author_handle} (id {reply.author_id or 'unknown'})",
            f"Link: {reply.url}", f"Nature: {nature} (score {verdict.score:.2f})",
            "Action taken:", *[f"  - {action}" for action in actions],
            f"Evidence: {path} (SHA-256 {digest})" if path else "Evidence: none (dry run)",
            "", "The message, as posted:", "", *[f"> {line}" for line in reply.text.splitlines()],
            "", f"Wrongly flagged? `steward moderate restore R{row_id}` undoes the hide and the "
            "sanctions.", f"Policy: St Mary's CE Primary: {nature and 'abuse'} must be copied, "
            "removed and reported to the Head Teacher or e-Safety coordinator."])
        subject = f"[Steward] {'Dry run: ' if dry_run else ''}incident {number} on {reply.platform}"
        try:
            channel = self.mailer.send(recipients, subject, body)
        except MailError as error:
            channel = "outbox (SMTP failed)"
            self.audit.record("report.mail_failed", level="error", reason=str(error),
                              audience="admin")
        if dry_run:
            return number
        reported = ", ".join(role for role, address in (("head teacher", mail.head_teacher),
                                                        ("e-safety lead", mail.esafety_lead))
                             if address) or "outbox (no recipients configured)"
        self.store.add_incident(StoredIncident(
            number=number, occurred_at=self.clock.now(), platform=reply.platform, nature=nature,
            action_taken="; ".join(actions), reported_to=reported, outcome="open",
            evidence_sha256=digest, evidence_path=str(path), reply=row_id))
        self.audit.record("incident.recorded", clause=self._clause(INCIDENT_LOG), incident=number,
                          platform=reply.platform, reply=f"R{row_id}", nature=nature,
                          action_taken="; ".join(actions), reported_to=reported,
                          channel=channel, evidence_sha256=digest)
        return number

    def _send_review_digest(self, platform: str) -> None:
        rows = self.store.replies_to_review(platform)
        if not rows:
            return
        lines = [f"{len(rows)} repl{'y' if len(rows) == 1 else 'ies'} on {platform} need a "
                 "moderator's decision:", ""]
        for row in rows:
            lines += [f"R{row.id}  {row.url}  by {row.author_handle}  score "
                      f"{row.score:.2f}",
                      f"    why: {'; '.join(row.reasons) or '-'}",
                      *[f"    > {line}" for line in (row.text or "").splitlines()],
                      f"    decide: steward moderate decide R{row.id} act|allow", ""]
        try:
            self.mailer.send(list(self.settings.mail.moderators),
                             f"[Steward] {len(rows)} to review on {platform}", "\n".join(lines))
        except MailError as error:
            self.audit.record("review.mail_failed", level="error", reason=str(error))
        self.store.mark_digest_sent(row.id for row in rows)
        self.audit.record("review.digest_sent", platform=platform, items=len(rows))

    # -- moderators' decisions ---------------------------------------------------------------

    def _apply_decisions(self, platform: str) -> None:
        for row in self.store.replies_with_decisions(platform):
            reply = _reply_from_row(row)
            if row.decision == "act" and row.status in ("review", "dry-run"):
                verdict = Verdict("act", row.score, (*row.reasons, "moderator"))
                self._set_status(row.id, row.status, decision="done", label="offensive")
                self.act(row.id, reply, verdict)
            elif row.decision == "allow":
                self._set_status(row.id, "decided-allow", decision="done", label="clean")
                self.audit.record("moderation.allowed_by_moderator", platform=platform,
                                  reply=f"R{row.id}")
            elif row.decision == "restore":
                self._restore(row, reply)

    def _restore(self, row: StoredReply, reply: Reply) -> None:
        """Undo what the act responses did on the platform (the plan, read again), in order."""
        connector = self.connectors[reply.platform]
        plan = self._plan(reply)
        undone = []
        for undo, action in plan.undo():
            try:
                UNDO[undo](connector, reply)
                undone.append(action)
            except ConnectorError as error:
                if isinstance(error, ConnectorBug):
                    self._connector_bug(reply.platform, error, reply=f"R{row.id}")
                undone.append(f"could not be {action}: {error.message}")
        if "delete" in plan.actions:
            undone.append("not brought back: a deleted reply cannot be restored")
        self._set_status(row.id, "restored", decision="done", label="clean")
        if row.incident:
            self.store.set_incident_outcome(
                row.incident, "restored: wrongly flagged (" + ", ".join(undone) + ")")
        self.audit.record("moderation.restored", platform=reply.platform, reply=f"R{row.id}",
                          incident=row.incident, undone=undone)


# What each response that changes the platform calls, its audit event and the rule whose clause
# it cites.
STEPS = {
    "hide": ("reply.hidden", REMOVAL,
             lambda connector, reply: connector.hide(reply)),
    "delete": ("reply.deleted", REMOVAL,
               lambda connector, reply: connector.delete_reply(reply)),
    "mute": ("user.muted", SANCTION,
             lambda connector, reply: connector.mute(reply.author_id)),
    "dm_block": ("user.dm_blocked", SANCTION,
                 lambda connector, reply: connector.dm_block(reply.author_id)),
    "block": ("user.blocked", SANCTION,
              lambda connector, reply: connector.block(reply.author_id)),
}
UNDO = {
    "unhide": lambda connector, reply: connector.unhide(reply.reply_id),
    "unmute": lambda connector, reply: connector.unmute(reply.author_id),
    "unblock": lambda connector, reply: connector.unblock(reply.author_id),
}


def _reply_from_row(row: StoredReply) -> Reply:
    return Reply(platform=row.platform, reply_id=row.reply_id, author_id=row.author_id,
                 author_handle=row.author_handle, text=row.text or "",
                 in_reply_to=row.in_reply_to, created_at=None, url=row.url)
