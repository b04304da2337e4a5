"""Handing the accounts over, end to end against the sandbox."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from config.settings import PathSettings, RecipientSettings, StewardSettings
from daemon.accounts.platforms import build_connectors, connectors_for_command
from daemon.audit.chain import AuditLog
from daemon.cli.main import main
from daemon.credentials.escrow import EscrowError, bundle_path, open_bundle, rebuild
from daemon.credentials.handover import Handover, HandoverError
from daemon.credentials.sealing import new_identity
from daemon.credentials.vault import Vault, key_id, with_vault_secrets
from daemon.runtime.clock import Clock
from daemon.runtime.keys import audit_signing_key, public_key_text, verify_signature
from daemon.runtime.mail import Mailer
from daemon.runtime.store import Store
from sandbox.app import start_sandbox
from sandbox.state import DEFAULT_X_CREDENTIALS


def person(name, role):
    identity, public = new_identity()
    return RecipientSettings(name=name, role=role, public_key=public), [identity]


def stewards_key(settings) -> str:
    return public_key_text(audit_signing_key(settings.paths.state_dir))


@pytest.fixture
def school(tmp_path):
    (head, head_key), (old, old_key), (new, new_key) = (
        person("Head Teacher", "head teacher"), person("Alex Admin", "administrator"),
        person("Sam Admin", "administrator"))
    settings = StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"),
                               credentials={"master_key_file": tmp_path / "keys" / "master.key"},
                               escrow={"recipients": [head, old, new]})
    vault = Vault(settings, create=True)
    for name, value in DEFAULT_X_CREDENTIALS.items():
        vault.set(f"x.{name}", value)
    rebuild(settings, vault, set())
    store = Store(settings.paths.state_dir / "steward.sqlite3")
    audit = AuditLog(settings.paths.state_dir / "audit.jsonl")
    yield settings, store, audit, {"head": head_key, "old": old_key, "new": new_key}
    store.close()
    audit.close()


def handover(settings, store, audit, factory=None) -> Handover:
    return Handover(settings, store, audit, Clock(),
                    Mailer(settings.mail, settings.paths.state_dir / "outbox"),
                    factory or (lambda: connectors_for_command(with_vault_secrets(settings))))


def sandbox_world(settings) -> dict:
    return json.loads((settings.paths.state_dir / "sandbox-state.json").read_text())


def test_a_handover_revokes_the_old_token_and_moves_the_escrow(school):
    settings, store, audit, keys = school
    key_before = key_id(Vault(settings).key)
    report = handover(settings, store, audit).run("Alex Admin", "Sam Admin", "left the school")
    credentials = sandbox_world(settings)["x"]["credentials"]
    assert credentials["access_token"] is None
    assert DEFAULT_X_CREDENTIALS["access_token"] in credentials["revoked"]
    assert key_id(Vault(settings).key) != key_before
    with pytest.raises(EscrowError, match="not encrypted to this key"):
        open_bundle(bundle_path(settings), keys["old"], stewards_key(settings))
    assert open_bundle(bundle_path(settings), keys["new"], stewards_key(settings))["secrets"]
    assert open_bundle(bundle_path(settings), keys["head"], stewards_key(settings))["secrets"]
    receipt = Path(report["receipt"])
    signature = Path(str(receipt) + ".sig").read_text().strip()
    public = public_key_text(audit_signing_key(settings.paths.state_dir))
    assert verify_signature(public, receipt.read_bytes(), signature)
    assert not verify_signature(public, receipt.read_bytes() + b" ", signature)
    assert "Reset two-factor authentication" in " ".join(report["checklist"])


def test_after_re_authorisation_the_new_token_works(school):
    settings, store, audit, _ = school
    handover(settings, store, audit).run("Alex Admin", "Sam Admin", "left the school")
    server = start_sandbox(state_file=settings.paths.state_dir / "sandbox-state.json")
    try:
        issued = requests.post(f"{server.url}/_sandbox/x/tokens", timeout=5).json()
        vault = Vault(settings)
        vault.set("x.access_token", issued["access_token"])
        vault.set("x.access_token_secret", issued["access_token_secret"])
        connector = build_connectors(with_vault_secrets(settings), server.url)["x"]
        assert connector.check().handle == "OakfieldPrimary"
    finally:
        server.stop()


def test_a_handover_to_an_unknown_administrator_changes_nothing(school):
    settings, store, audit, keys = school
    key_before = key_id(Vault(settings).key)
    with pytest.raises(HandoverError, match="'Pat Unknown' is not a configured administrator"):
        handover(settings, store, audit).run("Alex Admin", "Pat Unknown", "left")
    assert key_id(Vault(settings).key) == key_before
    assert open_bundle(bundle_path(settings), keys["old"], stewards_key(settings))["secrets"]


def test_an_interrupted_handover_finishes_without_repeating_its_steps(school):
    settings, store, audit, keys = school

    @contextmanager
    def power_cut():
        raise KeyboardInterrupt  # the machine goes down as the platforms are contacted
        yield

    with pytest.raises(KeyboardInterrupt):
        handover(settings, store, audit, power_cut).run("Alex Admin", "Sam Admin", "left")
    key_after_rotation = key_id(Vault(settings).key)
    report = handover(settings, store, audit).run("Alex Admin", "Sam Admin", "left")
    assert key_id(Vault(settings).key) == key_after_rotation  # not rotated twice
    assert list(report["steps"]) == ["validate", "rotate-master-key", "remove-old", "add-new",
                                     "revoke-tokens", "re-escrow", "checklist", "receipt"]
    events = [json.loads(line)["event"] for line in
              (settings.paths.state_dir / "audit.jsonl").read_text().splitlines()]
    assert events.count("handover.rotate-master-key") == 1
    with pytest.raises(EscrowError):
        open_bundle(bundle_path(settings), keys["old"], stewards_key(settings))


def test_the_daemon_warns_days_before_a_page_token_expires(tmp_path):
    import time  # noqa: PLC0415

    from sandbox.state import SandboxState  # noqa: PLC0415
    from tests.daemon.harness import StewardUnderTest  # noqa: PLC0415

    (tmp_path / "s").mkdir()
    with SandboxState(tmp_path / "s" / "sandbox-state.json").change() as world:
        world["facebook"]["token_expires_at"] = int(time.time()) + 3 * 86400
    steward = StewardUnderTest(tmp_path / "s")
    steward.start()
    try:
        steward.service.check_credentials()
        [problem] = steward.events_named("credentials.problem")
        assert "facebook: the token expires on" in problem["problems"][0]
    finally:
        steward.stop()


def test_a_credentials_alert_that_cannot_be_sent_is_recorded_and_kept_in_the_outbox(tmp_path):
    import socket  # noqa: PLC0415
    import time  # noqa: PLC0415

    from sandbox.state import SandboxState  # noqa: PLC0415
    from tests.daemon.harness import StewardUnderTest  # noqa: PLC0415

    with socket.socket() as probe:  # a loopback port nobody listens on: the mail server is down
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    (tmp_path / "s").mkdir()
    with SandboxState(tmp_path / "s" / "sandbox-state.json").change() as world:
        world["facebook"]["token_expires_at"] = int(time.time()) + 3 * 86400
    steward = StewardUnderTest(tmp_path / "s")
    steward.settings.mail.administrators = ["it.admin@school.example"]
    steward.settings.mail.smtp_host, steward.settings.mail.smtp_port = "127.0.0.1", closed_port
    steward.start()
    try:
        steward.service.check_credentials()
        assert steward.events_named("credentials.problem")
        [failed] = steward.events_named("alert.mail_failed")
        assert failed["level"] == "error"
        kept = [path.read_text() for path in (steward.state_dir / "outbox").rglob("*")
                if path.is_file()]
        assert any("Credentials need attention" in message for message in kept)
    finally:
        steward.stop()


def test_commands_forbid_core_dumps():
    import resource  # noqa: PLC0415

    from daemon.cli.main import no_core_dumps  # noqa: PLC0415

    no_core_dumps()
    assert resource.getrlimit(resource.RLIMIT_CORE)[0] == 0


def config_file(settings) -> Path:
    """The fixture's settings as a configuration file, for the commands."""
    path = settings.paths.state_dir.parent / "steward.toml"
    lines = [f'[paths]\nstate_dir = "{settings.paths.state_dir}"',
             f'[credentials]\nmaster_key_file = "{settings.credentials.master_key_file}"']
    for recipient in settings.escrow.recipients:
        lines.append(f'[[escrow.recipients]]\nname = "{recipient.name}"\nrole = '
                     f'"{recipient.role}"\npublic_key = "{recipient.public_key}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_verify_is_not_ok_while_secrets_the_old_administrator_holds_still_work(school, capsys):
    """Finding 12: after a handover the outgoing administrator's copy of the old bundle still
    holds the X app's keys, which work until a person regenerates them."""
    settings, store, audit, keys = school
    old_copy = settings.paths.state_dir.parent / "alex-copy.age"
    old_copy.write_bytes(bundle_path(settings).read_bytes())
    Path(str(old_copy) + ".sig").write_bytes(Path(str(bundle_path(settings)) + ".sig")
                                             .read_bytes())
    report = handover(settings, store, audit).run("Alex Admin", "Sam Admin", "left the school")
    kept = open_bundle(old_copy, keys["old"], stewards_key(settings))["secrets"]
    assert kept["x.consumer_secret"]["value"] == Vault(settings).get("x.consumer_secret")
    config = str(config_file(settings))
    capsys.readouterr()

    assert main(["escrow", "verify", "--config", config]) == 1
    out = capsys.readouterr().out
    assert "OUTSTANDING since Alex Admin handed over" in out
    assert "regenerate the API Key and Secret" in out
    assert "Steward still holds the old x.consumer_key, x.consumer_secret" in out
    assert "steward handover confirm handover:1:x-app-keys" in out
    assert set(report["checklist_keys"]) >= {"handover:1:x-app-keys",
                                             "handover:1:facebook-page-token"}

    assert main(["handover", "confirm", "handover:1:x-app-keys", "--config", config]) == 1
    assert "the vault still holds x.consumer_key" in capsys.readouterr().err
    vault = Vault(settings)
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        vault.set(f"x.{name}", f"regenerated-{name}")
    for key in report["checklist_keys"]:
        assert main(["handover", "confirm", key, "--config", config]) == 0
    capsys.readouterr()
    assert main(["escrow", "rebuild", "--config", config]) == 0
    assert main(["escrow", "verify", "--config", config]) == 0
    assert "OUTSTANDING" not in capsys.readouterr().out
    confirmed = [json.loads(line) for line in
                 (settings.paths.state_dir / "audit.jsonl").read_text().splitlines()
                 if '"handover.item_confirmed"' in line]
    assert {event["key"] for event in confirmed} == set(report["checklist_keys"])
    assert all(event["by"] for event in confirmed)


def test_outstanding_handover_items_fail_the_credentials_check_and_the_daily_check(school,
                                                                                  capsys):
    settings, store, audit, _ = school
    handover(settings, store, audit).run("Alex Admin", "Sam Admin", "left the school")
    capsys.readouterr()
    assert main(["credentials", "check", "--config", str(config_file(settings))]) == 1
    assert "OUTSTANDING since Alex Admin handed over" in capsys.readouterr().out
    assert main(["reconcile", "--confirm", "handover:1:x-app-keys", "--config",
                 str(config_file(settings))]) == 1  # the same check by the other door
    from tests.daemon.harness import StewardUnderTest  # noqa: PLC0415

    steward = StewardUnderTest(settings.paths.state_dir.parent)  # the same state directory
    steward.settings.escrow = settings.escrow
    steward.settings.credentials = settings.credentials
    steward.start()
    try:
        steward.service.check_credentials()
        [problem] = steward.events_named("credentials.problem")
        assert any(line.startswith("OUTSTANDING since Alex Admin handed over")
                   for line in problem["problems"])
    finally:
        steward.stop()


def test_confirming_an_unknown_item_says_where_the_list_is(school, capsys):
    settings, _, _, _ = school
    assert main(["handover", "confirm", "handover:9:nothing", "--config",
                 str(config_file(settings))]) == 1
    assert "steward escrow verify" in capsys.readouterr().err


def test_a_handover_asks_for_a_new_meta_app_secret_only_where_steward_holds_one(tmp_path):
    from daemon.credentials.handover import rotation_items  # noqa: PLC0415

    paths = PathSettings(state_dir=tmp_path / "state")
    holding = StewardSettings(paths=paths, facebook={"app_secret": "an-app-secret"})
    items = {item.slug: item.text for item in rotation_items(holding, "Alex Admin")}
    assert "reset the App secret" in items["facebook-app-secret"]
    in_the_vault = rotation_items(StewardSettings(paths=paths), "Alex Admin",
                                  frozenset({"facebook.app_secret"}))
    assert "facebook-app-secret" in {item.slug for item in in_the_vault}
    assert "facebook-app-secret" not in {item.slug for item in rotation_items(
        StewardSettings(paths=paths), "Alex Admin")}
