"""`steward admin` reads the service's identity from the unit file itself, so an administrator's
command and the daemon can never disagree on the user, the umask or the master key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.cli.main import main
from daemon.runtime.unit import ServiceUnit

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "steward.service"


def test_the_shipped_unit_says_who_the_service_is_and_what_it_is_given():
    unit = ServiceUnit.read(UNIT)
    assert (unit.user, unit.group, unit.supplementary_groups) == ("steward", "steward",
                                                                  ("steward-slt",))
    assert unit.umask == 0o027 and unit.state_path() == Path("/var/lib/steward")
    assert unit.credentials == (("steward.master-key",
                                 Path("/etc/steward/steward.master-key.cred")),)
    assert unit.exec_start[:2] == ("/opt/steward/venv/bin/steward", "run")


def test_admin_without_root_says_to_use_sudo(capsys):
    if os.geteuid() == 0:
        pytest.skip("run as root here: the refusal is for everyone else")
    assert main(["admin", "--unit", str(UNIT), "status"]) == 2
    assert "sudo" in capsys.readouterr().err


def test_admin_with_a_missing_unit_says_to_install_it(capsys, tmp_path):
    assert main(["admin", "--unit", str(tmp_path / "none.service"), "status"]) == 2
    assert "install the unit first" in capsys.readouterr().err


def test_root_is_refused_writing_a_state_directory_the_service_owns(tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("only root can write another user's folder: run as root")
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 65534, 65534)  # the service's user
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{state}"\n')
    assert main(["audit", "reset-anchor", "--reason", "testing", "--config", str(config)]) == 1
    error = capsys.readouterr().err
    assert "runs as root" in error and "sudo steward admin" in error
    assert list(state.iterdir()) == []  # nothing left behind owned by root


@pytest.mark.parametrize("command", [
    ["incidents", "close", "INC-2026-0001", "--outcome", "done", "--config", "/tmp/mine.toml"],
    ["incidents", "close", "INC-2026-0001", "--outcome", "done", "--state-dir=/tmp/state"],
])
def test_someone_given_one_command_through_sudo_cannot_point_it_at_other_settings(
        command, capsys, monkeypatch):
    """The DSL's sudoers line ends in `*`: the service's user must still use the installed
    configuration and state, not a roster of the DSL's choosing."""
    monkeypatch.setenv("SUDO_UID", "1001")
    assert main(["admin", *command]) == 2
    assert "leave out --" in capsys.readouterr().err


def test_someone_given_one_command_through_sudo_cannot_choose_the_unit(capsys, monkeypatch,
                                                                        tmp_path):
    monkeypatch.setenv("SUDO_UID", "1001")
    assert main(["admin", "--unit", str(tmp_path / "mine.service"), "status"]) == 2
    assert "leave out --unit" in capsys.readouterr().err
