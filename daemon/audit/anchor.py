"""The anchor: Steward's record, outside the audit log, of the last checkpoint it signed.

A hash chain with signed checkpoints proves that what is in the log is what Steward wrote. It
cannot prove that nothing was taken away at the end: a log cut back to an earlier checkpoint,
or rewritten without any checkpoint, still verifies on its own. So each time the daemon signs a
checkpoint it also writes that checkpoint's place and hash (`seq`, `head`) into its database,
and at start it refuses a log that does not hold exactly that line there.

The anchor is only as far out of reach as the database: someone with the steward user's rights
can rewrite both. The anchors an attacker cannot reach are those that left the machine: the
checkpoint printed in every governors' report and in every alert e-mail (`describe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.audit.anchor_record import AuditAnchor, anchor_from_row, anchor_of
from daemon.runtime.clock import Clock

__all__ = ["DATABASE_NAME", "AnchorReset", "AnchorResetRefused", "AuditAnchor", "StateRecord",
           "anchor_from_row", "anchor_of", "read_state_record", "refusal_message", "reset_anchor"]

DATABASE_NAME = "steward.sqlite3"


@dataclass(frozen=True)
class StateRecord:
    """What the database says about the log: its anchor, and what Steward has done (for a log
    that holds no checkpoint at all, e.g. on an install from before anchors)."""

    anchor: AuditAnchor | None
    activity: str | None


def read_state_record(state_dir: Path) -> StateRecord:
    """The record in `state_dir`'s database, read only (an auditor may not be able to write
    there); an empty record when there is no database, or one from before anchors."""
    from daemon.runtime.store import NewerDatabaseError, Store, StoreError  # noqa: PLC0415

    database = Path(state_dir) / DATABASE_NAME
    if not database.is_file():
        return StateRecord(None, None)
    try:
        store = Store.open_read_only(database)
    except NewerDatabaseError:
        raise  # a newer Steward's record: not to be read as no record at all
    except StoreError:
        return StateRecord(None, None)
    try:
        return StateRecord(anchor_from_row(store.audit_anchor()), store.activity())
    except StoreError:
        return StateRecord(None, None)
    finally:
        store.close()


def refusal_message(report, state_dir: Path) -> str:
    """What the administrator reads when Steward refuses to start on its audit log
    (`report`, a ChainReport that did not verify): what is wrong, and what to do, in order."""
    state_dir = Path(state_dir)
    anchor = report.anchor
    record = (f" Steward's own record of its last signed checkpoint is {anchor.describe()}, "
              f"signed {anchor.signed_at}: compare it with the one in the last governors' "
              "report or alert e-mail (if those differ too, the database was changed as "
              "well)." if anchor else "")
    return (
        f"the audit log does not verify: {report.problem.describe()}.{record} "
        "Steward added nothing to it. What to do: (1) keep the evidence: copy "
        f"{state_dir / 'audit.jsonl'}, {state_dir / 'audit-archive'} and "
        f"{state_dir / 'audit-tampered'} off the machine before anything else; "
        "(2) either restore the log from a backup, or move the damaged files aside (e.g. into "
        f"{state_dir / 'audit.damaged'}/) to begin a new log; (3) record that decision, as "
        "the user Steward runs as: `steward audit reset-anchor --reason \"what happened and "
        "what you did\"` writes it into the log and the database; (4) start Steward again")


class AnchorResetRefused(Exception):
    """Nothing was changed; the message says why, for the administrator."""


@dataclass(frozen=True)
class AnchorReset:
    """What `reset_anchor` did: the event it recorded, the anchor before and the one now."""

    event: dict[str, Any]
    previous: AuditAnchor | None
    anchor: AuditAnchor | None


def reset_anchor(state_dir: Path, reason: str, *, mailer=None,
                 clock: Clock | None = None) -> AnchorReset:
    """`steward audit reset-anchor`: after Steward refused a log (cut short, restored from an
    older backup, or moved aside to begin anew), a person decides to carry on with the log as
    it now is. The decision is recorded where it cannot be missed: an `audit.anchor_reset`
    event (who, why, the anchor given up, what was wrong) appended to the log and signed at
    once, that checkpoint becoming the new anchor, and an e-mail to the administrators.

    Raise AnchorResetRefused, changing nothing, when no reason is given, the signing key or
    the database cannot be opened, the log matches the anchor (nothing to reset), or the log
    itself does not verify (it cannot be continued: move it aside first). `clock` stamps the
    event and the new anchor (the real one unless a test gives its own)."""

    from daemon.audit.chain import AuditLog, load_signing_key  # noqa: PLC0415
    from daemon.audit.verification import verify_chain  # noqa: PLC0415
    from daemon.runtime.access import person_behind_command  # noqa: PLC0415
    from daemon.runtime.keys import public_key_text  # noqa: PLC0415
    from daemon.runtime.store import Store, StoreError  # noqa: PLC0415

    state_dir = Path(state_dir)
    clock = clock or Clock()
    if not reason.strip():
        raise AnchorResetRefused("say why with --reason: it is kept in the log for auditors")
    key = load_signing_key(state_dir)
    if key is None:
        raise AnchorResetRefused("cannot read Steward's audit signing key, so the decision "
                                 "could not be signed: run this as the user Steward runs as "
                                 "(e.g. sudo -u steward)")
    try:
        store = Store(state_dir / DATABASE_NAME)
    except StoreError as error:
        raise AnchorResetRefused(str(error)) from None
    try:
        previous = anchor_from_row(store.audit_anchor())
        activity = store.activity()
        public = public_key_text(key)
        checked = verify_chain([state_dir], [public], open_tail=True, unsigned_ok=True,
                               anchor=previous, earlier_activity=activity)
        if checked.problem is None:
            raise AnchorResetRefused(
                "the audit log holds Steward's anchored "
                f"{previous.describe() if previous else 'record'}: nothing to reset")
        chain = verify_chain([state_dir], [public], open_tail=True, unsigned_ok=True)
        if chain.problem is not None:
            raise AnchorResetRefused(
                f"the log itself does not verify ({chain.problem.describe()}), so it cannot "
                f"be continued. Keep it as evidence: stop Steward (while it runs it puts a "
                f"moved log back), then move {state_dir / 'audit.jsonl'}, "
                f"{state_dir / 'audit-archive'} and {state_dir / 'audit-tampered'} aside (e.g. "
                f"into {state_dir / 'audit.damaged'}/), then run this again to begin a new log")

        def anchor(checkpoint: dict[str, Any]) -> None:
            store.set_audit_anchor(checkpoint["seq"], checkpoint["hash"], checkpoint["prev"],
                                   checkpoint["timestamp"], "audit.jsonl", clock.now())

        audit = AuditLog(state_dir / "audit.jsonl", clock, signing_key=key, on_checkpoint=anchor)
        try:
            event = audit.record(
                "audit.anchor_reset", level="warning", audience="admin", reason=reason,
                by=person_behind_command(),
                previous_anchor=previous.as_fields() if previous else None,
                earlier_activity=activity, problem=checked.problem.message,
                log_found=f"{chain.events} events, {chain.checkpoints} signed checkpoint(s)")
            audit.checkpoint("anchor-reset")
            if mailer is not None:
                mailer.alert(audit, "Audit log anchor reset", (
                    f"{event['by']} reset the record Steward keeps of its audit log's last "
                    f"checkpoint, at {event['timestamp']}.\n\nReason given: {reason}\n\n"
                    f"What was wrong: {checked.problem.message}\n\nThe record given up: "
                    f"{previous.describe() + ', signed ' + previous.signed_at if previous else 'none'}"
                    f".\nThe decision is event #{event['seq']} of the log, signed at once.\n"))
        finally:
            audit.close()
        return AnchorReset(event, previous, anchor_from_row(store.audit_anchor()))
    finally:
        store.close()
