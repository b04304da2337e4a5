"""The credentials vault: platform tokens and the accounts' person-only secrets, encrypted at
rest (AES-256-GCM) under a master key that never sits beside the vault.

The master key comes from systemd's credentials directory (`LoadCredentialEncrypted=` names it
`steward.master-key`) or from a key file that Steward refuses to use if its group or others can
read it. The key file lives outside the state directory (`credentials.master_key_file`, default
/etc/steward/master.key), so that a copy of the state directory (a backup, a disk image) is not
also a copy of the key that opens its vault. Installs from before that default kept the key in
<state_dir>/master.key: it still opens the vault, with a warning that says how to move it.
Steward creates a key only where it is told to or in /etc/steward when that folder is writable,
and says so; otherwise it refuses and gives the commands that make one.

The vault records which key sealed it, so a rotation interrupted at any point (kill -9
included) is finished at the next load: the current and the next key are both tried, and the
one that opens the vault becomes current. Values never appear in logs, errors or listings.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import UTC
from pathlib import Path

from config.schools import SchoolInstance
from config.settings import SECRET_FIELDS, StewardSettings
from daemon.credentials.sealing import SealError, b64, new_key, seal, unb64, unseal
from daemon.runtime.clock import Clock
from daemon.runtime.ownership import refuse_to_write_as_another_user

CREDENTIAL_NAME = "steward.master-key"
ASSOCIATED = b"steward-vault-v1"
DEFAULT_KEY_FILE = Path("/etc/steward/master.key")
UNDER_SYSTEMD = (
    "Only the service is given the credential: run the command as the service runs, with "
    "`sudo steward admin COMMAND ...` (e.g. `sudo steward admin credentials set "
    "x.access_token`). Otherwise restore the key file from backup")
MAKE_A_KEY = (
    "make one outside the state directory, either as the systemd credential (recommended): "
    "`head -c 32 /dev/urandom | base64 > master.key && sudo systemd-creds encrypt "
    f"--name={CREDENTIAL_NAME} master.key /etc/steward/{CREDENTIAL_NAME}.cred && shred -u "
    "master.key`, or as a key file readable by Steward's user only: set "
    "credentials.master_key_file in the configuration (e.g. /etc/steward/master.key) and run "
    "this command again")


class VaultError(Exception):
    """The vault or its key cannot be used; the message says why and what to do."""


def now_text(clock: Clock) -> str:
    """When a secret was set, to the microsecond: a handover tells from it whether a secret was
    replaced after the handover began."""
    return clock.now().astimezone(UTC).isoformat(timespec="microseconds")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"steward-key-id" + key).hexdigest()[:16]


def master_key_file(settings: StewardSettings) -> Path:
    """The configured key file, else the default outside the state directory."""
    return settings.credentials.master_key_file or default_key_file()


def default_key_file() -> Path:
    """/etc/steward/master.key, or the selected school's /etc/steward/NAME/master.key."""
    instance = SchoolInstance.selected()
    return instance.master_key_file if instance.school else DEFAULT_KEY_FILE


def key_file_in_state_dir(settings: StewardSettings) -> Path:
    """Where installs before 0.2 kept the key: beside the vault it protects."""
    return settings.paths.state_dir / "master.key"


def _read_key(path: Path) -> bytes:
    try:
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise VaultError(f"{path}: other users can read the master key; run `chmod 600 "
                             f"{path}` (and rotate it if others may have copied it)")
        text = path.read_bytes().strip()
    except OSError as error:
        raise VaultError(f"{path}: the master key cannot be read ({error.strerror}); it must "
                         "belong to the user Steward runs as, mode 0600") from None
    try:
        key = unb64(text.decode("ascii")) if len(text) != 32 else text
    except (ValueError, UnicodeDecodeError):
        key = b""
    if len(key) != 32:
        raise VaultError(f"{path}: not a 32-byte master key")
    return key


def write_key(path: Path, key: bytes) -> None:
    """Write a key file atomically, readable by its owner only."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(b64(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class Vault:
    def __init__(self, settings: StewardSettings, create: bool = False,
                 clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.settings = settings
        self.path = settings.paths.state_dir / "vault.json"
        self.warnings: list[str] = []  # for the administrator: said by commands, audited
        self.from_systemd = bool(os.environ.get("CREDENTIALS_DIRECTORY")) and (
            Path(os.environ["CREDENTIALS_DIRECTORY"]) / CREDENTIAL_NAME).exists()
        self.key_file = master_key_file(settings)
        legacy = key_file_in_state_dir(settings)
        if (not self.from_systemd and settings.credentials.master_key_file is None
                and not self.key_file.exists() and legacy.exists()):
            self.key_file = legacy
        if not self.from_systemd and self.key_file.resolve().parent == \
                settings.paths.state_dir.resolve():
            self.warnings.append(
                f"the master key {self.key_file} sits in the state directory, beside the vault "
                "it opens: anyone with a copy of the state directory can read every credential. "
                f"Move it out: `mv {self.key_file} {DEFAULT_KEY_FILE}` (the default; or set "
                "credentials.master_key_file), or better install it as the systemd credential "
                f"(`systemd-creds encrypt --name={CREDENTIAL_NAME} {self.key_file} "
                f"/etc/steward/{CREDENTIAL_NAME}.cred`, then `shred -u {self.key_file}`)")
        self.key = self._load_key(create)

    # -- the key -----------------------------------------------------------------------------

    def _candidates(self) -> list[tuple[str, Path]]:
        if self.from_systemd:
            directory = Path(os.environ["CREDENTIALS_DIRECTORY"])
            return [("systemd credential", directory / CREDENTIAL_NAME),
                    ("pending key", self.settings.paths.state_dir / "master.key.next")]
        return [("key file", self.key_file),
                ("next key file", self.key_file.with_name(self.key_file.name + ".next"))]

    def _load_key(self, create: bool) -> bytes:
        candidates = [(label, path) for label, path in self._candidates() if path.exists()]
        if not candidates:
            if not create or self.path.exists():
                raise VaultError(f"no master key: expected the systemd credential "
                                 f"{CREDENTIAL_NAME} or the key file {self.key_file}. {UNDER_SYSTEMD}")
            return self._create_key()
        keys = [(label, path, _read_key(path)) for label, path in candidates]
        if not self.path.exists():
            return keys[0][2]
        sealed_by = json.loads(self.path.read_text(encoding="utf-8")).get("key_id")
        for label, path, key in keys:
            if key_id(key) == sealed_by:
                if label == "next key file":  # a rotation was interrupted: finish it
                    os.replace(path, self.key_file)
                return key
        raise VaultError("none of the master keys opens the vault (wrong key, or a key file was "
                         "replaced); restore the previous key file from backup")

    def _create_key(self) -> bytes:
        """A first key: where the configuration says, or in /etc/steward if Steward may write
        there; never silently in the state directory."""
        configured = self.settings.credentials.master_key_file is not None
        if not configured and not os.access(self.key_file.parent, os.W_OK):
            raise VaultError(f"no master key for the vault yet, and Steward will not put one "
                             f"beside the vault in the state directory; {MAKE_A_KEY}")
        key = new_key()
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        write_key(self.key_file, key)
        self.warnings.append(f"a new master key was written to {self.key_file}: back it up "
                             "away from the state directory; without it the vault cannot be "
                             "opened")
        return key

    # -- the contents ------------------------------------------------------------------------

    def _read(self) -> dict:
        if not self.path.exists():
            return {"secrets": {}}
        try:
            envelope = json.loads(self.path.read_text(encoding="utf-8"))
            return json.loads(unseal(self.key, envelope["sealed"],
                                     ASSOCIATED + envelope["key_id"].encode()))
        except (SealError, ValueError, KeyError) as error:
            raise VaultError(f"{self.path} cannot be opened: it was changed or damaged "
                             f"({error.__class__.__name__}); restore it from backup") from None

    def _write(self, contents: dict, key: bytes | None = None) -> None:
        refuse_to_write_as_another_user(self.path.parent)
        key = key or self.key
        identifier = key_id(key)
        envelope = {"version": 1, "key_id": identifier,
                    "sealed": seal(key, json.dumps(contents).encode("utf-8"),
                                   ASSOCIATED + identifier.encode())}
        temporary = self.path.with_name("vault.json.tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(envelope, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def set(self, name: str, value: str, kind: str = "platform") -> None:
        if kind == "platform" and name not in SECRET_FIELDS:
            raise VaultError(f"'{name}' is not a credential Steward uses; known: "
                             f"{', '.join(sorted(SECRET_FIELDS))}")
        contents = self._read()
        contents["secrets"][name] = {"value": value, "kind": kind, "set_at": now_text(self.clock)}
        self._write(contents)

    def set_many(self, values: dict[str, str]) -> None:
        """Replace several credentials in one atomic write (a refreshed token pair)."""
        contents = self._read()
        now = now_text(self.clock)
        for name, value in values.items():
            contents["secrets"][name] = {"value": value, "kind": "platform", "set_at": now}
        self._write(contents)

    def get(self, name: str) -> str | None:
        entry = self._read()["secrets"].get(name)
        return entry["value"] if entry else None

    def entries(self) -> dict[str, dict]:
        """Name -> {kind, set_at, value}. Callers must never print `value`."""
        return self._read()["secrets"]

    def fingerprint(self) -> str:
        """A hash of the contents, to tell whether an escrow bundle is current."""
        return hashlib.sha256(json.dumps(self._read(), sort_keys=True).encode()).hexdigest()

    # -- rotation ----------------------------------------------------------------------------

    def rotate(self) -> str:
        """Re-encrypt under a new master key; return how the new key must be installed.

        Order, so that a kill -9 anywhere leaves a usable vault: the new key is written beside
        the old; the vault is rewritten under it; then the new key replaces the old. A load
        between the last two steps tries both keys and finishes the job.
        """
        contents = self._read()
        fresh = new_key()
        pending = self._candidates()[1][1]
        pending.parent.mkdir(parents=True, exist_ok=True)
        write_key(pending, fresh)
        self._write(contents, fresh)
        self.key = fresh
        if self.from_systemd:
            return (f"the new master key is in {pending}: install it with `systemd-creds "
                    f"encrypt --name={CREDENTIAL_NAME} {pending} /etc/steward/"
                    f"{CREDENTIAL_NAME}.cred`, restart Steward, then delete {pending}")
        os.replace(pending, self.key_file)
        return f"the new master key is in {self.key_file}"


def with_vault_secrets(settings: StewardSettings, strict: bool = False) -> StewardSettings:
    """The settings with every secret the configuration leaves empty taken from the vault.

    With no vault yet, the settings as they are. A vault that exists but cannot be opened (no
    master key here, the wrong one) is a VaultError when `strict` (the daemon, which must not
    run on half its credentials without saying so); otherwise the settings as they are.
    """
    path = settings.paths.state_dir / "vault.json"
    try:
        if not path.exists():
            return settings
        vault = Vault(settings)
        entries = vault.entries()
    except (VaultError, OSError) as error:
        if strict:
            raise VaultError(f"the vault {path} cannot be opened: {error}") from None
        return settings
    from pydantic import SecretStr  # noqa: PLC0415

    updates: dict[str, dict] = {}
    for name, entry in entries.items():
        if entry["kind"] != "platform" or "." not in name:
            continue
        section, field = name.split(".", 1)
        if getattr(getattr(settings, section), field, None) is None:
            updates.setdefault(section, {})[field] = SecretStr(entry["value"])
    if not updates:
        return settings
    return settings.model_copy(update={section: getattr(settings, section).model_copy(
        update=fields) for section, fields in updates.items()})


def missing_credentials_message(missing: list[str]) -> str:
    """What to tell the administrator when live mode lacks secrets: each name, and the command
    that stores it, run as the service runs."""
    return ("live mode needs these secrets, which neither the vault nor the configuration "
            f"holds: {', '.join(missing)}. Store each with `sudo steward admin credentials set "
            f"NAME` (for example `sudo steward admin credentials set {missing[0]}`; you are "
            "prompted, nothing is echoed)")
