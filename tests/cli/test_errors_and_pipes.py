"""How `steward` ends when something goes wrong: one plain line `steward COMMAND: message` on
standard error with exit 2 (usage, configuration) or 1 (refused, failed); a fault in Steward
says so in one line and where its details are; and a reader that stops early (`| head -1`)
ends the command quietly with exit 0."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from daemon.audit.chain import AuditLog
from daemon.cli.common import EXIT_REFUSED, Invocation, StewardCommand, StewardGroup, run_group
from daemon.cli.main import main
from daemon.runtime.clock import FixedClock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "steward.toml"
    path.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    return path


def one_line(text: str) -> str:
    assert text.endswith("\n") and text.count("\n") == 1, text
    return text


def test_an_unknown_option_is_a_usage_error_named_by_its_command(capsys):
    assert main(["audit", "show", "--colour"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("steward audit: No such option") and "--colour" in said
    assert "Usage: steward audit show [OPTIONS] [FILE]..." in said
    assert "error:" not in said.lower()


def test_a_missing_option_is_a_usage_error(capsys):
    assert main(["sign", "my-post"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("steward sign: Missing option '--key'.")


def test_a_configuration_file_that_is_not_there_exits_2_in_one_line(tmp_path, capsys):
    missing = tmp_path / "nowhere.toml"
    assert main(["status", "--config", str(missing)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"steward status: {missing}: configuration file not found\n")


def test_a_file_that_cannot_be_read_is_named_in_plain_words(tmp_path, config, capsys):
    missing = tmp_path / "office-list.csv"
    assert main(["followers", "import-list", str(missing), "--config", str(config)]) == 1
    assert one_line(capsys.readouterr().err) == (
        f"steward followers: {missing}: No such file or directory\n")


def test_a_refusal_is_printed_once_with_exit_1(config, capsys):
    assert main(["moderate", "classify", "--school-model", "--config", str(config)]) == 1
    said = one_line(capsys.readouterr().err)
    assert said.startswith("steward moderate: the school model is ")


def test_a_bad_date_is_a_usage_problem_with_exit_2(config, capsys):
    assert main(["audit", "retire", "--before", "someday", "--to", "elsewhere", "--config",
                 str(config)]) == 2
    assert one_line(capsys.readouterr().err) == (
        "steward audit: --before takes a date, e.g. 2025-09-01\n")


def test_the_export_commands_need_no_format_flag_and_still_accept_csv(config, capsys):
    for arguments in (["incidents", "export"], ["incidents", "export", "--csv"],
                      ["incidents", "export", "--format", "csv"]):
        assert main([*arguments, "--config", str(config)]) == 0
        assert capsys.readouterr().out.startswith("Incident,Date,Time,Platform,")
    (config.parent / "state").mkdir()
    for arguments in (["audit", "export"], ["audit", "export", "--csv"]):
        assert main([*arguments, "--config", str(config)]) == 0
        assert capsys.readouterr().out.startswith("seq,")


def failing_group(kind: type[BaseException], message: str, to_journal: bool = False):
    """A one-command group whose command fails as a bug in Steward would."""

    @click.group(cls=StewardGroup)
    def steward() -> None:
        """Example: steward broken"""

    @steward.command("broken")
    @click.pass_obj
    def broken(invocation: Invocation) -> int:
        """Example: steward broken"""
        if to_journal:  # as `steward run` does: its log is standard output, the journal
            from daemon.runtime.logs import configure_logging  # noqa: PLC0415

            configure_logging(stream=sys.stdout)
            invocation.logs_to_journal = True
        raise kind(message)

    assert isinstance(steward.commands["broken"], StewardCommand)
    return steward


def test_a_fault_in_steward_is_one_line_naming_it_with_its_details_in_a_private_file(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    code = run_group(failing_group(KeyError, "photo_consent access_token=abc123secret"),
                     ["broken"])
    said = one_line(capsys.readouterr().err)
    assert code == EXIT_REFUSED
    assert said.startswith("steward broken: unexpected KeyError: this is a fault in Steward")
    assert "Traceback" not in said and "abc123secret" not in said
    [details] = tmp_path.glob("steward-fault-*.txt")
    assert str(details) in said
    assert stat.S_IMODE(os.stat(details).st_mode) == 0o600
    text = details.read_text()
    assert "Traceback" in text and "raise kind(message)" in text
    assert "abc123secret" not in text  # secrets are scrubbed, as in the logs


def test_a_fault_in_the_daemon_goes_to_its_log_and_one_line_to_standard_error(capsys):
    code = run_group(failing_group(RuntimeError, "scheduler lost", to_journal=True),
                     ["broken"])
    printed = capsys.readouterr()
    assert code == EXIT_REFUSED  # systemd restarts after a crash, as it did before
    assert one_line(printed.err).startswith("steward broken: unexpected RuntimeError")
    assert "journalctl -u steward" in printed.err
    assert "Traceback" in printed.out and "scheduler lost" in printed.out


def test_an_interruption_exits_130_without_a_traceback(capsys):
    assert run_group(failing_group(KeyboardInterrupt, ""), ["broken"]) == 130
    assert one_line(capsys.readouterr().err) == "steward broken: interrupted\n"


def steward_process(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "daemon.cli", *arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


def test_a_reader_that_stops_early_ends_the_command_quietly_with_exit_0(tmp_path):
    """`steward audit show | head -1`: far more lines than the pipe holds, and the reader
    closes it after the first."""
    state = tmp_path / "state"
    log = AuditLog(state / "audit.jsonl", FixedClock(datetime(2026, 9, 1, 8, 0, tzinfo=UTC)),
                   signing_key=None)
    for number in range(4000):
        log.record("post.published", name=f"assembly-{number:04}", platform="x")
    log.close()
    process = steward_process("audit", "show", "--state-dir", str(state))
    first = process.stdout.readline()
    process.stdout.close()  # as `head -1` does once it has its line
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert b"assembly-0000" in first
    assert errors == b""


def test_a_reader_gone_before_the_output_is_flushed_is_no_error(tmp_path):
    """Output small enough to wait in Python's buffer until exit: the flush fails there, not
    in the command, and must not say 'Exception ignored ... BrokenPipeError' (exit 120)."""
    process = steward_process("status", "--state-dir", str(tmp_path / "state"))
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert errors == b""


def test_version_says_which_steward_this_is(capsys):
    from importlib.metadata import version  # noqa: PLC0415

    from daemon.cli.main import main  # noqa: PLC0415

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"steward {version('school-steward')}"


def test_logs_reads_the_journal_as_one_plain_line_an_event(tmp_path, capsys):
    from daemon.cli.main import main  # noqa: PLC0415

    journal = tmp_path / "journal.txt"
    journal.write_text('{"event": "post.published", "level": "info", "timestamp": '
                       '"2026-12-03T09:00:01Z", "platform": "x", "name": "a\\u001b[2Jb"}\n'
                       "not json\n", encoding="utf-8")
    assert main(["logs", str(journal)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "2026-12-03 09:00:01  INFO    post.published  platform=x  name=a\\x1b[2Jb"
    assert shown[1] == "not json"
