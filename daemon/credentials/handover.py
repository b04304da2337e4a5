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

The outgoing administrator could read every secret in the vault (their copy of an escrow
bundle holds them all, and no re-encryption takes a copy back). So the checklist's items are
kept in the store (`checklist`, keys `handover:ID:ITEM`) until a person confirms each with
`steward handover confirm KEY` (audited); until then `escrow verify`, `credentials check` and
the daemon's daily check report them and fail. An item that names vault secrets (the Page token,
the X app's keys) cannot be confirmed while the vault still holds a value set before the
handover began: the new value must be stored first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from config.settings import StewardSettings
from connectors.errors import ConnectorError
from daemon.audit.chain import AuditLog
from daemon.credentials.escrow import rebuild
from daemon.credentials.vault import Vault, key_id
from daemon.runtime.clock import Clock
from daemon.runtime.keys import audit_signing_key, public_key_text, sign_bytes
from daemon.runtime.mail import Mailer, MailError
from daemon.runtime.store import Store, StoredHandover
from policies.clauses import DEFAULT_CATALOGUE, ClauseCatalogue

STEPS = ("validate", "rotate-master-key", "remove-old", "add-new", "revoke-tokens",
         "re-escrow", "checklist", "receipt")
RULE = "credentials"  # its clause is the school's (policy.rules.credentials)


class HandoverError(Exception):
    """The handover cannot go ahead; nothing was changed by the step that raised it."""


def inactive_administrators(store: Store) -> set[str]:
    """The administrators who have handed over (`Store.inactive_administrators`)."""
    return store.inactive_administrators()


@dataclass(frozen=True)
class RotationItem:
    """One thing a person must do after a handover."""

    slug: str
    platform: str
    text: str


# The vault entries each item is about: they must hold values set after the handover began
# before a person can confirm the item.
SECRETS_BY_ITEM = {
    "facebook-page-token": ("facebook.page_access_token",),
    "x-app-keys": ("x.consumer_key", "x.consumer_secret", "x.access_token",
                   "x.access_token_secret", "x.oauth2_client_secret", "x.oauth2_access_token",
                   "x.oauth2_refresh_token"),
    "mail-password": ("mail.password",),
    "facebook-app-secret": ("facebook.app_secret",),
}


def rotation_items(settings: StewardSettings, old: str,
                   vault_names: frozenset[str] = frozenset()) -> list[RotationItem]:
    """What a person must do on the platforms after `old` hands over, in plain words
    (`vault_names`: what the vault holds, for the secrets the configuration does not)."""
    items = [
        RotationItem("account-passwords", "accounts",
                     f"Change the password of every account {old} knew (X, Facebook, the e-mail "
                     "behind them) and store the new ones with `steward escrow add-secret`."),
        RotationItem("two-factor", "accounts",
                     "Reset two-factor authentication on each account and escrow the new "
                     "recovery codes (`steward escrow add-secret x.recovery-codes`)."),
    ]
    if settings.facebook.enabled:
        items.append(RotationItem(
            "facebook-page-token", "facebook",
            f"Facebook: the Page token {old} could read still works until it is made to stop "
            "(there is no API to revoke it). In Meta Business Suite > Settings > People, "
            f"remove {old} from the Page and the business (tokens issued through their account "
            "stop working) and review every remaining role; if the token is a system user's, "
            "revoke it (Business settings > System users > Revoke tokens). Then generate a new "
            "Page token and run `steward credentials set facebook.page_access_token`."))
    if settings.facebook.enabled and (settings.facebook.app_secret is not None
                                      or "facebook.app_secret" in vault_names):
        items.append(RotationItem(
            "facebook-app-secret", "facebook",
            f"Facebook: {old} could read the Meta app's secret. In the Meta developer dashboard "
            "> the app > App settings > Basic, reset the App secret and run `steward "
            "credentials set facebook.app_secret`."))
    if settings.x.enabled:
        if settings.x.oauth2_client_id:
            how = ("regenerate the OAuth 2.0 Client Secret (Keys and tokens > OAuth 2.0 Client "
                   "ID and Client Secret > Regenerate) and run `steward credentials set "
                   "x.oauth2_client_secret`; then authorise the school's account again and "
                   "store the new tokens (`x.oauth2_access_token`, `x.oauth2_refresh_token`)")
        else:
            how = ("regenerate the API Key and Secret (Keys and tokens > Consumer Keys > "
                   "Regenerate; the old pair stops working) and run `steward credentials set "
                   "x.consumer_key` and `x.consumer_secret`; then regenerate the account's "
                   "Access Token and Secret and store them (`x.access_token`, "
                   "`x.access_token_secret`)")
        items.append(RotationItem(
            "x-app-keys", "x",
            f"X: {old} could read the app's keys, which Steward cannot revoke by API (the "
            "account's token was revoked). In the X developer portal > Projects & Apps > the "
            f"app, {how}."))
    if settings.mail.password is not None or "mail.password" in vault_names:
        account = settings.mail.username or settings.mail.smtp_host
        items.append(RotationItem(
            "mail-password", "mail",
            "E-mail: change the password of the mail account Steward sends from"
            + (f" ({account})" if account else "") + " and run `steward credentials set "
            "mail.password`."))
    return items


def item_key(handover: int, slug: str) -> str:
    return f"handover:{handover}:{slug}"


def _parse_key(key: str) -> tuple[int, str] | None:
    parts = key.split(":")
    if len(parts) != 3 or parts[0] != "handover" or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2]


def _set_at(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["set_at"])


def secrets_still_old(store: Store, vault: Vault | None, key: str) -> list[str]:
    """The vault secrets item `key` names whose value was set before its handover began (so the
    outgoing administrator could read it); empty without a vault to look in."""
    parsed = _parse_key(key)
    if parsed is None or vault is None:
        return []
    number, slug = parsed
    handover = store.handover(number)
    if handover is None:
        return []
    names = SECRETS_BY_ITEM.get(slug, ())
    began = handover.started_at
    entries = vault.entries()
    return [name for name in names if name in entries and _set_at(entries[name]) < began]


def outstanding(store: Store, vault: Vault | None) -> list[str]:
    """One line per unconfirmed handover item, saying exactly what to do and how to confirm."""
    handovers = {handover.id: handover for handover in store.handovers()}
    lines = []
    for item in store.open_checklist_items("handover:"):
        parsed = _parse_key(item.key)
        handover = handovers.get(parsed[0]) if parsed else None
        since = (f"since {handover.old} handed over on {handover.started_at:%Y-%m-%d}"
                 if handover else "after a handover")
        old = secrets_still_old(store, vault, item.key)
        still = (f" Steward still holds the old {', '.join(old)}." if old else "")
        lines.append(f"OUTSTANDING {since}: {item.text}{still} When it is done: `steward "
                     f"handover confirm {item.key}`")
    return lines


def confirm(store: Store, audit: AuditLog, clock: Clock, vault: Vault | None, key: str,
            by: str, clauses: ClauseCatalogue = DEFAULT_CATALOGUE) -> str:
    """A person confirms a handover item; HandoverError (nothing changed) when there is no such
    open item, or while the vault still holds a secret the outgoing administrator could read."""
    item = store.checklist_item(key)
    if item is None or _parse_key(key) is None:
        raise HandoverError(f"there is no handover item '{key}' (`steward escrow verify` lists "
                            "the outstanding ones)")
    if item.resolved_at is not None:
        return f"{key} was already confirmed on {item.resolved_at:%Y-%m-%d}"
    old = secrets_still_old(store, vault, key)
    if old:
        commands = " and ".join(f"`steward credentials set {name}`" for name in old)
        raise HandoverError(f"not confirmed: the vault still holds {', '.join(old)} from before "
                            f"the handover, which the outgoing administrator could read. Do "
                            f"what the item says, store the new values ({commands}), then "
                            "confirm again.")
    store.resolve_checklist_item(key, clock.now())
    audit.record("handover.item_confirmed", clause=clauses.clause_id(RULE), key=key, by=by)
    return f"{key}: confirmed, recorded in the audit log as done by {by}"


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
        handover = self._open(old, new, reason)
        steps = handover.steps
        report: dict = {"id": handover.id, "from": old, "to": new, "reason": reason,
                        "steps": steps, "notes": []}
        for step in STEPS:
            if step in steps:
                continue
            result = getattr(self, "_" + step.replace("-", "_"))(old, new, report)
            steps[step] = {"done_at": self.clock.now().isoformat(timespec="seconds"),
                           "result": result}
            self.store.set_handover_steps(handover.id, steps)
            self.audit.record(f"handover.{step}", clause=self.settings.policy.clause_id(RULE),
                              handover=handover.id, old=old, new=new, result=result)
        self.store.finish_handover(handover.id, self.clock.now())
        return report

    def _open(self, old: str, new: str, reason: str) -> StoredHandover:
        interrupted = self.store.unfinished_handover(old, new)
        if interrupted is not None:
            return interrupted  # finish it
        return self.store.start_handover(old, new, reason, self.clock.now())

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
        self.store.set_administrator_active(name, active, self.clock.now())

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
                       inactive_administrators(self.store), self.clock)
        return f"bundle rebuilt: {path.name}"

    def _checklist(self, old: str, new: str, report: dict) -> str:
        items = rotation_items(self.settings, old, frozenset(Vault(self.settings).entries()))
        for item in items:  # open until a person confirms each (`steward handover confirm`)
            self.store.add_checklist_item(item_key(report["id"], item.slug), item.platform,
                                          item.text, self.clock.now())
        report["checklist"] = [item.text for item in items]
        report["checklist_keys"] = [item_key(report["id"], item.slug) for item in items]
        body = "\n".join([f"Handover of {self.settings.school.name}'s social media accounts "
                          f"from {old} to {new} ({report['reason']}).", "",
                          "Steward has rotated its master key, removed the outgoing "
                          "administrator from the escrow and revoked what the platforms allow. "
                          f"{old} may still hold a copy of an older escrow bundle, whose "
                          "secrets work until they are changed. A person must now do each of "
                          "these, then confirm it with `steward handover confirm KEY` (Steward "
                          "reports every unconfirmed one daily):", ""]
                         + [f"  - {item.text}\n    KEY: {item_key(report['id'], item.slug)}"
                            for item in items])
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
