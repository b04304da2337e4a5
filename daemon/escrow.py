"""The escrow bundle: every credential and the accounts' person-only secrets, encrypted to each
recipient (head teacher, chair of governors, the active administrators), rebuilt whenever a
credential changes (Wightwick Hall: the accounts "remain property of the organisation").

The bundle is sealed with ChaCha20-Poly1305 under a fresh data key; the data key is wrapped for
each recipient's X25519 public key (`daemon.sealing.wrap_for`). Steward keeps each wrapping's
ephemeral private key sealed under the master key, so `verify` can prove that every current
recipient's key opens the current bundle without ever holding their private keys.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from config.settings import StewardSettings
from daemon.sealing import (
    SealError,
    b64,
    load_public,
    new_key,
    open_bundle_cipher,
    seal,
    seal_bundle,
    unb64,
    unseal,
    unwrap_with,
    unwrap_with_ephemeral,
    wrap_for,
)
from daemon.vault import Vault

BUNDLE = b"steward-escrow-bundle-v1"


class EscrowError(Exception):
    """The bundle cannot be made, opened or verified; the message says which and why."""


def bundle_path(settings: StewardSettings) -> Path:
    return settings.paths.state_dir / "escrow.json"


def current_recipients(settings: StewardSettings, inactive: set[str]) -> list:
    """Configured recipients, minus administrators a handover has removed."""
    return [recipient for recipient in settings.escrow.recipients
            if not (recipient.role == "administrator" and recipient.name in inactive)]


def rebuild(settings: StewardSettings, vault: Vault, inactive: set[str]) -> Path:
    """Seal everything in the vault for every current recipient; write atomically."""
    recipients = current_recipients(settings, inactive)
    if not recipients:
        raise EscrowError("no escrow recipients are configured ([[escrow.recipients]])")
    contents = {"school": settings.school.name,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "secrets": {name: {"kind": entry["kind"], "value": entry["value"],
                                   "set_at": entry["set_at"]}
                            for name, entry in vault.entries().items()}}
    data_key = new_key()
    nonce, ciphertext = seal_bundle(data_key, json.dumps(contents).encode(), BUNDLE)
    wrappings = []
    for recipient in recipients:
        wrapped = wrap_for(load_public(recipient.public_key), data_key, recipient.name.encode())
        wrappings.append({
            "name": recipient.name, "role": recipient.role, "public_key": recipient.public_key,
            "ephemeral_public": b64(wrapped.ephemeral_public), "nonce": b64(wrapped.nonce),
            "wrapped_key": b64(wrapped.ciphertext),
            "ephemeral_private_sealed": seal(vault.key, wrapped.ephemeral_private,
                                             b"escrow-ephemeral:" + recipient.name.encode())})
    bundle = {"version": 1, "created_at": contents["created_at"],
              "vault_fingerprint": vault.fingerprint(), "nonce": b64(nonce),
              "ciphertext": b64(ciphertext), "recipients": wrappings}
    path = bundle_path(settings)
    temporary = path.with_name("escrow.json.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(bundle, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def open_bundle(path: Path, private_key, name: str) -> dict:
    """Open the bundle with a recipient's private key (X25519)."""
    bundle = json.loads(Path(path).read_text(encoding="utf-8"))
    entry = next((item for item in bundle["recipients"] if item["name"] == name), None)
    if entry is None:
        raise EscrowError(f"the current bundle is not encrypted to '{name}' (removed by a "
                          "handover, or not a recipient)")
    try:
        data_key = unwrap_with(private_key, unb64(entry["ephemeral_public"]),
                               unb64(entry["nonce"]), unb64(entry["wrapped_key"]),
                               name.encode())
        plain = open_bundle_cipher(data_key, unb64(bundle["nonce"]),
                                   unb64(bundle["ciphertext"]), BUNDLE)
    except (SealError, ValueError) as error:
        raise EscrowError(f"this key does not open the bundle for '{name}' "
                          f"({error.__class__.__name__})") from None
    return json.loads(plain)


def verify(settings: StewardSettings, vault: Vault, inactive: set[str]) -> list[str]:
    """Problems with the current bundle (empty when every current recipient can open it and it
    holds the current credentials)."""
    path = bundle_path(settings)
    if not path.exists():
        return ["there is no escrow bundle yet (run steward escrow rebuild, or set a credential)"]
    bundle = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    if bundle.get("vault_fingerprint") != vault.fingerprint():
        problems.append("the bundle is older than the current credentials")
    wanted = {r.name: r for r in current_recipients(settings, inactive)}
    present = {item["name"]: item for item in bundle["recipients"]}
    for name in sorted(set(wanted) - set(present)):
        problems.append(f"'{name}' cannot open the bundle: not a recipient of it")
    for name in sorted(set(present) - set(wanted)):
        problems.append(f"'{name}' can still open the bundle but is no longer a recipient")
    for name in sorted(set(wanted) & set(present)):
        entry = present[name]
        if entry["public_key"] != wanted[name].public_key:
            problems.append(f"'{name}' has a new public key the bundle is not encrypted to")
            continue
        try:
            ephemeral = unseal(vault.key, entry["ephemeral_private_sealed"],
                               b"escrow-ephemeral:" + name.encode())
            data_key = unwrap_with_ephemeral(ephemeral, load_public(entry["public_key"]),
                                             unb64(entry["nonce"]), unb64(entry["wrapped_key"]),
                                             name.encode())
            open_bundle_cipher(data_key, unb64(bundle["nonce"]), unb64(bundle["ciphertext"]),
                               BUNDLE)
        except (SealError, ValueError, KeyError):
            problems.append(f"'{name}' cannot open the bundle: its wrapping does not decrypt")
    return problems


def rebuild_if_configured(settings: StewardSettings, store) -> bool:
    """Rebuild after a credential change, when there are recipients; say whether it did."""
    from daemon.handover import inactive_administrators  # noqa: PLC0415

    if not settings.escrow.recipients:
        return False
    rebuild(settings, Vault(settings), inactive_administrators(store))
    return True
