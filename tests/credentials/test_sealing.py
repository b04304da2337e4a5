"""Known-answer tests: each primitive Steward uses gives the RFC's published answers, and the
constructions built on them round-trip and detect tampering."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from daemon.credentials.sealing import (
    SealError,
    b64,
    decrypt_with,
    encrypt_to,
    legacy_identity,
    legacy_recipient,
    new_identity,
    recipient_of,
    recipient_stanzas,
    recipient_text,
    seal,
    unseal,
)


def test_x25519_gives_the_rfc_7748_shared_secret():
    alice = X25519PrivateKey.from_private_bytes(bytes.fromhex(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
    bob_public = X25519PublicKey.from_public_bytes(bytes.fromhex(
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
    assert alice.exchange(bob_public).hex() == (
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")


def test_hkdf_sha256_gives_the_rfc_5869_test_case_1():
    okm = HKDF(algorithm=hashes.SHA256(), length=42, salt=bytes.fromhex("000102030405060708090a0b0c"),
               info=bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")).derive(bytes.fromhex("0b" * 22))
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


def test_chacha20_poly1305_gives_the_rfc_8439_section_2_8_2_answer():
    key = bytes.fromhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
    nonce = bytes.fromhex("070000004041424344454647")
    aad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    plaintext = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
                 b"for the future, sunscreen would be it.")
    sealed = ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)
    assert sealed[-16:].hex() == "1ae10b594f09e26a7e902ecbd0600691"
    assert sealed[:16].hex() == "d31a8d34648e60db7b86afbc53ef7ec2"


def test_aes_256_gcm_gives_the_nist_gcm_test_vector():
    key = bytes(32)
    nonce = bytes(12)
    assert AESGCM(key).encrypt(nonce, bytes(16), None).hex() == (
        "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")


def test_sealing_round_trips_and_detects_any_change():
    key = bytes(range(32))
    sealed = seal(key, b"page token", b"vault")
    assert unseal(key, sealed, b"vault") == b"page token"
    with pytest.raises(SealError):
        unseal(key, sealed, b"other context")
    with pytest.raises(SealError):
        unseal(bytes(32), sealed, b"vault")


def test_a_key_pair_from_before_age_is_the_same_age_key_pair():
    """RFC 7748's Alice: her private key, converted to age's form, gives (through age) the
    public key the RFC publishes, converted to age's form: nothing to re-encrypt on upgrade."""
    alice_private = bytes.fromhex(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    alice_public = bytes.fromhex(
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    identity = legacy_identity(alice_private)
    assert identity.startswith("AGE-SECRET-KEY-1")
    assert recipient_of(identity) == legacy_recipient(b64(alice_public))
    assert legacy_recipient(b64(alice_public)).startswith("age1")


def test_an_age_file_opens_with_each_recipients_key_and_refuses_any_change():
    (head, head_public), (chair, chair_public) = new_identity(), new_identity()
    sealed = encrypt_to(b"page token", [head_public, chair_public])
    assert recipient_stanzas(sealed) == 2
    assert decrypt_with(sealed, [head]) == decrypt_with(sealed, [chair]) == b"page token"
    stranger, _ = new_identity()
    with pytest.raises(SealError, match="not encrypted to this key"):
        decrypt_with(sealed, [stranger])
    changed = bytearray(sealed)
    changed[-3] ^= 1
    with pytest.raises(SealError, match="damaged or was changed"):
        decrypt_with(bytes(changed), [head])
    with pytest.raises(SealError, match="not an age-encrypted file"):
        decrypt_with(b"{}", [head])
    assert recipient_stanzas(b"{}") is None


def test_a_malformed_recipient_key_is_refused_in_plain_words():
    for text in ("age1notakey", "c2hvcnQ=", "not base64 at all"):
        with pytest.raises(SealError):
            recipient_text(text)
