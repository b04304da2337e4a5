"""Handing the accounts over, end to end against the sandbox."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from config.settings import PathSettings, RecipientSettings, StewardSettings
from daemon.approval import audit_signing_key, public_key_text, verify_signature
from daemon.audit import AuditLog
from daemon.clock import Clock
from daemon.escrow import EscrowError, bundle_path, open_bundle, rebuild
from daemon.handover import Handover, HandoverError
from daemon.mail import Mailer
from daemon.platforms import build_connectors, connectors_for_command
from daemon.sealing import b64, load_private, new_keypair
from daemon.store import Store
from daemon.vault import Vault, key_id, with_vault_secrets
from sandbox.app import start_sandbox
from sandbox.state import DEFAULT_X_CREDENTIALS


def person(name, role):
    private, public = new_keypair()
    return RecipientSettings(name=name, role=role, public_key=b64(public)), load_private(private)


@pytest.fixture
def school(tmp_path):
    (head, head_key), (old, old_key), (new, new_key) = (
        person("Head Teacher", "head teacher"), person("Alex Admin", "administrator"),
        person("Sam Admin", "administrator"))
    settings = StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"),
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
    with pytest.raises(EscrowError, match="not encrypted to 'Alex Admin'"):
        open_bundle(bundle_path(settings), keys["old"], "Alex Admin")
    assert open_bundle(bundle_path(settings), keys["new"], "Sam Admin")["secrets"]
    assert open_bundle(bundle_path(settings), keys["head"], "Head Teacher")["secrets"]
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
    assert open_bundle(bundle_path(settings), keys["old"], "Alex Admin")["secrets"]


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
        open_bundle(bundle_path(settings), keys["old"], "Alex Admin")


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

    from daemon.cli import no_core_dumps  # noqa: PLC0415

    no_core_dumps()
    assert resource.getrlimit(resource.RLIMIT_CORE)[0] == 0
