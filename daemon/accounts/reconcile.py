"""Reconcilers: observe the accounts, compare with what the policy requires, do what the API
allows, observe again, and put everything else on a checklist for a person (account settings
always: no platform lets an app change them).

Areas, each per platform and each branching on the connector's capabilities (never on the
platform's name): followers (verified parents and known organisations only), following
(organisations only), settings (a table of descriptions, `policies.settings_drift`), direct
messages (kept as evidence, sender DM-blocked, never answered; Facebook conversations detected),
and parents' link codes found in public mentions (only where the school turns that on). One
area's or platform's failure never stops the others. `dry_run` computes the same plan and
changes nothing (not even the checklist).

Connectors hand back domain types (FollowerPage, PlatformUser, AccountSettings, DirectMessage,
Conversation), never the platform's JSON. A `ConnectorBug` (Steward's own connector code failed)
stops that area for that run, is an error for the administrator with the exception's class, and
is e-mailed once per kind; it is never retried as if the platform were down.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from config.settings import StewardSettings
from connectors.domain import AccountSettings, DirectMessage, Reply
from connectors.errors import ConnectorBug, ConnectorError, RateLimited, TemporaryFailure
from daemon.accounts.registry import Registry
from daemon.audit.chain import AuditLog
from daemon.moderation.evidence import EvidenceStore
from daemon.runtime.clock import Clock
from daemon.runtime.mail import Mailer, MailError
from daemon.runtime.spend import WARN_AT, Budgets, SpendLedger
from daemon.runtime.store import Store, StoredFollower, timestamp
from policies.followers import (
    RULE_FOLLOWERS,
    RULE_FOLLOWING,
    Follower,
    Organisation,
    classify_follower,
    organisation_ids,
    plan_followers,
    plan_following,
)
from policies.moderation import Verdict
from policies.settings_drift import SETTINGS, drift

AREAS = ("links", "followers", "following", "settings", "direct_messages")
RECONFIRM_DAYS = 30  # Loughton: privacy settings "must be checked regularly"


@dataclass
class Outcome:
    platform: str
    area: str
    actions: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    checklist: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(self, settings: StewardSettings, store: Store, connectors: dict,
                 audit: AuditLog, clock: Clock, mailer: Mailer, evidence: EvidenceStore) -> None:
        self.settings = settings
        self.store = store
        self.connectors = connectors
        self.audit = audit
        self.clock = clock
        self.mailer = mailer
        self.evidence = evidence
        self._bugs_alerted: set[tuple[str, str, str]] = set()
        self.registry = Registry(store, audit, clock, settings.policy.catalogue())

    def _clause(self, rule: str) -> str:
        """The school's clause for `rule` (policies.clauses), for audit events."""
        return self.settings.policy.clause_id(rule)

    # -- running -----------------------------------------------------------------------------

    def run(self, areas=AREAS, platforms=None, dry_run: bool | None = None) -> list[Outcome]:
        dry_run = self.settings.reconcile.dry_run if dry_run is None else dry_run
        outcomes = []
        for platform in platforms or sorted(self.connectors):
            for area in areas:
                handler = {"links": self.links, "followers": self.followers,
                           "following": self.following, "settings": self.privacy_settings,
                           "direct_messages": self.direct_messages}[area]
                try:
                    outcome = handler(platform, dry_run)
                except ConnectorBug as error:
                    outcome = Outcome(platform, area, notes=[f"stopped: {error.message}"])
                    self._connector_bug(platform, area, error)
                except ConnectorError as error:
                    outcome = Outcome(platform, area, notes=[f"stopped: {error.message}"])
                    self.audit.record("reconcile.failed", level="warning", platform=platform,
                                      area=area, reason=error.message)
                if outcome is not None:
                    outcomes.append(outcome)
        if not dry_run:
            self._mail_checklist_if_changed()
        return outcomes

    def _connector_bug(self, platform: str, area: str, error: ConnectorBug) -> None:
        """Steward's connector code failed: an error for the administrator every time, with the
        exception's class, and an e-mail once for each kind (the traceback is in the log)."""
        self.audit.record("reconcile.connector_bug", level="error", platform=platform, area=area,
                          action=error.action, error_class=error.error_class,
                          reason=error.message, audience="admin")
        kind = (platform, error.action, error.error_class)
        if kind in self._bugs_alerted:
            return
        self._bugs_alerted.add(kind)
        self.mailer.alert(
            self.audit, f"A fault in Steward's {platform} connector",
            f"Steward's own code failed ({error.error_class}) while trying to {error.action} "
            f"on {platform}, so the {area} reconciler stopped for this run. This is not "
            f"{platform} being down, so Steward does not retry it as such. The traceback is in "
            "Steward's log (journalctl -u steward, event connector.bug); please report it with "
            "that traceback.")

    # -- checklist ---------------------------------------------------------------------------

    def _check(self, outcome: Outcome, key: str, text: str, dry_run: bool) -> None:
        """Put an item on the checklist (once); items a person confirmed stay off it for
        RECONFIRM_DAYS."""
        outcome.checklist.append(text)
        if dry_run:
            return
        item = self.store.checklist_item(key)
        if item and item.resolved_at and self.clock.now() - item.resolved_at < timedelta(
                days=RECONFIRM_DAYS):
            outcome.checklist.pop()
            return
        self.store.raise_checklist_item(key, outcome.platform, text, self.clock.now())

    def confirm(self, key: str) -> bool:
        """A person confirms a checklist item is done."""
        done = self.store.mark_checklist_item_done(key, self.clock.now())
        if done:
            self.audit.record("checklist.confirmed", key=key)
        return bool(done)

    def open_checklist(self) -> list[dict]:
        """The open checklist, by platform, as `--json` prints it."""
        return [{"key": item.key, "platform": item.platform, "text": item.text,
                 "created_at": timestamp(item.created_at)}
                for item in self.store.checklist_by_platform()]

    def _mail_checklist_if_changed(self) -> None:
        items = self.open_checklist()
        fingerprint = json.dumps(sorted(item["key"] for item in items))
        if self.store.cursor("*", "checklist:mailed") == fingerprint:
            return  # unchanged: no e-mail
        self.store.set_cursor("*", "checklist:mailed", fingerprint)
        if not items:
            return
        body = ["What only a person can do on the school's accounts (Steward cannot do these by "
                "API). Confirm each with `steward reconcile --confirm KEY` when done.", ""]
        body += [f"[{item['platform']}] {item['text']}\n    key: {item['key']}" for item in items]
        try:
            self.mailer.send(list(self.settings.mail.administrators),
                             f"[Steward] {len(items)} item(s) on the accounts checklist",
                             "\n".join(body))
        except MailError as error:
            self.audit.record("checklist.mail_failed", level="error", reason=str(error))
        self.audit.record("checklist.sent", items=len(items))

    # -- parents' link codes -----------------------------------------------------------------

    def links(self, platform: str, dry_run: bool) -> Outcome | None:
        """Link parents who posted their code in a public mention, only where the school
        turned that on (`followers.link_by_public_mention`: it shows everyone who is a
        parent); otherwise parents prove their account by its bio (`followers confirm`)."""
        connector = self.connectors[platform]
        if not self.settings.followers.link_by_public_mention or \
                not connector.capabilities.read_mentions:
            return None
        outcome = Outcome(platform, "links")
        page = connector.mentions(self.store.cursor(platform, "links:since"))
        mentions = page.replies
        linked = 0
        for mention in mentions:
            if not dry_run and self.registry.link_from_text(platform, mention.author_id,
                                                             mention.author_handle, mention.text):
                linked += 1
        if mentions and not dry_run:
            self.store.set_cursor(platform, "links:since", page.cursor)
        outcome.counts = {"mentions_read": len(mentions), "linked": linked}
        return outcome

    # -- followers ---------------------------------------------------------------------------

    def _organisations(self):
        return organisation_ids(tuple(Organisation(o.handle, o.user_id, o.name, o.why)
                                      for o in self.settings.followers.organisations))

    def followers(self, platform: str, dry_run: bool) -> Outcome:
        connector = self.connectors[platform]
        outcome = Outcome(platform, "followers")
        if not connector.capabilities.list_followers:
            self._check(outcome, f"followers:{platform}:no-list",
                        f"{platform} gives no list of followers by API: control rests on "
                        "moderation (comments are watched); look through the followers by hand "
                        "now and then.", dry_run)
            return outcome
        if not self._within_budget(platform, outcome, dry_run):
            return outcome
        now = self.clock.now()
        grace = timedelta(days=self.settings.followers.grace_days)
        organisations = self._organisations()
        verified = self.registry.verified(platform)
        known = self.store.followers(platform)
        token = self.store.cursor(platform, "followers:next")
        resumed = token is not None
        # Followers come newest first. Between full scans (a list never read, a full scan
        # under way, or `followers.full_scan_days` since the last) only the newest are read,
        # in pages of 1, 1, 2, 4, ... up to the first follower already known: X charges per
        # follower returned, so an unchanged list costs one follower read per check.
        full_at = self.store.cursor(platform, "followers:full_at")
        full = resumed or not known or full_at is None or now - datetime.fromisoformat(
            full_at) >= timedelta(days=self.settings.followers.full_scan_days)
        size = 1000 if full else 1
        seen: set[str] = set()
        pages = 0
        statuses: dict[str, tuple[Follower, str]] = {}
        complete = False
        while True:
            try:
                page = connector.followers_page(token, max_results=size)
            except (RateLimited, TemporaryFailure) as error:
                outcome.notes.append(f"paused after {pages} page(s): {error.message}; "
                                     "continues from there next time")
                if not dry_run:  # `token` still names the page that failed to load
                    self.store.set_cursor(platform, "followers:next", token)
                break
            pages += 1
            token = page.next_token
            writes = []
            reached_known = False
            for user in page.users:
                if not full and user.user_id in known:
                    reached_known = True  # everyone after is older, and known
                    break
                seen.add(user.user_id)
                row = known.get(user.user_id)
                first_seen = row.first_seen if row else now
                follower = Follower(user.user_id, user.handle, first_seen)
                status = classify_follower(follower, verified, organisations, now, grace)
                statuses[user.user_id] = (follower, status)
                if row is None or row.status != status or row.handle != user.handle:
                    writes.append(StoredFollower(user.user_id, user.handle, first_seen, status))
            if writes and not dry_run:
                self.store.save_followers(platform, writes)
            if not full and (reached_known or not token):
                break  # the incremental check has read every new follower
            if token and not Budgets(self.settings, self.settings.paths.state_dir,
                                     self.clock).allows_optional_work(platform):
                outcome.notes.append(f"paused after {pages} page(s): this month's {platform} "
                                     "budget is used up; continues from there next month")
                if not dry_run and full:
                    self.store.set_cursor(platform, "followers:next", token)
                break
            if not full:
                size = min(1000, size * 2 if pages > 1 else 1)
                continue
            if not token:
                complete = True
                break
            # Progress is saved only when a page fails (above): a graceful stop lets the run
            # finish, and saving it every few pages would cost writes on unchanged runs.
        if complete and not dry_run:
            self.store.set_cursor(platform, "followers:next", None)
            self.store.set_cursor(platform, "followers:full_at", now.isoformat())
        departed = set(known) - seen if complete and not resumed else set()
        if departed and not dry_run:
            self.store.forget_followers(platform, departed)
        for user_id, row in known.items():  # followers not listed in a paused or resumed run
            if user_id not in statuses and user_id not in departed:
                follower = Follower(user_id, row.handle, row.first_seen)
                statuses[user_id] = (follower, classify_follower(
                    follower, verified, organisations, now, grace))
        counts: dict[str, int] = {}
        for _, status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        policy = self.settings.followers.unverified_action
        actions, capped = plan_followers(statuses, connector.capabilities.remove_followers,
                                         connector.capabilities.block_users, policy,
                                         self.settings.followers.max_actions_per_run)
        outcome.counts = counts | {"pages": pages, "departed": len(departed),
                                   "new": len(seen - set(known)), "full_scan": int(full)}
        for action in actions:
            outcome.actions.append(asdict(action))
            if action.kind == "checklist":
                self._check(outcome, f"followers:{platform}:{action.user_id}",
                            f"@{action.handle} follows the school but is neither a verified "
                            f"parent nor a known organisation ({action.reason}): remove them "
                            f"(x.com/{action.handle} > ... > Remove this follower) or, if they "
                            "are a parent, ask them to link their account (steward followers "
                            "invite EMAIL).", dry_run)
            elif not dry_run:
                self._remove_or_block(connector, platform, action)
        if capped:
            outcome.notes.append(f"{len(actions)} followers are overdue, more than the cap of "
                                 f"{self.settings.followers.max_actions_per_run}: nobody was "
                                 "removed; check the parent list before raising the cap")
            if not dry_run:
                self.audit.record("followers.cap_reached", level="warning", platform=platform,
                                  overdue=len(actions), audience="admin")
                self.mailer.alert(
                    self.audit, f"Follower cap reached on {platform}", outcome.notes[-1])
        if not dry_run:
            self.audit.record("reconcile.followers", clause=self._clause(RULE_FOLLOWERS),
                              platform=platform, counts=outcome.counts, actions=len(outcome.actions),
                              capped=capped)
        return outcome

    def _within_budget(self, platform: str, outcome: Outcome, dry_run: bool) -> bool:
        """Whether the month's budget for `platform` still allows optional work (a follower
        scan); warn the administrators once a month at 80%, and say when it is used up."""
        budgets = Budgets(self.settings, self.settings.paths.state_dir, self.clock)
        if budgets.budget_usd(platform) is not None and not dry_run:
            self._record_spend(platform)
        share = budgets.share(platform)
        month = self.clock.now().strftime("%Y-%m")
        if share >= WARN_AT and not dry_run and \
                self.store.cursor(platform, "budget:warned") != month:
            self.store.set_cursor(platform, "budget:warned", month)
            budget = budgets.budget_usd(platform) or 0.0
            self.audit.record("budget.warning", level="warning", platform=platform,
                              share=round(share, 3), budget_usd=budget, audience="admin")
            self.mailer.alert(
                self.audit, f"The {platform} budget is {min(share, 1):.0%} used",
                f"Steward has spent {share:.0%} of this month's {platform} budget "
                f"(${budget:.2f}; `steward status` shows what on). At 100% follower scans and "
                "reply polling on old posts stop until the month ends; publishing and the "
                f"responses to live incidents never do. Raise {platform}.monthly_budget_usd "
                "if the school wants the checks to go on.")
        if share < 1.0:
            return True
        outcome.notes.append(f"this month's {platform} budget is used up: the follower scan "
                             "waits for next month (raise the budget to resume it)")
        return False

    def _record_spend(self, platform: str) -> None:
        """Put yesterday's spend on `platform` in the audit log, once (`spend.daily`), so the
        governors' report, which reads only the log, shows it per day and per operation."""
        yesterday = self.clock.now() - timedelta(days=1)
        day = yesterday.strftime("%Y-%m-%d")
        if self.store.cursor(platform, "spend:reported") == day:
            return
        spent = SpendLedger(self.settings.paths.state_dir, self.clock, platform).day(day)
        self.store.set_cursor(platform, "spend:reported", day)
        if spent:
            self.audit.record("spend.daily", platform=platform, day=day,
                              usd=round(sum(entry["usd"] for entry in spent.values()), 6),
                              operations={name: entry["usd"] for name, entry in spent.items()})

    def _remove_or_block(self, connector, platform: str, action) -> None:
        try:
            connector.block(action.user_id)
            if action.kind == "remove":
                connector.unblock(action.user_id)  # block then unblock removes a follower
        except ConnectorError as error:
            self.audit.record(f"follower.{action.kind}_failed", level="error", platform=platform,
                              user_id=action.user_id, reason=error.message, audience="admin")
            return
        self.store.forget_followers(platform, [action.user_id])
        self.audit.record("follower.removed" if action.kind == "remove" else "user.blocked",
                          clause=self._clause(RULE_FOLLOWERS), platform=platform,
                          user_id=action.user_id)

    # -- following ---------------------------------------------------------------------------

    def following(self, platform: str, dry_run: bool) -> Outcome | None:
        connector = self.connectors[platform]
        if not connector.capabilities.list_following:
            return None
        outcome = Outcome(platform, "following")
        following = [{"id": user.user_id, "username": user.handle, "name": user.name}
                     for user in connector.following()]
        actions = plan_following(following, self._organisations())
        for action in actions:
            outcome.actions.append(asdict(action))
            if dry_run:
                continue
            if connector.capabilities.unfollow:
                try:
                    connector.unfollow(action.user_id)
                    self.audit.record("following.unfollowed", clause=self._clause(RULE_FOLLOWING),
                                      platform=platform, user_id=action.user_id)
                    continue
                except ConnectorError as error:
                    outcome.notes.append(f"could not unfollow @{action.handle}: {error.message}")
            self._check(outcome, f"following:{platform}:{action.user_id}",
                        f"The school follows @{action.handle}, which is not a known "
                        "organisation: unfollow it.", dry_run)
        outcome.counts = {"to_unfollow": len(actions)}
        return outcome

    # -- settings ----------------------------------------------------------------------------

    def privacy_settings(self, platform: str, dry_run: bool) -> Outcome:
        """Compare what the platform tells of the account's settings with the school's table
        (`policies.settings_drift`). No platform lets an app change them (X has no settings
        endpoint on any plan), so what drifted, and what cannot be read, goes on the
        checklist for a person, with how to change it; a drift is also a warning."""
        connector = self.connectors[platform]
        outcome = Outcome(platform, "settings")
        account_settings = connector.read_settings() if connector.capabilities.read_settings \
            else AccountSettings()
        for item in drift(platform, account_settings.observed()):
            setting = item.setting
            key = f"settings:{platform}:{setting.key}"
            if item.observed is None:
                self._check(outcome, key, f"Steward cannot read '{setting.label}' by API: check "
                            f"it is {setting.desired!r}. {setting.how_to_change}", dry_run)
                continue
            if not dry_run:
                self.audit.record("settings.drift", level="warning",
                                  clause=self._clause(setting.rule), platform=platform,
                                  setting=setting.key, observed=item.observed)
            self._check(outcome, key, f"'{setting.label}' is {item.observed!r}, should be "
                        f"{setting.desired!r}: {setting.how_to_change} (no platform lets Steward "
                        "change it)", dry_run)
        outcome.counts = {"checked": sum(1 for s in SETTINGS if s.platform == platform),
                          "drifted": len(outcome.checklist)}
        return outcome

    # -- direct messages ---------------------------------------------------------------------

    def direct_messages(self, platform: str, dry_run: bool) -> Outcome | None:
        connector = self.connectors[platform]
        capabilities = connector.capabilities
        outcome = Outcome(platform, "direct_messages")
        if capabilities.read_direct_messages:
            since = self.store.cursor(platform, "dm:since")
            messages = connector.direct_messages(since)
            for message in messages:
                if message.sender_id:  # an unknown sender cannot be blocked
                    outcome.actions.append({"kind": "dm-block", "user_id": message.sender_id})
                if not dry_run:
                    self._record_dm(connector, platform, message)
            if messages and not dry_run:
                self.store.set_cursor(platform, "dm:since", str(max(
                    int(message.message_id) for message in messages)))
            outcome.counts = {"received": len(messages)}
            return outcome
        if capabilities.read_conversations:
            try:
                conversations = connector.conversations()
            except ConnectorError as error:
                outcome.notes.append(f"conversations cannot be read ({error.message})")
                conversations = []
            known = set(json.loads(self.store.cursor(platform, "conversations:seen") or "[]"))
            new = [item.conversation_id for item in conversations
                   if item.conversation_id not in known]
            for conversation in new:
                outcome.actions.append({"kind": "alert", "conversation": conversation})
                if not dry_run:
                    self.audit.record("dm.received", level="warning",
                                      clause=self._clause("direct-messages"), platform=platform,
                                      conversation=conversation, audience="DSL")
                    self.mailer.alert(
                        self.audit, f"A message arrived on the {platform} Page",
                        f"A new conversation ({conversation}) was started on the Page, "
                        "whose messaging should be switched off. Nobody should answer "
                        "it from the Page; read it in Meta Business Suite if needed, and "
                        "switch messaging off.", to_safeguarding=True)
            if new and not dry_run:
                self.store.set_cursor(platform, "conversations:seen",
                                      json.dumps(sorted(known | set(new))))
            outcome.counts = {"new_conversations": len(new)}
            return outcome
        return None

    def _record_dm(self, connector, platform: str, message: DirectMessage) -> None:
        reply = Reply(platform=platform, reply_id=message.message_id,
                      author_id=message.sender_id, author_handle=message.sender_id,
                      text=message.text, in_reply_to="direct message",
                      created_at=message.created_at, raw=message.raw)
        path, digest = self.evidence.save(reply, Verdict("act", 1.0, ("direct-message",)),
                                          self.clock.now())
        self.audit.record("dm.received", clause=self._clause("direct-messages"),
                          platform=platform, sender_id=reply.author_id,
                          evidence_sha256=digest, audience="DSL")
        try:
            if not reply.author_id:
                blocked = (f"{platform} did not say who sent it, so Steward could NOT block the "
                           "sender's messages: block them by hand in the account's messages.")
            else:
                connector.dm_block(reply.author_id)
                self.audit.record("user.dm_blocked", clause=self._clause("direct-messages"),
                                  platform=platform, user_id=reply.author_id)
                blocked = "The sender can no longer send the school direct messages."
        except ConnectorError as error:
            if isinstance(error, ConnectorBug):
                self._connector_bug(platform, "direct_messages", error)
            blocked = f"Steward could NOT block the sender's messages: {error.message}."
        self.mailer.alert(
            self.audit, f"A direct message arrived on {platform}",
            "Direct messages to the school's account should be off. Nobody should "
            f"answer this. {blocked}\nEvidence: {path} (SHA-256 {digest})\n\nThe message:"
            "\n\n" + "\n".join(f"> {line}" for line in reply.text.splitlines()),
            to_safeguarding=True)
