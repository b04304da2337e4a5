"""Requests about earlier posts, handed in like posts and signed by SLT keys (issue 18):
`cancel = "ID"` stops a post that has not started going out; `unpublish = "ID"` deletes a
published post on every platform where it went out. A re-submission under the name of a
scheduled post replaces it, once the new one is accepted (`replace_earlier`).

Who may ask: one valid signature of a configured SLT signer cancels; unpublishing needs as many
as a post does (approval.approvals_required). Every outcome is audited with who asked
(`post.cancelled`, `submission.replaced`, `post.unpublished` per platform).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.settings import StewardSettings
from connectors.domain import PostRef
from connectors.errors import ConnectorError, Rejected, Unsupported
from connectors.protocol import Connector
from daemon.audit.chain import AuditLog
from daemon.posts.approval import verify_approvals
from daemon.posts.media_fixing import CLEAN_FOLDER
from daemon.posts.notices import CANCELLED_SUFFIX, share
from daemon.posts.publishing import unique_path, write_notice
from daemon.runtime.clock import Clock
from daemon.runtime.store import Store, StoredSubmission
from policies.displayed_text import visible
from policies.findings import Finding
from policies.submission import Submission


@dataclass(frozen=True)
class Outcome:
    """What a request came to: the answer for the SLT, or why it was refused."""

    answer: str = ""
    findings: tuple[Finding, ...] = ()


def _refused(problem: str, fix: str, rule: str = "slt-approval") -> Outcome:
    return Outcome(findings=(Finding(rule, "steward.format", problem, fix),))


class Requests:
    """Carries out cancel and unpublish requests, and replacements by name."""

    def __init__(self, settings: StewardSettings, store: Store, audit: AuditLog, clock: Clock,
                 connectors: Callable[[], dict[str, Connector]]) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self.clock = clock
        self.connectors = connectors

    def handle(self, submission: Submission) -> Outcome:
        """Check the request's signatures and carry it out."""
        assert submission.request is not None
        kind, target = submission.request
        signers = {signer.name: signer.public_key for signer in self.settings.approval.signers}
        evidence = verify_approvals(submission, signers)
        who = tuple(evidence.valid_signers)
        need = 1 if kind == "cancel" else self.settings.approval.approvals_required
        if len(who) < need:
            return _refused(
                f"the request to {kind} '{visible(target)}' has {len(who)} valid SLT "
                f"signature(s) but needs {need}",
                f"Sign it with a configured SLT key: steward {kind} {visible(target)} --sign "
                "~/YOUR.key" + (" --sign ~/SECOND.key" if need > 1 else "") + ".")
        found = self._find(target)
        if found is None:
            return _refused(f"there is no post '{visible(target)}' to {kind}",
                            "Use the ID from the acceptance notice (accepted/NAME.accepted.txt) "
                            "or the post's name as it was submitted.", rule="submission-format")
        if kind == "cancel":
            return self._cancel(found, who)
        return self._unpublish(found, who)

    def _find(self, target: str) -> StoredSubmission | None:
        by_id = self.store.submission(target)
        if by_id is not None:
            return by_id
        named = self.store.submissions_named(target)
        return named[0] if named else None

    # -- cancel ------------------------------------------------------------------------------

    def _cancel(self, submission: StoredSubmission, who: tuple[str, ...]) -> Outcome:
        deliveries = self.store.deliveries(submission.id)
        if submission.status == "cancelled":
            return Outcome(answer=f"'{visible(submission.name)}' ({submission.id}) was already "
                           "cancelled; nothing was published.\n")
        if any(delivery.state in ("sent", "sending") for delivery in deliveries) or \
                submission.status not in ("scheduled", "held"):
            return _refused(
                f"'{visible(submission.name)}' ({submission.id}) has already gone out, or is "
                "going out now, so it can no longer be cancelled",
                f"To delete it from the platforms: steward unpublish {submission.id} --sign "
                "~/YOUR.key", rule="publishing")
        self.cancel(submission, who, event="post.cancelled")
        local = submission.publish_at.astimezone(ZoneInfo(self.settings.school.time_zone))
        return Outcome(answer=(
            f"Steward cancelled '{visible(submission.name)}' ({submission.id}), due "
            f"{local:%A %d %B %Y at %H:%M %Z}; nothing of it was published.\n"
            f"Cancelled at the request of: {', '.join(visible(name) for name in who)}\n"))

    def cancel(self, submission: StoredSubmission, who: tuple[str, ...], *, event: str,
               **fields: Any) -> None:
        """Stop every delivery not yet started, move the queued copy to the rejected folder
        with a note, and audit `event` (post.cancelled, or submission.replaced)."""
        now = self.clock.now()
        for delivery in self.store.deliveries(submission.id):
            self.store.transition(submission.id, delivery.platform, ("pending", "held"),
                                  "cancelled", now, last_error=f"cancelled ({event})")
        self.store.set_submission_status(submission.id, "cancelled")
        moved = self._move_out(submission)
        self.audit.record(event, clause=self.settings.policy.clause_id("publishing"),
                          submission=submission.id, name=submission.name, by=list(who),
                          moved_to=str(moved) if moved else None, audience="SLT", **fields)

    def _move_out(self, submission: StoredSubmission) -> Path | None:
        """Move Steward's queued copy (`<state>/queue/ID/NAME`) to the rejected folder, where
        the SLT see it, with `NAME.cancelled.txt` beside it."""
        container = self.settings.paths.state_dir / "queue" / submission.id
        if not container.exists():
            return None
        post = container / submission.name
        rejected = self.settings.paths.resolved("rejected")
        rejected.mkdir(parents=True, exist_ok=True)
        target = unique_path(rejected / submission.name)
        if os.path.lexists(post):
            shutil.rmtree(post / CLEAN_FOLDER, ignore_errors=True)
            shutil.move(str(post), target)
            group = rejected.stat().st_gid
            for root, _folders, files in os.walk(target):
                for entry in (root, *(os.path.join(root, name) for name in files)):
                    try:
                        os.chown(entry, -1, group)
                    except PermissionError:
                        pass
            if target.is_file():
                share(target)
        shutil.rmtree(container, ignore_errors=True)
        note = target.with_name(target.name + CANCELLED_SUFFIX)
        write_notice(note, f"Steward cancelled '{visible(submission.name)}' "
                     f"({submission.id}); it was never published.\n")
        share(note)
        self.store.move_submission_folder(submission.id, target)
        return target

    def replace_earlier(self, name: str, new_id: str, who: tuple[str, ...]) -> list[str]:
        """The post `new_id` was accepted under `name`: cancel the earlier posts of that name
        that have not started going out (audited `submission.replaced`); return their ids."""
        replaced = []
        for earlier in self.store.submissions_named(name):
            if earlier.id == new_id or earlier.status not in ("scheduled", "held"):
                continue
            deliveries = self.store.deliveries(earlier.id)
            if any(d.state != "pending" or d.attempts for d in deliveries
                   if earlier.status == "scheduled"):
                continue
            self.cancel(earlier, who, event="submission.replaced", replaced_by=new_id)
            replaced.append(earlier.id)
        return replaced

    # -- unpublish ---------------------------------------------------------------------------

    def delete_everywhere(self, submission: StoredSubmission, **audited: Any
                          ) -> tuple[list[str], list[str], list[str]]:
        """Delete the post on every platform where it is still up, each delete committed
        (`sent -> deleted`) and audited `post.unpublished` with `audited`; a failure is audited
        `post.unpublish_failed` and left `sent`, so asking again deletes what is still there.
        Return what was deleted, what failed (may pass), and the platforms whose API cannot
        delete (a person must: `Unsupported`)."""
        connectors = self.connectors()
        lines: list[str] = []
        failures: list[str] = []
        cannot: list[str] = []
        for delivery in self.store.deliveries(submission.id):
            if delivery.state != "sent" or not delivery.remote_id:
                continue
            connector = connectors.get(delivery.platform)
            fields: dict[str, Any] = {"submission": submission.id, "name": submission.name,
                      "platform": delivery.platform, "remote_id": delivery.remote_id,
                      "clause": self.settings.policy.clause_id("publishing")} | audited
            try:
                if connector is None:
                    raise ConnectorError(delivery.platform, "it is not enabled any more")
                connector.delete(PostRef(delivery.platform, str(delivery.remote_id),
                                         delivery.url or ""))
            except Unsupported as error:
                self.audit.record("post.unpublish_unsupported", level="error",
                                  reason=error.message, audience="SLT", **fields)
                cannot.append(f"{delivery.platform}: {delivery.url or delivery.remote_id}")
                continue
            except ConnectorError as error:
                if not (isinstance(error, Rejected) and connector is not None
                        and self._gone(connector, str(delivery.remote_id))):
                    self.audit.record("post.unpublish_failed", level="error",
                                      reason=error.message, audience="SLT", **fields)
                    failures.append(f"{delivery.platform}: NOT deleted ({error.message})")
                    continue
                fields["already_gone"] = True  # deleted before a crash, or by a person
            self.store.transition(submission.id, delivery.platform, ("sent",), "deleted",
                                  self.clock.now(), last_error=None)
            self.audit.record("post.unpublished", url=delivery.url, **fields)
            lines.append(f"{delivery.platform}: deleted {delivery.url or delivery.remote_id}")
        return lines, failures, cannot

    @staticmethod
    def _gone(connector: Connector, remote_id: str) -> bool:
        """Whether a post the platform refused to delete is no longer there (Steward deleted
        it and stopped before recording so, or a person did): then it counts as deleted."""
        try:
            return connector.get_post(remote_id) is None
        except ConnectorError:
            return False

    def _unpublish(self, submission: StoredSubmission, who: tuple[str, ...]) -> Outcome:
        sent = [d for d in self.store.deliveries(submission.id)
                if d.state == "sent" and d.remote_id]
        if not sent:
            return _refused(
                f"'{visible(submission.name)}' ({submission.id}) is not on any platform",
                f"If it has not gone out yet, cancel it instead: steward cancel {submission.id} "
                "--sign ~/YOUR.key", rule="publishing")
        lines, failures, cannot = self.delete_everywhere(submission, by=list(who))
        failures += [f"{where}: NOT deleted (its API cannot delete posts; delete it by hand)"
                     for where in cannot]
        if failures:
            return _refused(
                f"'{visible(submission.name)}' was not deleted everywhere: "
                + "; ".join(lines + failures),
                f"Try again later: steward unpublish {submission.id} --sign ~/YOUR.key (it "
                "deletes what is still there); if it keeps failing, tell IT.", rule="publishing")
        self.store.set_submission_status(submission.id, "unpublished")
        return Outcome(answer=(f"Steward deleted '{visible(submission.name)}' "
                               f"({submission.id}) everywhere it went out:\n"
                               + "".join(f"  {line}\n" for line in lines)
                               + f"At the request of: {', '.join(who)}\n"))

