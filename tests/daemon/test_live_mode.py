"""Live mode takes its secrets from the vault, as `steward admin credentials set` stores them,
and will not start without them, naming each one and the command that sets it. The platforms
here are the sandbox on loopback, named as the platforms' addresses (x.api_url,
facebook.graph_url), so nothing reaches a real platform."""

from __future__ import annotations

import pytest

from config.settings import (
    CredentialSettings,
    FacebookSettings,
    PathSettings,
    StewardSettings,
    XSettings,
)
from daemon.credentials.vault import Vault
from daemon.runtime.clock import Clock
from daemon.service import Service, StartupError
from sandbox.app import start_sandbox
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_X_CREDENTIALS

pytestmark = pytest.mark.slow


@pytest.fixture
def platforms(tmp_path):
    server = start_sandbox(state_file=tmp_path / "platforms.json")
    yield server
    server.stop()


def live_settings(tmp_path, platforms) -> StewardSettings:
    return StewardSettings(
        mode="live",
        paths=PathSettings(state_dir=tmp_path / "state"),
        credentials=CredentialSettings(master_key_file=tmp_path / "master.key"),
        x=XSettings(api_url=platforms.url),
        facebook=FacebookSettings(page_id=DEFAULT_FACEBOOK_CREDENTIALS["page_id"],
                                  graph_url=platforms.url))


def test_live_mode_runs_on_the_secrets_in_the_vault_alone(tmp_path, platforms):
    settings = live_settings(tmp_path, platforms)
    vault = Vault(settings, create=True)
    for name, value in DEFAULT_X_CREDENTIALS.items():
        vault.set(f"x.{name}", value)
    vault.set("facebook.page_access_token", DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"])
    service = Service(settings, Clock())
    service.start()
    try:
        assert service.platform_health == {"x": True, "facebook": True}
    finally:
        service.stop("test finished")


def test_live_mode_without_a_secret_names_it_and_the_command_that_sets_it(tmp_path, platforms):
    settings = live_settings(tmp_path, platforms)
    vault = Vault(settings, create=True)
    for name, value in DEFAULT_X_CREDENTIALS.items():
        vault.set(f"x.{name}", value)
    service = Service(settings, Clock())
    with pytest.raises(StartupError) as refused:
        service.start()
    service.stop("refused")
    assert "facebook.page_access_token" in str(refused.value)
    assert "sudo steward admin credentials set facebook.page_access_token" in str(refused.value)


def test_a_vault_that_cannot_be_opened_stops_the_start_with_the_reason(tmp_path, platforms):
    settings = live_settings(tmp_path, platforms)
    Vault(settings, create=True).set("facebook.page_access_token", "EAAG-a-page-token")
    (tmp_path / "master.key").unlink()  # the key is gone: the vault's secrets cannot be read
    service = Service(settings, Clock())
    with pytest.raises(StartupError, match="the vault .* cannot be opened"):
        service.start()
    service.stop("refused")


def test_status_says_whether_the_daemon_is_running_and_since_when(tmp_path, capsys):
    from config.settings import SandboxSettings  # noqa: PLC0415
    from daemon.cli.status import print_status  # noqa: PLC0415

    settings = StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"),
                               sandbox=SandboxSettings(state_file=tmp_path / "sandbox.json"))
    service = Service(settings, Clock())
    service.start()
    try:
        print_status(settings)
        assert "Daemon: running since" in capsys.readouterr().out
        second = Service(settings, Clock())
        with pytest.raises(StartupError, match="another Steward is already running"):
            second.start()
        second.stop("refused")
    finally:
        service.stop("test finished")
    print_status(settings)
    shown = capsys.readouterr().out
    assert "Daemon: NOT RUNNING" in shown and "when the daemon last ran" in shown
