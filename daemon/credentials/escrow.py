"""The escrow bundle: every credential and the accounts' person-only secrets, encrypted to each
recipient (head teacher, chair of governors, the active administrators), rebuilt whenever a
credential changes (Wightwick Hall: the accounts "remain property of the organisation").

Three files in the state directory, so that a holder needs no Steward to use them:

- `escrow.age`: the secrets as JSON, in the standard age format, encrypted to each recipient's
  age X25519 key: `age -d -i KEY-FILE escrow.age` opens it;
- `escrow.age.sig`: Steward's signature over the exact bytes of `escrow.age`, in OpenSSH's
  format (`daemon.credentials.ssh_signatures`): `steward escrow open` checks it against the Steward key the
  holder was given with their own key, before decrypting, and refuses a forged or altered
  bundle; `ssh-keygen -Y verify` checks it without Steward;
- `escrow.manifest.json` (+ `.sig`): who the bundle is for and which vault contents it holds,
  for `escrow verify`, which proves the bundle is current and encrypted to exactly the current
  recipients without any recipient's private key.

age is public-key encryption: anyone can encrypt a file to a holder's public key, so the
signature, not the encryption, is what makes a bundle Steward's.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from config.settings import StewardSettings
from daemon.credentials.sealing import (
    SealError,
    decrypt_with,
    encrypt_to,
    is_legacy_key,
    recipient_stanzas,
    recipient_text,
)
from daemon.credentials.ssh_signatures import SignatureFormatError, sign, signer_and_verdict
from daemon.credentials.vault import Vault
from daemon.runtime.clock import Clock
from daemon.runtime.keys import audit_signing_key, public_key_text
from daemon.runtime.store import Store

FORMAT = "steward-escrow-v2"
NAMESPACE = "steward-escrow"  # what the bundle's signature may be used for, and nothing else
MANIFEST_NAMESPACE = "steward-escrow-manifest"
OLD_BUNDLE = "escrow.json"  # before age: unsigned, Steward's own format


class EscrowError(Exception):
    """The bundle cannot be made, opened or verified; the message says which and why."""


class EscrowedSecret(BaseModel):
    """One secret as a holder sees it."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Literal["platform", "person"]
    value: str
    set_at: str

    @field_validator("set_at")
    @classmethod
    def _is_a_time(cls, value: str) -> str:
        datetime.fromisoformat(value)
        return value


class BundleContents(BaseModel):
    """What `escrow.age` decrypts to; anything else is refused, field by field."""

    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal["steward-escrow-v2"]
    school: str
    created_at: str
    recipients: list[str]
    secrets: dict[str, EscrowedSecret]

    @field_validator("created_at")
    @classmethod
    def _is_a_time(cls, value: str) -> str:
        datetime.fromisoformat(value)
        return value


def bundle_path(settings: StewardSettings) -> Path:
    return settings.paths.state_dir / "escrow.age"


def signature_path(bundle: Path) -> Path:
    return Path(str(bundle) + ".sig")


def manifest_path(settings: StewardSettings) -> Path:
    return settings.paths.state_dir / "escrow.manifest.json"


def current_recipients(settings: StewardSettings, inactive: set[str]) -> list:
    """Configured recipients, minus administrators a handover has removed."""
    return [recipient for recipient in settings.escrow.recipients
            if not (recipient.role == "administrator" and recipient.name in inactive)]


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def rebuild(settings: StewardSettings, vault: Vault, inactive: set[str],
            clock: Clock | None = None) -> Path:
    """Encrypt everything in the vault for every current recipient, sign it, write the bundle,
    its signature and its manifest (each atomically), and remove a bundle of the old format.
    `clock` dates the bundle (the real one unless a caller gives its own)."""
    recipients = current_recipients(settings, inactive)
    if not recipients:
        raise EscrowError("no escrow recipients are configured ([[escrow.recipients]])")
    created_at = (clock or Clock()).now().isoformat(timespec="seconds")
    contents = {"format": FORMAT, "school": settings.school.name, "created_at": created_at,
                "recipients": [recipient.name for recipient in recipients],
                "secrets": {name: {"kind": entry["kind"], "value": entry["value"],
                                   "set_at": entry["set_at"]}
                            for name, entry in sorted(vault.entries().items())}}
    try:
        keys = [recipient_text(recipient.public_key) for recipient in recipients]
        bundle = encrypt_to(json.dumps(contents, indent=2).encode("utf-8") + b"\n", keys)
    except SealError as error:
        raise EscrowError(f"the bundle cannot be encrypted: {error}") from None
    signing_key = audit_signing_key(settings.paths.state_dir)
    public = public_key_text(signing_key)
    manifest = json.dumps({
        "format": "steward-escrow-manifest-v2", "created_at": created_at,
        "vault_fingerprint": vault.fingerprint(),
        "bundle_sha256": hashlib.sha256(bundle).hexdigest(),
        "recipients": [{"name": recipient.name, "role": recipient.role, "recipient": key}
                       for recipient, key in zip(recipients, keys, strict=True)]},
        indent=1).encode("utf-8")
    path = bundle_path(settings)
    _write_atomically(path, bundle)
    _write_atomically(signature_path(path), sign(signing_key, public, bundle,
                                                 NAMESPACE).encode("ascii"))
    _write_atomically(manifest_path(settings), manifest)
    _write_atomically(signature_path(manifest_path(settings)),
                      sign(signing_key, public, manifest, MANIFEST_NAMESPACE).encode("ascii"))
    (settings.paths.state_dir / OLD_BUNDLE).unlink(missing_ok=True)
    return path


def _checked_signature(data: bytes, signature_file: Path, trusted: str, namespace: str,
                       what: str) -> None:
    """EscrowError unless `signature_file` holds a valid signature by `trusted` over `data`."""
    try:
        armoured = signature_file.read_text(encoding="ascii")
    except FileNotFoundError:
        raise EscrowError(f"{what} has no signature beside it ({signature_file.name}): without "
                          "it nobody can tell a genuine bundle from a forged one. Ask the "
                          "administrator for both files.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EscrowError(f"{signature_file}: cannot be read ({error.__class__.__name__})") \
            from None
    try:
        signer, valid = signer_and_verdict(armoured, data, namespace)
    except SignatureFormatError as error:
        raise EscrowError(f"{signature_file.name} is not a signature ({error}): treat {what} "
                          "as forged and do not use anything in it") from None
    if signer != trusted:
        raise EscrowError(f"{what} is NOT signed by the Steward key you hold: it is forged, or "
                          "Steward's key was replaced. Do not use anything in it; tell the head "
                          "teacher. (A genuinely new Steward key must be handed to you in "
                          "person, like the first one.)")
    if not valid:
        raise EscrowError(f"{what}'s signature does not match it: it was altered or forged "
                          "after Steward signed it. Do not use anything in it; tell the head "
                          "teacher.")


def read_contents(plain: bytes) -> dict:
    """The decrypted bundle, checked field by field; EscrowError says what is wrong."""
    try:
        contents = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EscrowError("the bundle opened but does not hold Steward's JSON: it is damaged") \
            from None
    try:
        return BundleContents.model_validate(contents).model_dump()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'the whole'}: "
            f"{problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors(include_input=False, include_url=False)[:5])
        raise EscrowError(f"the bundle opened but its contents are not what Steward writes "
                          f"({problems})") from None


def open_bundle(path: Path, identities: list[str], trusted_signer: str) -> dict:
    """Open a bundle with a holder's age identities, after checking that Steward's key (as the
    holder holds it, base64) signed its exact bytes. Raise EscrowError, in plain words, if it is
    unsigned, forged, altered, damaged, of the old format, or not for these keys."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise EscrowError(f"{path}: cannot be read ({error.strerror})") from None
    if data.lstrip().startswith(b"{"):
        raise EscrowError(f"{path} is an escrow bundle of Steward's old format, which cannot "
                          "be checked for forgery; ask the administrator for the current "
                          "escrow.age and escrow.age.sig (`steward escrow rebuild` makes them)")
    _checked_signature(data, signature_path(path), trusted_signer, NAMESPACE, "this bundle")
    try:
        plain = decrypt_with(data, identities)
    except SealError as error:
        hint = (" (a holder removed by a handover cannot open bundles made after it)"
                if "not encrypted to this key" in str(error) else "")
        raise EscrowError(f"the bundle does not open: {error}{hint}") from None
    return read_contents(plain)


def _manifest(settings: StewardSettings, trusted: str) -> dict:
    path = manifest_path(settings)
    try:
        data = path.read_bytes()
    except OSError:
        raise EscrowError("the bundle's manifest is missing: run `steward escrow rebuild`") \
            from None
    _checked_signature(data, signature_path(path), trusted, MANIFEST_NAMESPACE, "the manifest")
    try:
        manifest = json.loads(data)
        recipients = {item["name"]: item for item in manifest["recipients"]}
        if not all(isinstance(item["recipient"], str) for item in recipients.values()):
            raise TypeError
        return manifest | {"recipients": recipients}
    except (ValueError, KeyError, TypeError):
        raise EscrowError("the bundle's manifest is damaged: run `steward escrow rebuild`") \
            from None


def verify(settings: StewardSettings, vault: Vault, inactive: set[str]) -> list[str]:
    """Problems with the current bundle (empty when it is Steward's, unaltered, holds the
    current credentials and is encrypted to exactly the current recipients)."""
    path = bundle_path(settings)
    if not path.exists():
        if (settings.paths.state_dir / OLD_BUNDLE).exists():
            return ["the escrow bundle is in Steward's old, unsigned format (escrow.json): run "
                    "`steward escrow rebuild`, then give each holder Steward's key "
                    "(`steward escrow signer`)"]
        return ["there is no escrow bundle yet (run steward escrow rebuild, or set a credential)"]
    trusted = public_key_text(audit_signing_key(settings.paths.state_dir))
    data = path.read_bytes()
    try:
        _checked_signature(data, signature_path(path), trusted, NAMESPACE, "the bundle")
        manifest = _manifest(settings, trusted)
    except EscrowError as error:
        return [f"{error} (if nobody tampered with it, `steward escrow rebuild` makes a new one)"]
    problems = []
    if manifest.get("bundle_sha256") != hashlib.sha256(data).hexdigest():
        problems.append("the manifest describes another bundle: run `steward escrow rebuild`")
    if manifest.get("vault_fingerprint") != vault.fingerprint():
        problems.append("the bundle is older than the current credentials")
    wanted = {r.name: r for r in current_recipients(settings, inactive)}
    present = manifest["recipients"]
    for name in sorted(set(wanted) - set(present)):
        problems.append(f"'{name}' cannot open the bundle: not a recipient of it")
    for name in sorted(set(present) - set(wanted)):
        problems.append(f"'{name}' can still open the bundle but is no longer a recipient")
    for name in sorted(set(wanted) & set(present)):
        try:
            key = recipient_text(wanted[name].public_key)
        except SealError:
            key = None
        if present[name]["recipient"] != key:
            problems.append(f"'{name}' has a new public key the bundle is not encrypted to")
    if recipient_stanzas(data) != len(present):
        problems.append("the bundle is not encrypted to the recipients its manifest names: run "
                        "`steward escrow rebuild`")
    return problems


def key_format_notes(settings: StewardSettings) -> list[str]:
    """Advice for recipients whose public key is in the format of Steward before age."""
    notes = []
    for recipient in settings.escrow.recipients:
        if is_legacy_key(recipient.public_key):
            try:
                converted = recipient_text(recipient.public_key)
            except SealError:
                continue
            notes.append(f"'{recipient.name}' has a public key in Steward's older format; it "
                         f"still works, but write it as age prints it: public_key = "
                         f"\"{converted}\", and give them their key as an age file (`steward "
                         "escrow convert-key THEIR-OLD-KEY-FILE`), so that plain `age` opens "
                         "the bundle")
    return notes


def rebuild_if_configured(settings: StewardSettings, store: Store,
                          clock: Clock | None = None) -> bool:
    """Rebuild after a credential change, when there are recipients; say whether it did."""
    if not settings.escrow.recipients:
        return False
    rebuild(settings, Vault(settings), store.inactive_administrators(), clock)
    return True
