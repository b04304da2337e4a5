"""The vault, its master key and rotation (kill -9 included), and the escrow bundle."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import daemon.credentials.vault
from config.loading import ConfigurationError, load_settings
from config.settings import PathSettings, RecipientSettings, StewardSettings
from daemon.cli.main import main
from daemon.credentials.escrow import EscrowError, bundle_path, open_bundle, rebuild, verify
from daemon.credentials.sealing import b64, new_identity, unb64
from daemon.credentials.vault import Vault, VaultError
from daemon.runtime.keys import audit_signing_key, public_key_text

TOKEN = "EAAG-very-secret-page-token-7f3a9c"


def settings_in(tmp_path, recipients=()) -> StewardSettings:
    return StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"),
                           credentials={"master_key_file": tmp_path / "keys" / "master.key"},
                           escrow={"recipients": list(recipients)})


def recipient(name, role="other"):
    identity, public = new_identity()
    return RecipientSettings(name=name, role=role, public_key=public), [identity]


def stewards_key(settings) -> str:
    return public_key_text(audit_signing_key(settings.paths.state_dir))


@pytest.fixture
def no_default_key_folder(tmp_path, monkeypatch):
    """The default key file's folder (/etc/steward) as on a machine without it."""
    monkeypatch.setattr(daemon.credentials.vault, "DEFAULT_KEY_FILE", tmp_path / "etc-steward" / "master.key")
    return tmp_path / "etc-steward"


def test_a_credential_round_trips_and_is_encrypted_at_rest(tmp_path):
    settings = settings_in(tmp_path)
    Vault(settings, create=True).set("facebook.page_access_token", TOKEN)
    assert Vault(settings).get("facebook.page_access_token") == TOKEN
    assert TOKEN.encode() not in (tmp_path / "state" / "vault.json").read_bytes()


def test_a_vault_edited_by_one_byte_is_refused_with_a_clear_error(tmp_path):
    settings = settings_in(tmp_path)
    Vault(settings, create=True).set("x.access_token", "1-secret")
    path = tmp_path / "state" / "vault.json"
    envelope = json.loads(path.read_text())
    data = bytearray(unb64(envelope["sealed"]["ciphertext"]))
    data[5] ^= 1
    envelope["sealed"]["ciphertext"] = b64(bytes(data))
    path.write_text(json.dumps(envelope))
    with pytest.raises(VaultError, match="changed or damaged"):
        Vault(settings).get("x.access_token")


def test_a_wrong_or_missing_master_key_is_refused(tmp_path):
    settings = settings_in(tmp_path)
    Vault(settings, create=True).set("x.access_token", "1-secret")
    key_file = tmp_path / "keys" / "master.key"
    key_file.write_text(b64(os.urandom(32)))
    with pytest.raises(VaultError, match="none of the master keys opens the vault"):
        Vault(settings)
    key_file.unlink()
    with pytest.raises(VaultError, match="no master key"):
        Vault(settings)


def test_a_master_key_others_can_read_is_refused(tmp_path):
    settings = settings_in(tmp_path)
    Vault(settings, create=True).set("x.access_token", "1-secret")
    os.chmod(tmp_path / "keys" / "master.key", 0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        Vault(settings)


def test_the_master_key_can_come_from_systemd_credentials(tmp_path, monkeypatch):
    settings = settings_in(tmp_path)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    key = credentials / "steward.master-key"
    key.write_text(b64(os.urandom(32)))
    os.chmod(key, 0o600)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    (tmp_path / "state").mkdir()
    Vault(settings).set("x.access_token", "1-secret")
    assert not (tmp_path / "state" / "master.key").exists()
    assert not (tmp_path / "keys" / "master.key").exists()
    assert Vault(settings).get("x.access_token") == "1-secret"


def test_rotation_keeps_every_credential(tmp_path):
    settings = settings_in(tmp_path)
    vault = Vault(settings, create=True)
    vault.set("x.access_token", "1-secret")
    before = (tmp_path / "keys" / "master.key").read_text()
    vault.rotate()
    assert (tmp_path / "keys" / "master.key").read_text() != before
    assert Vault(settings).get("x.access_token") == "1-secret"


ROTATE_FOREVER = """
import sys
from pathlib import Path
from config.settings import PathSettings, StewardSettings
from daemon.credentials.vault import Vault
settings = StewardSettings(paths=PathSettings(state_dir=Path(sys.argv[1])),
                           credentials={"master_key_file": Path(sys.argv[2])})
print("ready", flush=True)
while True:
    Vault(settings).rotate()
"""


@pytest.mark.slow  # twenty processes, each killed
def test_a_kill_minus_9_during_rotation_always_leaves_a_usable_vault(tmp_path):
    settings = settings_in(tmp_path)
    Vault(settings, create=True).set("x.access_token", "1-secret")
    script = tmp_path / "rotate.py"
    script.write_text(ROTATE_FOREVER)
    generator = random.Random(7)
    for _ in range(20):
        process = subprocess.Popen([sys.executable, str(script), str(tmp_path / "state"),
                                    str(tmp_path / "keys" / "master.key")],
                                   stdout=subprocess.PIPE, text=True,
                                   cwd=Path(__file__).resolve().parents[2])
        process.stdout.readline()
        time.sleep(generator.uniform(0.0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert Vault(settings).get("x.access_token") == "1-secret"


def test_each_recipient_opens_the_bundle_and_verify_agrees(tmp_path):
    (head, head_key), (chair, chair_key) = recipient("Head Teacher", "head teacher"), \
        recipient("Chair of Governors", "chair of governors")
    settings = settings_in(tmp_path, [head, chair])
    vault = Vault(settings, create=True)
    vault.set("facebook.page_access_token", TOKEN)
    vault.set("person:x.password", "correct horse battery staple", kind="person")
    rebuild(settings, vault, set())
    for key in (head_key, chair_key):
        contents = open_bundle(bundle_path(settings), key, stewards_key(settings))
        assert contents["secrets"]["facebook.page_access_token"]["value"] == TOKEN
        assert contents["secrets"]["person:x.password"]["kind"] == "person"
    assert verify(settings, vault, set()) == []


def test_a_removed_recipient_cannot_open_the_rebuilt_bundle(tmp_path):
    (head, _), (old_admin, old_key) = recipient("Head Teacher", "head teacher"), \
        recipient("Old Admin", "administrator")
    settings = settings_in(tmp_path, [head, old_admin])
    vault = Vault(settings, create=True)
    vault.set("x.access_token", "1-secret")
    rebuild(settings, vault, {"Old Admin"})
    with pytest.raises(EscrowError, match="not encrypted to this key"):
        open_bundle(bundle_path(settings), old_key, stewards_key(settings))
    assert verify(settings, vault, {"Old Admin"}) == []
    assert verify(settings, vault, set()) == [
        "'Old Admin' cannot open the bundle: not a recipient of it"]


def test_verify_finds_a_stale_bundle_and_a_changed_recipient_key(tmp_path):
    (head, _), = [recipient("Head Teacher", "head teacher")]
    settings = settings_in(tmp_path, [head])
    vault = Vault(settings, create=True)
    vault.set("x.access_token", "1-secret")
    rebuild(settings, vault, set())
    vault.set("x.access_token", "2-secret")
    assert "older than the current credentials" in verify(settings, vault, set())[0]
    rebuild(settings, vault, set())
    replaced, _ = recipient("Head Teacher", "head teacher")
    changed = settings_in(tmp_path, [replaced])
    assert "new public key" in verify(changed, vault, set())[0]


def test_a_malformed_recipient_key_is_a_configuration_error(tmp_path):
    config = tmp_path / "steward.toml"
    config.write_text('[[escrow.recipients]]\nname = "Head"\npublic_key = "not-a-key"\n')
    with pytest.raises(ConfigurationError, match="escrow.recipients.0.public_key"):
        load_settings(config)
    _, recipient_key = new_identity()
    config.write_text('[[escrow.recipients]]\nname = "Head"\n'
                      f'public_key = "{recipient_key[:-1]}q"\n')  # a typo in the last letter
    with pytest.raises(ConfigurationError, match="escrow.recipients.0.public_key: is not a "
                       "valid age public key"):
        load_settings(config)


def test_credentials_set_reads_standard_input_never_arguments(tmp_path, capsys, monkeypatch):
    import io  # noqa: PLC0415

    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n'
                      f'[credentials]\nmaster_key_file = "{tmp_path / "keys" / "master.key"}"\n')
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOKEN + "\n"))
    assert main(["credentials", "set", "facebook.page_access_token", "--config",
                 str(config)]) == 0
    assert main(["credentials", "list", "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert "facebook.page_access_token" in out.out and TOKEN not in out.out + out.err
    assert TOKEN not in (tmp_path / "state" / "audit.jsonl").read_text()


def test_a_first_master_key_is_never_put_in_the_state_directory(tmp_path, capsys,
                                                                 no_default_key_folder):
    import io  # noqa: PLC0415

    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    sys.stdin, saved = io.StringIO(TOKEN + "\n"), sys.stdin
    try:
        code = main(["credentials", "set", "facebook.page_access_token", "--config", str(config)])
    finally:
        sys.stdin = saved
    err = capsys.readouterr().err
    assert code == 1
    assert not (tmp_path / "state" / "master.key").exists()
    assert "will not put one beside the vault" in err
    assert "systemd-creds encrypt --name=steward.master-key" in err
    assert "credentials.master_key_file" in err


def test_a_first_master_key_goes_to_the_default_folder_outside_the_state_directory(
        tmp_path, no_default_key_folder):
    no_default_key_folder.mkdir()
    settings = StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"))
    vault = Vault(settings, create=True)
    vault.set("x.access_token", "1-secret")
    assert (no_default_key_folder / "master.key").exists()
    assert not (tmp_path / "state" / "master.key").exists()
    assert "back it up" in vault.warnings[0]
    assert Vault(settings).get("x.access_token") == "1-secret"


def test_a_key_left_in_the_state_directory_by_an_older_steward_still_works_with_a_warning(
        tmp_path, no_default_key_folder):
    old_install = StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"),
                                  credentials={"master_key_file": tmp_path / "state" /
                                               "master.key"})
    Vault(old_install, create=True).set("x.access_token", "1-secret")
    upgraded = StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"))
    vault = Vault(upgraded)
    assert vault.get("x.access_token") == "1-secret"
    [warning] = vault.warnings
    assert "sits in the state directory" in warning
    assert f"mv {tmp_path / 'state' / 'master.key'} {no_default_key_folder / 'master.key'}" \
        in warning
    vault.rotate()  # rotation keeps it working where it is until the administrator moves it
    assert Vault(upgraded).get("x.access_token") == "1-secret"
