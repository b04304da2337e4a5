"""Pupils as keyed hashes (issue 22): HMAC-SHA256 of the pupil's name as the register matches it,
under a key kept in the vault (`consent.pupil_hash_key`, made on first use). The store can then
answer "which posts picture this child" without holding a list of children's names, and a copy
of the database without the vault names nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from config.settings import StewardSettings
from daemon.credentials.vault import Vault
from policies.roster import name_key

KEY_NAME = "consent.pupil_hash_key"
_lock = threading.Lock()


class PupilHasher:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, pupil: str) -> str:
        return hmac.new(self._key, name_key(pupil).encode("utf-8"), hashlib.sha256).hexdigest()


def pupil_hasher(settings: StewardSettings) -> PupilHasher:
    """The school's hasher; the key is made and put in the vault the first time (VaultError
    when the vault cannot be opened or made)."""
    with _lock:
        vault = Vault(settings, create=True)
        value = vault.get(KEY_NAME)
        if value is None:
            value = secrets.token_hex(32)
            vault.set(KEY_NAME, value, kind="internal")
        return PupilHasher(bytes.fromhex(value))


def short(pupil_hash: str) -> str:
    """What messages show of a pupil's hash."""
    return pupil_hash[:12]
