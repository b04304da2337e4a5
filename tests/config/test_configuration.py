"""The configuration: one source of truth, clear errors with paths, secrets never echoed."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from config.example import EXAMPLE_FILE, generate_example, render_settings
from config.loading import ConfigurationError, load_settings
from config.settings import StewardSettings
from daemon.cli.main import main


def all_fields(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        yield f"{prefix}{name}", field
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from all_fields(candidate, f"{prefix}{name}.")


def test_every_setting_is_described():
    undescribed = [path for path, field in all_fields(StewardSettings) if not field.description]
    assert undescribed == []


def test_the_committed_example_is_a_fresh_generation():
    assert EXAMPLE_FILE.read_text(encoding="utf-8") == generate_example(), \
        "config/example.toml is stale: run `steward config generate --write`"


def test_the_committed_example_is_valid():
    settings = load_settings(EXAMPLE_FILE)
    assert settings.mode == "sandbox"


def test_refuses_an_unknown_key_naming_its_path_and_suggesting_the_right_one(tmp_path):
    path = tmp_path / "steward.toml"
    path.write_text('[x]\nreply_setings = "following"\n')
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)
    assert "x.reply_setings: unknown key; did you mean 'reply_settings'?" in str(caught.value)


def test_refuses_a_misspelt_section(tmp_path):
    path = tmp_path / "steward.toml"
    path.write_text('[publsihing]\ngrace_minutes = 5\n')
    with pytest.raises(ConfigurationError, match="publsihing: unknown key; did you mean "
                       "'publishing'"):
        load_settings(path)


def test_never_echoes_a_secret_put_in_the_wrong_place(tmp_path):
    secret = "sk-live-5f1e2d3c4b5a69788796a5b4c3d2e1f0"
    path = tmp_path / "steward.toml"
    path.write_text(f'[x]\nconsumer_secret = ["{secret}"]\nplan = "{secret}"\n'
                    f'[school]\nname = {{ value = "{secret}" }}\n')
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)
    assert secret not in str(caught.value)
    assert "x.consumer_secret" in str(caught.value)


def test_reports_invalid_toml_with_its_location(tmp_path):
    path = tmp_path / "steward.toml"
    path.write_text('[school]\nname = "unterminated\n')
    with pytest.raises(ConfigurationError, match="not valid TOML .*line 2"):
        load_settings(path)


def test_an_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigurationError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_environment_variables_override_the_file(tmp_path, monkeypatch):
    path = tmp_path / "steward.toml"
    path.write_text('[x]\nplan = "basic"\n')
    monkeypatch.setenv("STEWARD_X__PLAN", "enterprise")
    assert load_settings(path).x.plan == "enterprise"


def test_secrets_come_from_the_systemd_credentials_directory(tmp_path, monkeypatch):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "facebook.page_access_token").write_text("EAAB-page-token-value\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    settings = load_settings()
    assert settings.facebook.page_access_token.get_secret_value() == "EAAB-page-token-value"
    assert "EAAB-page-token-value" not in repr(settings)


def test_live_mode_lists_every_missing_credential(tmp_path):
    """The secrets may be in the vault, read after the file: the file alone is not refused,
    and what is still missing once the vault is read is named, each one."""
    path = tmp_path / "steward.toml"
    path.write_text('mode = "live"\n[facebook]\nenabled = false\n')
    assert load_settings(path).missing_credentials() == [
        "x.consumer_key", "x.consumer_secret", "x.access_token", "x.access_token_secret"]


def test_live_mode_needs_the_page_named_in_the_file(tmp_path):
    path = tmp_path / "steward.toml"
    path.write_text('mode = "live"\n[x]\nenabled = false\n')
    with pytest.raises(ConfigurationError, match="facebook.page_id"):
        load_settings(path)


def test_refuses_an_unknown_time_zone(tmp_path):
    path = tmp_path / "steward.toml"
    path.write_text('[school]\ntime_zone = "Europe/Londn"\n')
    with pytest.raises(ConfigurationError, match="school.time_zone: 'Europe/Londn' is not a "
                       "known IANA time zone"):
        load_settings(path)


def test_show_redacts_secrets(monkeypatch):
    monkeypatch.setenv("STEWARD_X__CONSUMER_SECRET", "very-secret-consumer-value")
    shown = render_settings(load_settings())
    assert "very-secret-consumer-value" not in shown
    assert 'consumer_secret = "**********"' in shown


def test_config_validate_exits_2_on_a_typo_and_names_the_key(tmp_path, capsys):
    path = tmp_path / "steward.toml"
    path.write_text('[intake]\nsettle_secs = 3\n')
    assert main(["config", "validate", "--config", str(path)]) == 2
    assert "intake.settle_secs: unknown key" in capsys.readouterr().err


def test_config_validate_exits_0_on_the_example(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("STEWARD_PATHS__STATE_DIR", str(tmp_path))  # not this machine's state
    assert main(["config", "validate", "--config", str(EXAMPLE_FILE)]) == 0
    assert "configuration OK" in capsys.readouterr().out


def test_config_validate_names_each_secret_live_mode_lacks_and_how_to_set_it(capsys, tmp_path):
    path = tmp_path / "steward.toml"
    path.write_text(f'mode = "live"\n[paths]\nstate_dir = "{tmp_path}"\n'
                    '[facebook]\npage_id = "102030405060708"\n')
    assert main(["config", "validate", "--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert "x.access_token_secret" in error and "facebook.page_access_token" in error
    assert "sudo steward admin credentials set" in error


def test_config_validate_takes_the_secrets_from_the_vault(capsys, tmp_path, monkeypatch):
    from daemon.credentials.vault import Vault  # noqa: PLC0415

    key = tmp_path / "master.key"
    path = tmp_path / "steward.toml"
    path.write_text(f'mode = "live"\n[paths]\nstate_dir = "{tmp_path / "state"}"\n'
                    f'[credentials]\nmaster_key_file = "{key}"\n[x]\nenabled = false\n'
                    '[facebook]\npage_id = "102030405060708"\n')
    vault = Vault(load_settings(path), create=True)
    vault.set("facebook.page_access_token", "EAAG-a-page-token-for-the-test")
    assert main(["config", "validate", "--config", str(path)]) == 0
    assert "configuration OK" in capsys.readouterr().out


def test_config_validate_names_the_default_file_it_read_when_none_is_given(capsys, tmp_path,
                                                                          monkeypatch):
    """As under `sudo steward admin config validate`: no --config, the installed file read."""
    path = tmp_path / "steward.toml"
    path.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    monkeypatch.setenv("STEWARD_CONFIG_FILE", str(path))
    assert main(["config", "validate"]) == 0
    assert capsys.readouterr().out.startswith(f"configuration OK ({path}): ")


def test_config_validate_says_defaults_only_when_there_is_no_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("STEWARD_CONFIG_FILE", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("STEWARD_PATHS__STATE_DIR", str(tmp_path / "state"))
    assert main(["config", "validate"]) == 0
    assert capsys.readouterr().out.startswith("configuration OK (defaults): ")


def test_config_generate_prints_the_example(capsys):
    assert main(["config", "generate"]) == 0
    assert capsys.readouterr().out == generate_example()
