"""The escrow bundle as a holder meets it (finding 12): a standard age file that the `age` tool
opens without Steward, signed by Steward so that a forged or altered bundle is refused before
anything in it is shown, and read strictly, so that a malformed one gets a plain answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from daemon.cli.main import main
from daemon.credentials.escrow import signature_path
from daemon.credentials.sealing import b64, encrypt_to
from daemon.credentials.ssh_signatures import sign
from daemon.runtime.keys import audit_signing_key, public_key_text

TOKEN = "EAAG-very-secret-page-token-7f3a9c"
CHOSEN_CODES = "1111-2222 3333-4444"  # what a forger wants the head teacher to trust


@pytest.fixture
def school(tmp_path, capsys):
    """A school with a head teacher holding an escrow key made by `steward escrow keygen`, a
    Page token in the vault and a bundle built for the head teacher."""
    state = tmp_path / "state"
    state.mkdir()
    stewards_key = public_key_text(audit_signing_key(state))
    head_key = tmp_path / "head-teacher.age-key"
    assert main(["escrow", "keygen", "Head Teacher", "--out", str(head_key),
                 "--signer", stewards_key]) == 0
    recipient = capsys.readouterr().out.split('public_key = "')[1].split('"')[0]
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state}"\n'
                      f'[credentials]\nmaster_key_file = "{tmp_path / "keys" / "master.key"}"\n'
                      '[[escrow.recipients]]\nname = "Head Teacher"\nrole = "head teacher"\n'
                      f'public_key = "{recipient}"\n')
    return {"config": config, "state": state, "head_key": head_key, "recipient": recipient,
            "stewards_key": stewards_key, "tmp": tmp_path}


def set_secret(school, monkeypatch, *arguments, value=TOKEN):
    import io  # noqa: PLC0415
    import sys  # noqa: PLC0415

    monkeypatch.setattr(sys, "stdin", io.StringIO(value + "\n"))
    assert main([*arguments, "--config", str(school["config"])]) == 0


def open_as_head(school, capsys, bundle=None, *extra):
    capsys.readouterr()
    code = main(["escrow", "open", "--key", str(school["head_key"]), "--config",
                 str(school["config"]), *(["--bundle", str(bundle)] if bundle else []), *extra])
    return code, capsys.readouterr()


def test_keygen_writes_a_standard_age_identity_that_records_stewards_key(school):
    text = school["head_key"].read_text()
    assert oct(school["head_key"].stat().st_mode & 0o777) == "0o600"
    [identity] = [line for line in text.splitlines() if not line.startswith("#")]
    assert identity.startswith("AGE-SECRET-KEY-1")
    assert str(pyrage.x25519.Identity.from_str(identity).to_public()) == school["recipient"]
    assert school["recipient"].startswith("age1")
    assert f"# steward-signing-key: {school['stewards_key']}" in text


def test_a_holder_opens_the_bundle_with_steward_after_the_signature_is_checked(
        school, capsys, monkeypatch):
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    code, out = open_as_head(school, capsys)
    assert code == 0, out.err
    contents = json.loads(out.out)
    assert contents["secrets"]["facebook.page_access_token"]["value"] == TOKEN
    assert contents["recipients"] == ["Head Teacher"]
    assert "Signature checked" in out.err


@pytest.mark.skipif(shutil.which("age") is None, reason="the `age` tool is not installed "
                    "(Debian package age; scripts/install-system-packages installs it)")
def test_a_holder_opens_the_bundle_with_the_standard_age_tool_and_no_steward(
        school, capsys, monkeypatch):
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    opened = subprocess.run(["age", "-d", "-i", str(school["head_key"]),
                             str(bundle_path_of(school))], capture_output=True, text=True,
                            check=False)
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["secrets"]["facebook.page_access_token"]["value"] == TOKEN


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed "
                    "(Debian package openssh-client)")
def test_a_holder_checks_the_signature_with_ssh_keygen_and_no_steward(
        school, capsys, monkeypatch):
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    line = next(line[2:] for line in school["head_key"].read_text().splitlines()
                if line.startswith("# steward namespaces="))
    signers = school["tmp"] / "steward.allowed_signers"
    signers.write_text(line + "\n")
    bundle = bundle_path_of(school)

    def ssh_verify() -> subprocess.CompletedProcess:
        with open(bundle, "rb") as message:
            return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I",
                                   "steward", "-n", "steward-escrow", "-s",
                                   str(signature_path(bundle))], stdin=message,
                                  capture_output=True, text=True, check=False)

    assert ssh_verify().returncode == 0
    bundle.write_bytes(bundle.read_bytes()[:-1] + b"!")
    assert ssh_verify().returncode != 0


def bundle_path_of(school) -> Path:
    return school["state"] / "escrow.age"


def forged_codes(school) -> bytes:
    """What a forger who knows only the head teacher's public key (it is in the configuration)
    can make: a well-formed bundle, encrypted to the head teacher, with chosen contents."""
    contents = {"format": "steward-escrow-v2", "school": "Oakfield Primary School",
                "created_at": "2026-11-02T09:00:00+00:00", "recipients": ["Head Teacher"],
                "secrets": {"person:x.recovery-codes": {"kind": "person", "value": CHOSEN_CODES,
                                                        "set_at": "2026-11-02T09:00:00+00:00"}}}
    return encrypt_to(json.dumps(contents).encode(), [school["recipient"]])


def forger_signature(data: bytes) -> str:
    key = Ed25519PrivateKey.generate()
    return sign(key, public_key_text(key), data, "steward-escrow")


@pytest.mark.parametrize("how", ["unsigned", "signed by another key", "genuine signature of "
                                 "another bundle"])
def test_refuses_a_bundle_forged_for_the_head_teachers_public_key(school, capsys, monkeypatch,
                                                                  how):
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    forged = school["tmp"] / "escrow.age"
    forged.write_bytes(forged_codes(school))
    if how == "signed by another key":
        signature_path(forged).write_text(forger_signature(forged.read_bytes()))
    elif how == "genuine signature of another bundle":
        shutil.copy(signature_path(bundle_path_of(school)), signature_path(forged))
    code, out = open_as_head(school, capsys, forged)
    assert code == 1
    assert CHOSEN_CODES not in out.out + out.err
    assert "Traceback" not in out.err
    assert {"unsigned": "has no signature beside it",
            "signed by another key": "is NOT signed by the Steward key you hold",
            "genuine signature of another bundle": "was altered or forged"}[how] in out.err


def steward_signed(school, data: bytes, name: str) -> Path:
    """A file signed with Steward's own key: what a bug, a half-written disk or a future format
    could leave; opening it must still give a plain answer."""
    path = school["tmp"] / name
    path.write_bytes(data)
    key = audit_signing_key(school["state"])
    signature_path(path).write_text(sign(key, public_key_text(key), data, "steward-escrow"))
    return path


def payload(**changes) -> bytes:
    contents = {"format": "steward-escrow-v2", "school": "Oakfield Primary School",
                "created_at": "2026-11-02T09:00:00+00:00", "recipients": ["Head Teacher"],
                "secrets": {"facebook.page_access_token": {
                    "kind": "platform", "value": TOKEN, "set_at": "2026-11-02T09:00:00+00:00"}}}
    for key, value in changes.items():
        if value is None:
            contents.pop(key)
        else:
            contents[key] = value
    return json.dumps(contents).encode()


MALFORMED = {
    "truncated": (lambda school: encrypt_to(payload(), [school["recipient"]])[:-40],
                  "it is damaged or was changed"),
    "not age at all": (lambda school: b"PK\x03\x04 a zip file, say", "not an age-encrypted file"),
    "an empty file": (lambda school: b"", "not an age-encrypted file"),
    "not JSON inside": (lambda school: encrypt_to(b"\x00\xff not json", [school["recipient"]]),
                        "does not hold Steward's JSON"),
    "a list, not an object": (lambda school: encrypt_to(b"[1, 2]", [school["recipient"]]),
                              "contents are not what Steward writes"),
    "a secret's value is a number": (
        lambda school: encrypt_to(payload(secrets={"x.access_token": {
            "kind": "platform", "value": 12345, "set_at": "2026-11-02T09:00:00+00:00"}}),
            [school["recipient"]]), "secrets.x.access_token.value"),
    "secrets is a list": (lambda school: encrypt_to(payload(secrets=["a", "b"]),
                                                    [school["recipient"]]), "secrets"),
    "no secrets at all": (lambda school: encrypt_to(payload(secrets=None),
                                                    [school["recipient"]]), "secrets"),
    "an unknown kind": (lambda school: encrypt_to(payload(secrets={"x": {
        "kind": "other", "value": "v", "set_at": "2026-11-02T09:00:00+00:00"}}),
        [school["recipient"]]), "secrets.x.kind"),
    "a date that is not a date": (lambda school: encrypt_to(payload(created_at="yesterday"),
                                                            [school["recipient"]]),
                                  "created_at"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_bundle_gets_a_plain_error_never_a_traceback(school, capsys, kind):
    make, said = MALFORMED[kind]
    bundle = steward_signed(school, make(school), "malformed.age")
    code, out = open_as_head(school, capsys, bundle)
    assert code == 1
    assert out.err.startswith("steward escrow: ")
    assert said in out.err
    assert TOKEN not in out.out + out.err


@pytest.mark.parametrize("signature", ["", "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH "
                                       "SIGNATURE-----\n", "not a signature", "\x00\x01"])
def test_a_damaged_signature_file_gets_a_plain_error(school, capsys, signature):
    bundle = steward_signed(school, encrypt_to(payload(), [school["recipient"]]), "e.age")
    signature_path(bundle).write_text(signature)
    code, out = open_as_head(school, capsys, bundle)
    assert code == 1
    assert "is not a signature" in out.err and "Traceback" not in out.err


def test_open_without_stewards_key_refuses_and_says_where_to_get_it(school, capsys,
                                                                    monkeypatch):
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    bare = school["tmp"] / "bare.age-key"
    lines = [line for line in school["head_key"].read_text().splitlines()
             if not line.startswith("# steward")]
    bare.write_text("\n".join(lines) + "\n")
    os.chmod(bare, 0o600)
    capsys.readouterr()
    code = main(["escrow", "open", "--key", str(bare), "--config", str(school["config"])])
    err = capsys.readouterr().err
    assert code == 2
    assert "--signer" in err and "steward escrow signer" in err
    assert main(["escrow", "open", "--key", str(bare), "--config", str(school["config"]),
                 "--signer", school["stewards_key"]]) == 0


def test_signer_prints_the_key_a_holder_checks_with(school, capsys):
    capsys.readouterr()
    assert main(["escrow", "signer", "--config", str(school["config"])]) == 0
    out = capsys.readouterr().out
    assert school["stewards_key"] in out
    assert 'steward namespaces="steward-escrow" ssh-ed25519 AAAA' in out
    assert "SHA256:" in out


def test_verify_notices_a_bundle_replaced_by_a_forgery(school, capsys, monkeypatch):
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    assert main(["escrow", "verify", "--config", str(school["config"])]) == 0
    bundle_path_of(school).write_bytes(forged_codes(school))
    capsys.readouterr()
    assert main(["escrow", "verify", "--config", str(school["config"])]) == 1
    assert "signature does not match" in capsys.readouterr().out


def test_keys_of_the_format_before_age_keep_working_and_convert_to_age(tmp_path, capsys,
                                                                        monkeypatch):
    """Configurations and holders' key files from before age: the same X25519 keys."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import (  # noqa: PLC0415
        X25519PrivateKey,
    )
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        Encoding,
        PublicFormat,
    )

    private = X25519PrivateKey.generate()
    old_public = b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    old_key = tmp_path / "head-teacher.escrow-key"
    old_key.write_text(json.dumps({"name": "Head Teacher",
                                   "private_key": b64(private.private_bytes_raw())}))
    os.chmod(old_key, 0o600)
    state = tmp_path / "state"
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state}"\n'
                      f'[credentials]\nmaster_key_file = "{tmp_path / "master.key"}"\n'
                      '[[escrow.recipients]]\nname = "Head Teacher"\nrole = "head teacher"\n'
                      f'public_key = "{old_public}"\n')
    school = {"config": config}
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    capsys.readouterr()
    assert main(["escrow", "verify", "--config", str(config)]) == 0
    assert "older format; it still works" in capsys.readouterr().out
    stewards_key = public_key_text(audit_signing_key(state))
    assert main(["escrow", "open", "--key", str(old_key), "--config", str(config),
                 "--signer", stewards_key]) == 0
    out = capsys.readouterr()
    assert TOKEN in out.out and "steward escrow convert-key" in out.err
    converted = tmp_path / "head-teacher.age-key"
    assert main(["escrow", "convert-key", str(old_key), "--out", str(converted), "--signer",
                 stewards_key]) == 0
    identity = next(line for line in converted.read_text().splitlines()
                    if line.startswith("AGE-SECRET-KEY-1"))
    plain = pyrage.decrypt((state / "escrow.age").read_bytes(),
                           [pyrage.x25519.Identity.from_str(identity)])
    assert json.loads(plain)["secrets"]["facebook.page_access_token"]["value"] == TOKEN


def test_rebuild_removes_a_bundle_of_the_old_format(school, capsys, monkeypatch):
    old = school["state"] / "escrow.json"
    old.write_text('{"version": 1, "ciphertext": "..."}')
    set_secret(school, monkeypatch, "credentials", "set", "facebook.page_access_token")
    assert not old.exists()
    assert bundle_path_of(school).exists()
