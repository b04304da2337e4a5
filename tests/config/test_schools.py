"""`steward --school NAME` and STEWARD_SCHOOL: a name that could reach a path in any other
shape than a plain word is refused in words, and every default follows the school chosen,
while a single-school installation keeps its paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from config.loading import default_config_file, load_settings
from config.schools import (
    SchoolInstance,
    SchoolNameError,
    checked_school_name,
    for_this_instance,
)
from daemon.cli.main import main
from daemon.credentials.vault import default_key_file
from daemon.runtime.slt_view import default_view_path

HOSTILE = ["../oakfield", "oak/field", "oak.field", ".", "", "Oakfield", "oak field",
           "oak\x1b[2Jfield", "oak\nfield", "oak\u202efield", "-oakfield", "oakfield-",
           "1oakfield", "a" * 20, "oakfield\x00", "ōakfield", "oak\\field", "oak%ifield"]


@pytest.mark.parametrize("name", HOSTILE)
def test_refuses_a_school_name_that_is_not_a_plain_word(name):
    with pytest.raises(SchoolNameError) as refused:
        checked_school_name(name)
    message = str(refused.value)
    assert "cannot be a school's name" in message and message.isprintable()


@pytest.mark.parametrize("name", ["oakfield", "st-marys", "a", "hill2", "a" * 19])
def test_accepts_a_plain_school_name(name):
    assert checked_school_name(name) == name


@pytest.mark.parametrize("name", ["../etc", "oak\x1b]0;pwned\x07", "Oak Field"])
def test_the_command_line_refuses_a_hostile_school_in_words_with_exit_2(name, capsys,
                                                                         monkeypatch):
    monkeypatch.delenv("STEWARD_SCHOOL", raising=False)
    assert main(["--school", name, "status"]) == 2
    error = capsys.readouterr().err
    assert "cannot be a school's name" in error and "Traceback" not in error
    assert "\x1b" not in error and "\x07" not in error


def test_the_environment_is_checked_the_same(capsys, monkeypatch):
    monkeypatch.setenv("STEWARD_SCHOOL", "oak/field")
    assert main(["status"]) == 2
    assert "STEWARD_SCHOOL: 'oak/field' cannot be a school's name" in capsys.readouterr().err


def test_every_default_follows_the_school(monkeypatch):
    for name in ("STEWARD_CONFIG_FILE", "STEWARD_SLT_SETTINGS", "STATE_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STEWARD_SCHOOL", "st-marys")
    assert default_config_file() == Path("/etc/steward/st-marys/steward.toml")
    assert default_view_path() == Path("/srv/steward/st-marys/slt-settings.toml")
    assert default_key_file() == Path("/etc/steward/st-marys/master.key")
    assert SchoolInstance.selected().state_dir == Path("/var/lib/steward/st-marys")
    assert SchoolInstance.selected().unit_name == "steward@st-marys.service"


def test_a_single_school_keeps_its_paths(monkeypatch):
    for name in ("STEWARD_CONFIG_FILE", "STEWARD_SLT_SETTINGS", "STATE_DIRECTORY",
                 "STEWARD_SCHOOL"):
        monkeypatch.delenv(name, raising=False)
    assert default_config_file() == Path("/etc/steward/steward.toml")
    assert default_view_path() == Path("/srv/steward/slt-settings.toml")
    assert default_key_file() == Path("/etc/steward/master.key")
    assert SchoolInstance.selected().unit_file == Path("/etc/systemd/system/steward.service")


def test_the_school_variable_is_not_read_as_the_school_section(monkeypatch, tmp_path):
    """STEWARD_SCHOOL would otherwise be pydantic's STEWARD_ + `school` (the [school] table)."""
    config = tmp_path / "steward.toml"
    config.write_text(f'[school]\nname = "St Mary\'s"\n[paths]\nstate_dir = "{tmp_path}"\n')
    monkeypatch.setenv("STEWARD_SCHOOL", "st-marys")
    settings = load_settings(config)
    assert settings.school.name == "St Mary's"


def test_a_school_without_a_configuration_is_named_not_run_on_defaults(monkeypatch, capsys):
    monkeypatch.delenv("STEWARD_CONFIG_FILE", raising=False)
    monkeypatch.delenv("STEWARD_SCHOOL", raising=False)
    assert main(["--school", "nosuchschool", "status"]) == 2
    error = capsys.readouterr().err
    assert "no configuration for the school nosuchschool" in error


def test_the_school_given_to_one_command_is_not_left_for_the_next(monkeypatch, capsys):
    """`main` run in process (as tests and the demo do): --school is for that command only."""
    monkeypatch.delenv("STEWARD_SCHOOL", raising=False)
    main(["--school", "nosuchschool", "status"])
    import os  # noqa: PLC0415

    assert "STEWARD_SCHOOL" not in os.environ


def test_a_trust_machine_asks_which_school_rather_than_running_on_defaults(
        monkeypatch, tmp_path):
    import config.loading  # noqa: PLC0415
    from config.loading import ConfigurationError  # noqa: PLC0415

    for school in ("oakfield", "st-marys"):
        (tmp_path / school).mkdir()
        (tmp_path / school / "steward.toml").write_text("")
    (tmp_path / "Not A School").mkdir()
    monkeypatch.setattr(config.loading, "CONFIG_ROOT", tmp_path)
    monkeypatch.setattr(config.loading, "DEFAULT_CONFIG_FILE", tmp_path / "steward.toml")
    for name in ("STEWARD_SCHOOL", "STEWARD_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config.loading, "default_config_file", lambda: tmp_path / "steward.toml")
    with pytest.raises(ConfigurationError, match=r"serves a trust of schools \(oakfield, "
                       r"st-marys\): say which school, e\.g\. `steward --school oakfield"):
        load_settings()


def test_what_a_school_is_told_to_type_names_its_instance(monkeypatch):
    monkeypatch.setenv("STEWARD_SCHOOL", "st-marys")
    assert for_this_instance(
        "run `sudo steward admin config validate`; ask IT (`sudo systemctl start steward`), "
        "journalctl -u steward; steward@x and systemctl start steward.service stay") == (
        "run `sudo steward --school st-marys admin config validate`; ask IT (`sudo systemctl "
        "start steward@st-marys`), journalctl -u steward@st-marys; steward@x and systemctl "
        "start steward.service stay")
    monkeypatch.delenv("STEWARD_SCHOOL")
    assert for_this_instance("sudo steward admin run") == "sudo steward admin run"


def test_a_schools_missing_secrets_are_set_with_its_own_command(monkeypatch, tmp_path, capsys):
    """Tried in a Debian 13 chroot: `sudo steward --school oakfield admin config validate`
    said to store each secret with `sudo steward admin credentials set NAME`, which on a
    trust's machine runs no school's instance."""
    monkeypatch.delenv("STEWARD_SCHOOL", raising=False)
    config = tmp_path / "steward.toml"
    config.write_text(f'mode = "live"\n[facebook]\npage_id = "100000000000001"\n'
                      f'[paths]\nstate_dir = "{tmp_path}"\n'
                      f'[credentials]\nmaster_key_file = "{tmp_path}/master.key"\n')
    assert main(["--school", "oakfield", "config", "validate", "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert "sudo steward --school oakfield admin credentials set x.consumer_key" in error
    assert "sudo steward admin" not in error


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run a command as another user")
def test_on_a_trust_an_slt_member_without_a_school_is_asked_which_not_refused():
    """Tried in a Debian 13 chroot as an SLT member: `steward status` without --school ended
    '/etc/steward/oakfield/steward.toml: deputy.head may not open it', because looking for
    the trust's schools met their closed folders (0750), instead of naming the schools."""
    base = Path(tempfile.mkdtemp())  # in /tmp: pytest's own folders are closed to `nobody`
    try:
        base.chmod(0o755)
        for school in ("oakfield", "st-marys"):
            (base / school).mkdir(mode=0o750)
            (base / school / "steward.toml").write_text("# the school's own\n")
        program = ("import sys, pathlib, config.loading as loading; "
                   f"loading.CONFIG_ROOT = pathlib.Path({str(base)!r}); "
                   "from daemon.cli.main import main; sys.exit(main(['status']))")
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith("STEWARD_") and key != "STATE_DIRECTORY"}
        done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                               "--clear-groups", sys.executable, "-c", program],
                              capture_output=True, text=True, timeout=120, env=environment,
                              cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 2, done.stderr
        assert "this machine serves a trust of schools (oakfield, st-marys)" in done.stderr
        assert "steward --school oakfield" in done.stderr and "may not open" not in done.stderr
    finally:
        shutil.rmtree(base)


def test_a_school_is_named_once_and_before_admin(monkeypatch, capsys):
    """A trust may give a school's administrator `sudo steward --school oakfield *`. With
    --school given again after it, the last one won: oakfield's administrator ran St Mary's
    instance as root. And `admin --school st-marys ...` ran oakfield's service user on St
    Mary's paths."""
    monkeypatch.delenv("STEWARD_SCHOOL", raising=False)
    assert main(["--school", "oakfield", "--school", "st-marys", "status"]) == 2
    assert "--school was given 2 times: give it once" in capsys.readouterr().err
    for words in (["--school", "st-marys"], ["--school=st-marys"]):
        assert main(["--school", "oakfield", "admin", *words, "credentials", "check"]) == 2
        assert "name the school before `admin`" in capsys.readouterr().err
    assert os.environ.get("STEWARD_SCHOOL") is None
