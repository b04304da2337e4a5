"""Ed25519 keys, for SLT approvals and for Steward's own signatures (audit checkpoints, escrow
bundles, handover receipts) alike: the only code that holds the signature primitives.

An approval key file is small TOML, readable by its owner only:

    # Steward approval key: keep this file private.
    name = "Deputy Head"
    private_key = "<base64 of the 32-byte Ed25519 seed>"

`steward keys new NAME` writes one and prints the public key for the configuration. Steward's
own key (`audit-signing.key`) is created in the state directory on first use.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from daemon.runtime.ownership import refuse_to_write_as_another_user


class ApprovalKeyError(Exception):
    """A key file cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class ApprovalKey:
    """A signer's name and private key."""

    name: str
    private_key: Ed25519PrivateKey

    def public_key_base64(self) -> str:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")


def new_key(name: str, path: Path) -> ApprovalKey:
    """Create a key for `name` at `path` (mode 0600); refuse to overwrite an existing file."""
    key = ApprovalKey(name, Ed25519PrivateKey.generate())
    seed = key.private_key.private_bytes_raw()
    content = ("# Steward approval key: keep this file private. Whoever holds it can approve "
               "posts.\n" f"name = {json.dumps(name)}\n"
               f"private_key = \"{base64.b64encode(seed).decode('ascii')}\"\n")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
    return key


def load_key(path: Path) -> ApprovalKey:
    """Read a key file; refuse one that others can read."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise ApprovalKeyError(f"{path}: cannot be read ({error.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ApprovalKeyError(f"{path}: other users can read this key file; run `chmod 600 {path}` "
                        "(and make a new key if others may have copied it)")
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        seed = base64.b64decode(data["private_key"], validate=True)
        return ApprovalKey(str(data["name"]), Ed25519PrivateKey.from_private_bytes(seed))
    except (ValueError, KeyError, TypeError, tomllib.TOMLDecodeError):
        raise ApprovalKeyError(f"{path}: not a Steward approval key file") from None


def audit_signing_key(state_dir: Path) -> Ed25519PrivateKey:
    """Steward's own signing key (audit checkpoints, escrow bundles, handover receipts),
    created on first use in the state directory, readable by Steward only."""
    path = Path(state_dir) / "audit-signing.key"
    if not path.exists():
        refuse_to_write_as_another_user(Path(state_dir))
        key = Ed25519PrivateKey.generate()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(key.private_bytes_raw()).decode("ascii") + "\n")
        return key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_text().strip()))


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def sign_bytes(key: Ed25519PrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data)).decode("ascii")


def verify_signature(public_key: str, data: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is `public_key`'s (base64) over `data`; False for a wrong
    or damaged one, never an exception."""
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
            base64.b64decode(signature, validate=True), data)
        return True
    except (InvalidSignature, ValueError):
        return False
