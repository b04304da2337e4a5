"""X with OAuth 2.0: tokens refreshed with the new pair saved before use, and revoked at a
handover; against the sandbox, with the real tweepy client."""

from __future__ import annotations

import json

import pytest

from config.settings import PathSettings, StewardSettings, XSettings
from connectors.domain import Post
from connectors.errors import AuthenticationFailed
from daemon.accounts.platforms import build_connectors
from daemon.credentials.vault import Vault, with_vault_secrets
from sandbox.app import start_sandbox
from sandbox.state import SandboxState


@pytest.fixture
def oauth2_world(tmp_path):
    state = SandboxState(tmp_path / "sandbox-state.json")
    with state.change() as world:
        world["x"]["credentials"]["bearer_token"] = "sandbox-access-0"
        world["x"]["oauth2"] = {"client_id": "steward-client", "refresh_token": "sandbox-refresh-0"}
    server = start_sandbox(state_file=tmp_path / "sandbox-state.json")
    settings = StewardSettings(paths=PathSettings(state_dir=tmp_path / "state"),
                               credentials={"master_key_file": tmp_path / "keys" / "master.key"},
                               x=XSettings(oauth2_client_id="steward-client"),
                               facebook={"enabled": False})
    vault = Vault(settings, create=True)
    vault.set_many({"x.oauth2_access_token": "sandbox-access-0",
                    "x.oauth2_refresh_token": "sandbox-refresh-0"})
    yield settings, server
    server.stop()


def connector_for(settings, server):
    return build_connectors(with_vault_secrets(settings), server.url)["x"]


def test_posts_with_an_oauth2_bearer_token(oauth2_world):
    settings, server = oauth2_world
    connector = connector_for(settings, server)
    assert connector.user_auth is False
    assert connector.check().handle == "OakfieldPrimary"
    assert connector.publish(Post("Posted with OAuth 2.0")).remote_id


def test_a_refresh_saves_the_new_pair_before_using_it(oauth2_world):
    settings, server = oauth2_world
    connector = connector_for(settings, server)
    connector.refresh()
    vault = Vault(settings)
    assert vault.get("x.oauth2_refresh_token") == "sandbox-refresh-1"
    assert vault.get("x.oauth2_access_token") == "sandbox-access-1"
    assert connector.check()  # the new access token works
    fresh = connector_for(settings, server)  # what a restart would load: the saved pair
    assert fresh.check()
    fresh.refresh()  # and its refresh token is the live one
    assert Vault(settings).get("x.oauth2_refresh_token") == "sandbox-refresh-2"


def test_a_spent_refresh_token_needs_a_person(oauth2_world):
    settings, server = oauth2_world
    stale = connector_for(settings, server)
    connector_for(settings, server).refresh()  # spends refresh-0
    with pytest.raises(AuthenticationFailed, match="re-authorise"):
        stale.refresh()


def test_a_handover_revokes_both_oauth2_tokens(oauth2_world):
    settings, server = oauth2_world
    connector_for(settings, server).invalidate_token()
    world = json.loads(server.state.state_file.read_text())
    assert world["x"]["credentials"]["bearer_token"] is None
    assert world["x"]["oauth2"]["refresh_token"] is None
    with pytest.raises(AuthenticationFailed):
        connector_for(settings, server).check()
