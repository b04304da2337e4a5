"""Handing the accounts over when an administrator leaves (Wightwick Hall: the accounts "remain
property of the organisation"; the named administrator must give the employer full access).

`steward handover --from OLD --to NEW --reason TEXT` runs these steps in order, each recorded as
done in SQLite before the next begins, each an audit event, so that a run interrupted anywhere
(kill -9 included) is finished by running the same command again, without repeating a step:

1. validate: OLD is an active administrator, NEW a configured one;
2. rotate-master-key: the vault re-encrypted under a new master key (crash-safe, see `vault`);
3. remove-old, add-new: OLD can no longer open the escrow bundle, NEW can;
4. revoke-tokens: what the platforms allow by API (X: the OAuth 1.0a token is invalidated);
5. re-escrow: the bundle rebuilt for the current recipients;
6. checklist: e-mailed and printed: what only a person can do on the platforms;
7. receipt: a JSON record signed with Steward's key (`steward audit pubkey` to check it).
"""

from __future__ import annotations

import json
from pathlib import Path

from config.settings import StewardSettings
from connectors.errors import ConnectorError
from daemon.approval import audit_signing_key, public_key_text, sign_bytes
from daemon.audit import AuditLog
from daemon.clock import Clock
from daemon.escrow import rebuild
from daemon.mail import Mailer, MailError
from daemon.store import Store, timestamp
from daemon.vault import Vault, key_id

STEPS = ("validate", "rotate-master-key", "remove-old", "add-new", "revoke-tokens",
         "re-escrow", "checklist", "receipt")
CLAUSE = "wightwick.accounts-belong-to-school"


class HandoverError(Exception):
    """The handover cannot go ahead; nothing was changed by the step that raised it."""


def inactive_administrators(store: Store) -> set[str]:
    return {row["name"] for row in store.query(
        "SELECT name FROM administrators WHERE active = 0")}


def checklist(settings: StewardSettings, old: str) -> list[str]:
    items = [
        f"Change the password of every account {old} knew (X, Facebook, the e-mail behind them) "
        "and store the new ones with `steward escrow add-secret`.",
        "Reset two-factor authentication on each account and escrow the new recovery codes.",
        f"Facebook: in Meta Business Suite > Settings > People, remove {old} from the Page and "
        "the business; review every remaining Page role.",
        "Facebook: there is no API to revoke a Page token: generate a new one and run "
        "`steward credentials set facebook.page_access_token`.",
    ]
    if settings.x.enabled:
        items.append("X: the old access token has been revoked. Re-authorise Steward in the X "
                     "developer portal and run `steward credentials set x.access_token` and "
                     "`x.access_token_secret` with the new ones.")
    return items


class Handover:
    def __init__(self, settings: StewardSettings, store: Store, audit: AuditLog, clock: Clock,
                 mailer: Mailer, connectors_factory) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self.clock = clock
        self.mailer = mailer
        self.connectors_factory = connectors_factory

    def run(self, old: str, new: str, reason: str) -> dict:
        row = self._open(old, new, reason)
        steps = json.loads(row["steps"])
        report: dict = {"id": row["id"], "from": old, "to": new, "reason": reason,
                        "steps": steps, "notes": []}
        for step in STEPS:
            if step in steps:
                continue
            result = getattr(self, "_" + step.replace("-", "_"))(old, new, report)
            steps[step] = {"done_at": self.clock.now().isoformat(timespec="seconds"),
                           "result": result}
            with self.store.transaction() as db:
                db.execute("UPDATE handovers SET steps = ? WHERE id = ?",
                           (json.dumps(steps), row["id"]))
            self.audit.record(f"handover.{step}", clause=CLAUSE, handover=row["id"],
                              old=old, new=new, result=result)
        with self.store.transaction() as db:
            db.execute("UPDATE handovers SET finished_at = ? WHERE id = ? AND finished_at IS "
                       "NULL", (timestamp(self.clock.now()), row["id"]))
        return report

    def _open(self, old: str, new: str, reason: str):
        rows = self.store.query("SELECT * FROM handovers WHERE old = ? AND new = ? AND "
                                "finished_at IS NULL ORDER BY id DESC", (old, new))
        if rows:
            return rows[0]  # an interrupted handover: finish it
        with self.store.transaction() as db:
            db.execute("INSERT INTO handovers (old, new, reason, started_at) VALUES (?, ?, ?, ?)",
                       (old, new, reason, timestamp(self.clock.now())))
        return self.store.query("SELECT * FROM handovers ORDER BY id DESC LIMIT 1")[0]

    # -- the steps ---------------------------------------------------------------------------

    def _validate(self, old: str, new: str, report: dict) -> str:
        administrators = {r.name: r for r in self.settings.escrow.recipients
                          if r.role == "administrator"}
        if new not in administrators:
            raise HandoverError(f"'{new}' is not a configured administrator: add them to "
                                "[[escrow.recipients]] with role = \"administrator\" and their "
                                "public key (steward escrow keygen) first")
        if old == new:
            raise HandoverError("the outgoing and incoming administrators are the same person")
        if old in inactive_administrators(self.store):
            raise HandoverError(f"'{old}' is no longer an administrator")
        if old not in administrators:
            raise HandoverError(f"'{old}' is not a configured administrator")
        return "ok"

    def _rotate_master_key(self, old: str, new: str, report: dict) -> str:
        vault = Vault(self.settings, create=True)
        how = vault.rotate()
        report["notes"].append(how)
        return f"new key {key_id(vault.key)}"

    def _set_active(self, name: str, active: bool) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO administrators VALUES (?, ?, ?) ON CONFLICT (name) DO "
                       "UPDATE SET active = excluded.active, changed_at = excluded.changed_at",
                       (name, int(active), timestamp(self.clock.now())))

    def _remove_old(self, old: str, new: str, report: dict) -> str:
        self._set_active(old, False)
        return f"{old} removed"

    def _add_new(self, old: str, new: str, report: dict) -> str:
        self._set_active(new, True)
        return f"{new} added"

    def _revoke_tokens(self, old: str, new: str, report: dict) -> str:
        results = []
        with self.connectors_factory() as connectors:
            connector = connectors.get("x")
            if connector is not None and hasattr(connector, "invalidate_token"):
                try:
                    connector.invalidate_token()
                    results.append("x: access token revoked")
                except ConnectorError as error:
                    results.append(f"x: could not revoke ({error.message}); revoke it in the "
                                   "developer portal")
        results.append("facebook: no API to revoke a Page token (on the checklist)")
        return "; ".join(results)

    def _re_escrow(self, old: str, new: str, report: dict) -> str:
        path = rebuild(self.settings, Vault(self.settings),
                       inactive_administrators(self.store))
        return f"bundle rebuilt: {path.name}"

    def _checklist(self, old: str, new: str, report: dict) -> str:
        items = checklist(self.settings, old)
        report["checklist"] = items
        body = "\n".join([f"Handover of {self.settings.school.name}'s social media accounts "
                          f"from {old} to {new} ({report['reason']}).", "",
                          "Steward has rotated its master key, removed the outgoing "
                          "administrator from the escrow and revoked what the platforms allow. "
                          "A person must now:", ""] + [f"  - {item}" for item in items])
        recipients = [r.email for r in self.settings.escrow.recipients if r.email] + list(
            self.settings.mail.administrators)
        try:
            channel = self.mailer.send(recipients, "[Steward] Handover checklist", body)
        except MailError as error:
            channel = f"failed ({error})"
        return f"{len(items)} items, sent by {channel}"

    def _receipt(self, old: str, new: str, report: dict) -> str:
        key = audit_signing_key(self.settings.paths.state_dir)
        folder = self.settings.paths.state_dir / "handovers"
        folder.mkdir(exist_ok=True)
        record = {key: value for key, value in report.items() if key != "steps"} | {
            "steps": dict(report["steps"]), "signed_by": public_key_text(key),
            "signed_at": self.clock.now().isoformat(timespec="seconds")}
        body = json.dumps(record, sort_keys=True, indent=1).encode("utf-8")
        path = folder / f"handover-{report['id']}.json"
        path.write_bytes(body)
        Path(str(path) + ".sig").write_text(sign_bytes(key, body) + "\n", encoding="ascii")
        report["receipt"] = str(path)
        return path.name
