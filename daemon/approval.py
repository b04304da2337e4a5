"""SLT approval keys and signatures (Ed25519), the only code here that holds cryptography.

A key file is small TOML, readable by its owner only:

    # Steward approval key: keep this file private.
    name = "Deputy Head"
    private_key = "<base64 of the 32-byte Ed25519 seed>"

`steward keys new NAME` writes one and prints the public key for the configuration;
`steward sign POST --key FILE` appends a signature over `approval_manifest` (the post's bytes and
each image's SHA-256), so any edit after signing voids it.
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

from daemon.submission_reading import read_submission
from policies.findings import ApprovalEvidence
from policies.submission import (
    APPROVALS_FILE,
    APPROVALS_MARKER,
    Submission,
    approval_manifest,
)


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


def sign_submission(submission: Submission, key: ApprovalKey, max_media_bytes: int) -> None:
    """Append `key`'s signature to the submission (approvals.txt, or the single file's trailer).

    The signature covers the bytes the reader read (`submission`), so an image swapped after
    that is not signed. Raise ValueError if the submission cannot be signed (an image is
    missing or too large, or it was not read from a file).
    """
    if submission.origin is None:
        raise ValueError("only a post read from a file or folder can be signed")
    origin = submission.origin
    if not submission.is_folder and not submission.approvals:
        # The trailer marker must follow a newline that is already part of the signed bytes.
        with open(origin, "ab") as handle:
            if not submission.signed_bytes.endswith(b"\n"):
                handle.write(b"\n")
            handle.write(APPROVALS_MARKER)
        submission = read_submission(origin, "UTC", max(origin.stat().st_size, 1),
                                     name=submission.name, max_media_bytes=max_media_bytes)
    manifest = approval_manifest(submission, key.name)
    signature = base64.b64encode(key.private_key.sign(manifest)).decode("ascii")
    line = json.dumps({"signer": key.name, "signature": signature}, ensure_ascii=False) + "\n"
    target = origin / APPROVALS_FILE if submission.is_folder else origin
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(line)


def verify_approvals(submission: Submission, signers: dict[str, str]) -> ApprovalEvidence:
    """Check each signature against the configured public keys (name -> base64).

    Return the names of the signers whose signatures are valid, and a plain-English problem for
    each one that is not (unknown signer, edited after signing, damaged signature).
    """
    valid: list[str] = []
    problems: list[str] = []
    for record in submission.approvals:
        public = signers.get(record.signer)
        if public is None:
            problems.append(f"the signature by '{record.signer}' is not from a configured SLT "
                            "signer")
            continue
        try:
            manifest = approval_manifest(submission, record.signer)
        except ValueError:
            problems.append(f"the signature by '{record.signer}' cannot be checked: an image is "
                            "missing or unreadable")
            continue
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
            key.verify(base64.b64decode(record.signature, validate=True), manifest)
        except (InvalidSignature, ValueError):
            problems.append(f"the signature by '{record.signer}' does not match the post: it was "
                            "changed after signing, or the signature is damaged")
            continue
        valid.append(record.signer)
    return ApprovalEvidence(tuple(dict.fromkeys(valid)), tuple(problems))


def audit_signing_key(state_dir: Path) -> Ed25519PrivateKey:
    """Steward's own signing key (receipts now, audit checkpoints later), created on first use
    in the state directory, readable by Steward only."""
    path = Path(state_dir) / "audit-signing.key"
    if not path.exists():
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
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
            base64.b64decode(signature), data)
        return True
    except (InvalidSignature, ValueError):
        return False
