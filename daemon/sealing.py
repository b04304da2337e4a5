"""The cryptographic constructions Steward uses, all standard, all from `cryptography`:

- `seal` / `unseal`: AES-256-GCM with a random 96-bit nonce and associated data (the vault).
- `wrap_for` / `unwrap_with`: ECIES-style key wrapping for an X25519 public key: an ephemeral
  X25519 key pair, the shared secret through HKDF-SHA256 (salt: both public keys; info: a
  label), and ChaCha20-Poly1305 (the escrow).
- `derive_wrap_key`: the HKDF step alone, so that Steward can re-derive a wrap key from a kept
  ephemeral private key and a recipient's public key (how `escrow verify` proves a recipient can
  open a bundle without their private key).

No primitive is written here; known-answer tests pin each one to its RFC.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

WRAP_INFO = b"steward-escrow-wrap-v1"


class SealError(Exception):
    """Decryption failed: wrong key, or the data was changed."""


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


def public_bytes(public: X25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_public(text: str) -> X25519PublicKey:
    try:
        raw = unb64(text)
        if len(raw) != 32:
            raise ValueError
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise SealError("not a 32-byte X25519 public key in base64") from None


def derive_wrap_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + recipient_public,
                info=WRAP_INFO).derive(shared)


@dataclass(frozen=True)
class Wrapped:
    ephemeral_public: bytes
    nonce: bytes
    ciphertext: bytes
    ephemeral_private: bytes  # kept (sealed) by Steward only, for verification


def wrap_for(recipient: X25519PublicKey, secret: bytes, associated: bytes) -> Wrapped:
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = public_bytes(ephemeral.public_key())
    key = derive_wrap_key(ephemeral.exchange(recipient), ephemeral_public,
                          public_bytes(recipient))
    nonce = os.urandom(12)
    return Wrapped(ephemeral_public, nonce, ChaCha20Poly1305(key).encrypt(nonce, secret,
                                                                          associated),
                   ephemeral.private_bytes_raw())


def unwrap_with(private: X25519PrivateKey, ephemeral_public: bytes, nonce: bytes,
                ciphertext: bytes, associated: bytes) -> bytes:
    """Open a wrapping with the recipient's private key."""
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    key = derive_wrap_key(shared, ephemeral_public, public_bytes(private.public_key()))
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, associated)
    except InvalidTag:
        raise SealError("this key does not open it, or it was changed") from None


def unwrap_with_ephemeral(ephemeral_private: bytes, recipient: X25519PublicKey, nonce: bytes,
                          ciphertext: bytes, associated: bytes) -> bytes:
    """Open a wrapping from the sender's side: proves the recipient's key opens it too, since
    X25519(e, R) equals X25519(r, E)."""
    ephemeral = X25519PrivateKey.from_private_bytes(ephemeral_private)
    key = derive_wrap_key(ephemeral.exchange(recipient), public_bytes(ephemeral.public_key()),
                          public_bytes(recipient))
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, associated)
    except InvalidTag:
        raise SealError("the recipient's key would not open it") from None


def seal_bundle(key: bytes, plaintext: bytes, associated: bytes) -> tuple[bytes, bytes]:
    """ChaCha20-Poly1305 with a random nonce; return (nonce, ciphertext)."""
    nonce = os.urandom(12)
    return nonce, ChaCha20Poly1305(key).encrypt(nonce, plaintext, associated)


def open_bundle_cipher(key: bytes, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, associated)
    except (InvalidTag, ValueError):
        raise SealError("the bundle does not open with this key, or it was changed") from None


def load_private(raw: bytes) -> X25519PrivateKey:
    if len(raw) != 32:
        raise SealError("not a 32-byte X25519 private key")
    return X25519PrivateKey.from_private_bytes(raw)


def new_keypair() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair: (private raw bytes, public raw bytes)."""
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), public_bytes(private.public_key())
