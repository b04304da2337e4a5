"""`steward reconcile` talks to the platforms with the credentials in the vault, exactly as the
daemon does (finding 13: it used the configuration alone, and X answered 401, Facebook 190)."""

from __future__ import annotations

import json

from config.settings import PathSettings, StewardSettings
from daemon.cli.main import main
from daemon.credentials.vault import Vault
from sandbox.state import SandboxState

SCHOOL_X = {"consumer_key": "school-consumer-key", "consumer_secret": "school-consumer-secret",
            "access_token": "1500000000000000001-schoolaccesstoken",
            "access_token_secret": "school-access-token-secret"}
SCHOOL_PAGE_TOKEN = "EAAG-school-page-token"


def test_reconcile_uses_the_credentials_held_only_in_the_vault(tmp_path, capsys):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    # A sandbox that, like the real platforms, accepts only the school's own credentials.
    with SandboxState(state_dir / "sandbox-state.json").change() as world:
        world["x"]["credentials"].update(SCHOOL_X)
        world["facebook"]["page_access_token"] = SCHOOL_PAGE_TOKEN
    key_file = tmp_path / "keys" / "master.key"
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state_dir}"\n'
                      f'[credentials]\nmaster_key_file = "{key_file}"\n')
    settings = StewardSettings(paths=PathSettings(state_dir=state_dir),
                               credentials={"master_key_file": key_file})
    vault = Vault(settings, create=True)
    vault.set_many({f"x.{name}": value for name, value in SCHOOL_X.items()})
    vault.set("facebook.page_access_token", SCHOOL_PAGE_TOKEN)
    capsys.readouterr()

    code = main(["reconcile", "--dry-run", "--json", "--config", str(config)])

    plan = json.loads(capsys.readouterr().out)
    notes = [note for outcome in plan["outcomes"] for note in outcome["notes"]]
    assert not [note for note in notes if note.startswith("stopped:")], notes
    assert {outcome["platform"] for outcome in plan["outcomes"]} == {"x", "facebook"}
    assert code == 0


def test_reconcile_says_it_failed_when_a_platform_refuses_the_credentials(tmp_path, capsys):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with SandboxState(state_dir / "sandbox-state.json").change() as world:
        world["x"]["credentials"].update(SCHOOL_X)  # and Steward has none of them
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state_dir}"\n'
                      f'[credentials]\nmaster_key_file = "{tmp_path / "master.key"}"\n'
                      '[facebook]\nenabled = false\n')
    capsys.readouterr()

    code = main(["reconcile", "--dry-run", "--config", str(config)])

    out = capsys.readouterr().out
    assert "stopped:" in out
    assert code == 1
