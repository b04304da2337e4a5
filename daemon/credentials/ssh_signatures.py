"""Detached signatures in OpenSSH's format (PROTOCOL.sshsig), made with Steward's Ed25519 key.

Why this format: an escrow holder can check a bundle with nothing but OpenSSH, which every
Linux, macOS and Windows 10+ machine has:

    ssh-keygen -Y verify -f steward.allowed_signers -I steward -n steward-escrow \\
        -s escrow.age.sig < escrow.age

Only the wire format is written here (length-prefixed strings, base64 armour); the signature
itself is Ed25519 from `daemon.posts.approval` (the `cryptography` library). The signed message is
SHA-512 of the file, framed with a namespace, so a signature made for one purpose (escrow) can
never be replayed as another.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import textwrap

from daemon.runtime.keys import sign_bytes, verify_signature

MAGIC = b"SSHSIG"
KEY_TYPE = b"ssh-ed25519"
HASH = b"sha512"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
PRINCIPAL = "steward"


class SignatureFormatError(Exception):
    """The text is not an OpenSSH signature Steward can read."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _strings(blob: bytes) -> list[bytes]:
    """Split a run of length-prefixed strings; SignatureFormatError if it does not split."""
    parts, offset = [], 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            raise SignatureFormatError("truncated")
        (length,) = struct.unpack(">I", blob[offset:offset + 4])
        offset += 4
        if offset + length > len(blob):
            raise SignatureFormatError("truncated")
        parts.append(blob[offset:offset + length])
        offset += length
    return parts


def _public_blob(public_key: str) -> bytes:
    raw = base64.b64decode(public_key, validate=True)
    if len(raw) != 32:
        raise ValueError("not an Ed25519 public key")
    return _string(KEY_TYPE) + _string(raw)


def openssh_public_key(public_key: str) -> str:
    """Steward's public key (base64, as `steward audit pubkey` prints it) in OpenSSH's form."""
    return f"{KEY_TYPE.decode()} {base64.b64encode(_public_blob(public_key)).decode('ascii')}"


def allowed_signers_line(public_key: str, namespace: str) -> str:
    """One line of an `allowed_signers` file for `ssh-keygen -Y verify -I steward`."""
    return f'{PRINCIPAL} namespaces="{namespace}" {openssh_public_key(public_key)}'


def _signed_data(message: bytes, namespace: str) -> bytes:
    return (MAGIC + _string(namespace.encode()) + _string(b"") + _string(HASH)
            + _string(hashlib.sha512(message).digest()))


def sign(private_key, public_key: str, message: bytes, namespace: str) -> str:
    """An armoured OpenSSH signature of `message` (the exact bytes) for `namespace`."""
    signature = base64.b64decode(sign_bytes(private_key, _signed_data(message, namespace)))
    blob = (MAGIC + struct.pack(">I", 1) + _string(_public_blob(public_key))
            + _string(namespace.encode()) + _string(b"") + _string(HASH)
            + _string(_string(KEY_TYPE) + _string(signature)))
    body = textwrap.fill(base64.b64encode(blob).decode("ascii"), 70)
    return f"{BEGIN}\n{body}\n{END}\n"


def signer_and_verdict(armoured: str, message: bytes, namespace: str) -> tuple[str, bool]:
    """(the base64 public key the signature names, whether it is a valid signature by that key
    over `message` for `namespace`). SignatureFormatError if it is not a signature at all.

    Whether the named key is the one the reader trusts is the caller's question.
    """
    text = armoured.strip()
    if not (text.startswith(BEGIN) and text.endswith(END)):
        raise SignatureFormatError("no OpenSSH signature armour")
    try:
        blob = base64.b64decode("".join(text[len(BEGIN):-len(END)].split()), validate=True)
    except ValueError:
        raise SignatureFormatError("not base64") from None
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 4 or \
            struct.unpack(">I", blob[len(MAGIC):len(MAGIC) + 4])[0] != 1:
        raise SignatureFormatError("not a version 1 SSHSIG")
    parts = _strings(blob[len(MAGIC) + 4:])
    if len(parts) != 5:
        raise SignatureFormatError("wrong number of fields")
    public_blob, signed_namespace, _reserved, hash_name, signature_blob = parts
    key_parts, signature_parts = _strings(public_blob), _strings(signature_blob)
    if len(key_parts) != 2 or key_parts[0] != KEY_TYPE or len(key_parts[1]) != 32 or \
            len(signature_parts) != 2 or signature_parts[0] != KEY_TYPE:
        raise SignatureFormatError("not an Ed25519 signature")
    signer = base64.b64encode(key_parts[1]).decode("ascii")
    if signed_namespace != namespace.encode() or hash_name != HASH:
        return signer, False
    return signer, verify_signature(signer, _signed_data(message, namespace),
                                    base64.b64encode(signature_parts[1]).decode("ascii"))
