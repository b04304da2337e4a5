"""The shape of the `steward` command: every command's help shows an example, no command is
registered twice, each wing declares its own commands, and starting it loads nothing heavy."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from daemon.cli.common import StewardCommand, StewardGroup
from daemon.cli.main import WINGS, main, steward

ROOT = Path(__file__).resolve().parents[2]


def every_command(group: click.Group = steward, path: tuple[str, ...] = ("steward",)):
    """(path, command) for the group itself and every command and group below it."""
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(every_command())


@pytest.mark.parametrize("path", [" ".join(path) for path, _ in COMMANDS])
def test_the_help_of_every_command_shows_an_example_of_it(path, capsys):
    assert main([*path.split()[1:], "--help"]) == 0
    shown = capsys.readouterr().out
    assert "Example:" in shown
    example = shown[shown.index("Example:"):].split("\n\n")[0]
    assert path in example  # an example of this command, not of another


def test_no_two_commands_share_a_callback_or_a_command():
    commands = [command for _, command in COMMANDS]
    callbacks = [inspect.unwrap(command.callback) for command in commands]
    assert len({id(command) for command in commands}) == len(commands)
    assert len({id(callback) for callback in callbacks}) == len(callbacks)


def test_every_command_is_one_of_stewards_so_its_errors_name_it():
    """A plain click.command would skip common.begin_command: its errors would say
    `steward: ...` without the command, and its log lines would go to standard output."""
    assert [" ".join(path) for path, command in COMMANDS if not isinstance(
        command, StewardGroup if isinstance(command, click.Group) else StewardCommand)] == []


def test_the_callback_check_catches_a_command_registered_twice():
    """As `sign` was, both `steward sign` and `steward keys sign`."""
    twice = click.Group("steward")
    keys = click.Group("keys")
    sign = click.Command("sign", callback=lambda: None)
    twice.add_command(sign)
    keys.add_command(sign)
    twice.add_command(keys)
    commands = [command for _, command in every_command(twice)]
    assert len({id(command) for command in commands}) < len(commands)


def test_keys_sign_is_gone_and_sign_remains(capsys):
    assert main(["keys", "sign", "post", "--key", "deputy.key"]) == 2
    assert "No such command 'sign'" in capsys.readouterr().err
    assert "sign" in steward.commands


def test_each_wing_adds_its_own_commands_to_steward():
    added_by = {}
    for wing in WINGS:
        group = click.Group("steward")
        wing.register(group)
        for name in group.commands:
            assert name not in added_by, f"{name} is added by {added_by.get(name)} and {wing}"
            added_by[name] = wing.__name__
    assert set(added_by) == set(steward.commands)
    assert {added_by[name] for name in ("sign", "moderate", "reconcile", "escrow", "audit",
                                        "run")} == {f"daemon.cli.{wing}" for wing in (
        "posts", "moderation", "accounts", "credentials", "audit", "service")}


HEAVY = ("pydantic", "pydantic_settings", "structlog", "cryptography", "tweepy", "facebook",
         "cv2", "apscheduler", "watchdog", "sqlite3", "config.settings", "daemon.service")


@pytest.mark.parametrize("arguments", [["--help"], ["audit", "show", "--help"],
                                       ["escrow", "open", "--help"]])
def test_help_loads_no_heavy_module(arguments):
    """`steward --help` answers at once: the wings' modules import Click and common.py only;
    everything else is imported inside the commands."""
    script = ("import json, sys\nfrom daemon.cli.main import main\n"
              f"code = main({arguments!r})\n"
              "print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=ROOT, check=True)
    code, loaded = json.loads(result.stderr.splitlines()[-1])
    assert code == 0
    assert [name for name in loaded if name.split(".")[0] in HEAVY or name in HEAVY] == []


def test_steward_alone_lists_the_commands_and_exits_2(capsys):
    assert main([]) == 2
    said = capsys.readouterr().err
    assert said.startswith("steward: which command?")
    assert "audit" in said and "escrow" in said


def test_a_group_alone_lists_its_commands_and_exits_2(capsys):
    assert main(["audit"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("steward audit: which command?")
    assert "reset-anchor" in said
