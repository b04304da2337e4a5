"""The cryptographic constructions Steward uses, all standard, none written here:

- `seal` / `unseal`: AES-256-GCM (`cryptography`) with a random 96-bit nonce and associated
  data: the vault.
- `encrypt_to` / `decrypt_with`: the age format (age-encryption.org/v1, through `pyrage`) with
  X25519 recipients: the escrow bundle, so that a holder opens it with the standard `age` tool
  (`age -d -i KEY-FILE escrow.age`) and needs no Steward to do so.

Keys of escrow holders are age X25519 identities (`AGE-SECRET-KEY-1...`) and recipients
(`age1...`). Keys made by Steward before it used age were the same X25519 keys in base64; they
convert losslessly (age's text forms are Bech32 of the same 32 bytes), which is how existing
configurations and key files keep working (`legacy_recipient`, `legacy_identity`).
"""

from __future__ import annotations

import base64
import os

import bech32
import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AGE_MAGIC = b"age-encryption.org/v1\n"


class SealError(Exception):
    """Decryption failed, or a key cannot be used; the message says which, in plain words."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def new_key() -> bytes:
    return os.urandom(32)


def seal(key: bytes, plaintext: bytes, associated: bytes) -> dict:
    nonce = os.urandom(12)
    return {"nonce": b64(nonce), "ciphertext": b64(AESGCM(key).encrypt(nonce, plaintext,
                                                                       associated))}


def unseal(key: bytes, sealed: dict, associated: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(unb64(sealed["nonce"]), unb64(sealed["ciphertext"]),
                                   associated)
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise SealError("the key does not open it, or it was changed") from None


# -- age: the escrow bundle ------------------------------------------------------------------

def _bech32(human_part: str, raw: bytes) -> str:
    bits = bech32.convertbits(raw, 8, 5)
    if bits is None:  # only for values that are not 8-bit, which bytes never hold
        raise ValueError("bech32 cannot convert these bytes")
    return bech32.bech32_encode(human_part, bits)


def is_legacy_key(text: str) -> bool:
    """Whether a recipient's public key is in the format of Steward before age (base64)."""
    return not text.startswith("age1")


def legacy_recipient(text: str) -> str:
    """The age recipient (`age1...`) of a pre-age public key (base64 of 32 X25519 bytes)."""
    try:
        raw = unb64(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SealError("not an age recipient (age1...) nor an older Steward public key")
    return _bech32("age", raw)


def legacy_identity(raw: bytes) -> str:
    """The age identity (`AGE-SECRET-KEY-1...`) of a pre-age private key (32 X25519 bytes)."""
    if len(raw) != 32:
        raise SealError("not a 32-byte X25519 private key")
    return _bech32("age-secret-key-", raw).upper()


def recipient_text(public_key: str) -> str:
    """A configured public key as an age recipient, converting the older format."""
    text = legacy_recipient(public_key) if is_legacy_key(public_key) else public_key
    try:
        pyrage.x25519.Recipient.from_str(text)
    except pyrage.RecipientError:
        raise SealError("not a valid age recipient (copy it as `steward escrow keygen` or "
                        "`age-keygen` printed it)") from None
    return text


def new_identity() -> tuple[str, str]:
    """A fresh age X25519 key pair: (identity `AGE-SECRET-KEY-1...`, recipient `age1...`)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def recipient_of(identity: str) -> str:
    """The age recipient of an identity."""
    try:
        return str(pyrage.x25519.Identity.from_str(identity).to_public())
    except pyrage.IdentityError:
        raise SealError("not an age identity (AGE-SECRET-KEY-1...)") from None


def identities_in(text: str) -> list[str]:
    """The identities of an age identity file (one per line; `#` comments and blanks skipped),
    each checked."""
    identities = [line.strip() for line in text.splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
    for identity in identities:
        recipient_of(identity)
    if not identities:
        raise SealError("no age identity (AGE-SECRET-KEY-1...) in the key file")
    return identities


def encrypt_to(plaintext: bytes, recipients: list[str]) -> bytes:
    """Encrypt for every recipient (`age1...`), in age's binary format."""
    try:
        return pyrage.encrypt(plaintext, [pyrage.x25519.Recipient.from_str(recipient_text(r))
                                          for r in recipients])
    except (pyrage.RecipientError, pyrage.EncryptError) as error:
        raise SealError(f"cannot encrypt to these recipients ({error})") from None


def decrypt_with(data: bytes, identities: list[str]) -> bytes:
    """Decrypt an age file; SealError when it is not one, is damaged, or is not for these keys."""
    if not data.startswith(AGE_MAGIC):
        raise SealError("not an age-encrypted file")
    try:
        return pyrage.decrypt(data, [pyrage.x25519.Identity.from_str(identity)
                                     for identity in identities])
    except pyrage.IdentityError:
        raise SealError("not an age identity (AGE-SECRET-KEY-1...)") from None
    except pyrage.DecryptError as error:
        if "no matching keys" in str(error).lower():
            raise SealError("this key does not open it: it is not encrypted to this key") \
                from None
        raise SealError(f"it is damaged or was changed ({error})") from None


def recipient_stanzas(data: bytes) -> int | None:
    """How many X25519 recipients an age file's header names (None: not an age header).

    age's header is text: the version line, one `-> X25519 ...` stanza per recipient, then
    `--- MAC`. The stanzas do not say whose key each is (by design); the count is what Steward
    can check without the recipients' private keys.
    """
    if not data.startswith(AGE_MAGIC):
        return None
    end = data.find(b"\n--- ")
    if end < 0:
        return None
    lines = data[len(AGE_MAGIC):end].split(b"\n")
    return sum(1 for line in lines if line.startswith(b"-> X25519 "))
