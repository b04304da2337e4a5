"""What every wing's commands share: the exit codes, the --config and --state-dir options and
the settings they lead to, the store and the audit log, notes on standard error, and
`run_group`, the one place where an error becomes a message for a person.

A command says why it cannot go on by raising `Refused` (exit 1) or `UsageProblem` (exit 2),
or lets one of the errors in EXPECTED_ERRORS through; `run_group` prints it once, as
`steward COMMAND: message` on standard error, where COMMAND is the word after `steward`
(`steward escrow: ...` for `steward escrow open`). Anything else is a fault in Steward: one
line says so and where its details were written. Heavy modules are imported inside the
functions that need them, so that `steward --help` starts in a blink.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from daemon.runtime.access import current_user, describe_owner

if TYPE_CHECKING:
    from config.settings import StewardSettings
    from daemon.audit.chain import AuditLog
    from daemon.runtime.store import Store

# systemd's RestartPreventExitStatus=2 keeps a configuration error from looping (steward.service).
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C

# Errors that say, in words meant for a person, what is wrong with what they asked or with the
# machine: printed as they are, never as a traceback. Named by module so that none of these
# modules is imported to start a command (an error of a module never imported cannot occur).
EXPECTED_ERRORS: tuple[tuple[str, str, int], ...] = (
    ("config.loading", "ConfigurationError", EXIT_USAGE),
    ("daemon.runtime.ownership", "WrongUser", EXIT_REFUSED),
    ("daemon.runtime.keys", "ApprovalKeyError", EXIT_USAGE),
    ("daemon.runtime.store", "StoreError", EXIT_REFUSED),
    ("daemon.runtime.mail", "MailError", EXIT_REFUSED),
    ("daemon.credentials.vault", "VaultError", EXIT_REFUSED),
    ("daemon.credentials.escrow", "EscrowError", EXIT_REFUSED),
    ("daemon.credentials.sealing", "SealError", EXIT_REFUSED),
    ("daemon.credentials.handover", "HandoverError", EXIT_REFUSED),
    ("daemon.posts.submitting", "SubmitError", EXIT_REFUSED),
    ("daemon.accounts.registry", "RegistryError", EXIT_REFUSED),
    ("daemon.audit.retirement", "RetirementError", EXIT_REFUSED),
    ("daemon.audit.anchor", "AnchorResetRefused", EXIT_REFUSED),
    ("training.moderation", "TrainingError", EXIT_REFUSED),
    ("connectors.errors", "ConnectorError", EXIT_REFUSED),
)


class CommandError(Exception):
    """A command cannot do what was asked; the message says why, to the person who asked."""

    exit_code = EXIT_REFUSED


class Refused(CommandError):
    """Checked and refused, or tried and failed (exit 1)."""

    exit_code = EXIT_REFUSED


class UsageProblem(CommandError):
    """The command was given something it cannot use: a file that exists, a date it cannot
    read, a missing option (exit 2, like a configuration error)."""

    exit_code = EXIT_USAGE


class CommandMissing(click.UsageError):
    """A group was given no command (`steward audit`)."""


@dataclass
class Invocation:
    """What the error printer needs to know about the command that is running."""

    command: str = ""  # the word after `steward`, e.g. "audit" for `steward audit show`
    logs_to_journal: bool = False  # `steward run`: its log is standard output, the journal
    school: str | None = None  # `steward --school NAME`, checked when a command starts
    schools: tuple[str, ...] = ()  # every --school given: more than one is refused


# -- commands that record themselves -------------------------------------------------------------

def top_command(context: click.Context) -> str:
    """The word after `steward` in the command that `context` runs ("" for `steward` alone)."""
    if context.parent is None:
        return ""
    while context.parent is not None and context.parent.parent is not None:
        context = context.parent
    return context.info_name or ""


def begin_command(context: click.Context) -> None:
    """Done once a command's arguments are read, before it runs: note which command it is (for
    messages) and send log lines to standard error, warnings and worse only, so that standard
    output holds the command's results (`--json`, CSV). `run` and `demo` set up their own."""
    from daemon.runtime.logs import configure_logging  # noqa: PLC0415 - keep `--help` fast

    invocation = context.find_object(Invocation)
    if invocation is not None:
        invocation.command = top_command(context)
    if invocation is not None and len(invocation.schools) > 1:
        raise UsageProblem(f"--school was given {len(invocation.schools)} times: give it once, "
                           "before the command (`steward --school NAME COMMAND ...`)")
    select_school(invocation.school if invocation is not None else None)
    configure_logging(stream=sys.stderr, level=logging.WARNING)


def select_school(given: str | None) -> None:
    """Make the school given with --school (else $STEWARD_SCHOOL) this process's and its
    children's (config.schools), checked first, since it becomes part of paths: a name that
    cannot be one is a usage error that says why. Done when a command starts, not for
    --help, which stays free of the configuration's modules."""
    from config.schools import SCHOOL_ENVIRONMENT, checked_school_name  # noqa: PLC0415

    chosen = given if given is not None else os.environ.get(SCHOOL_ENVIRONMENT) or None
    if chosen is None:
        os.environ.pop(SCHOOL_ENVIRONMENT, None)
        return
    try:
        os.environ[SCHOOL_ENVIRONMENT] = checked_school_name(chosen)
    except ValueError as error:
        where = "--school" if given is not None else SCHOOL_ENVIRONMENT
        raise UsageProblem(f"{where}: {error}") from None


class StewardCommand(click.Command):
    """A command that calls `begin_command` before running (not for `--help`)."""

    def invoke(self, context: click.Context) -> Any:
        begin_command(context)
        return super().invoke(context)


class StewardGroup(click.Group):
    """A group whose commands and subgroups are StewardCommand and StewardGroup."""

    command_class = StewardCommand
    group_class = type  # subgroups are of this same class

    def parse_args(self, context: click.Context, arguments: list[str]) -> list[str]:
        # `steward audit` alone is a usage error (exit 2) that lists the commands, as argparse's
        # was, whichever Click is installed (8.1 exits 0 there, 8.2 exits 2).
        if not arguments and not self.invoke_without_command:
            raise CommandMissing("which command?", context)
        return super().parse_args(context, arguments)


# -- settings, store, audit log ------------------------------------------------------------------

@dataclass(frozen=True)
class SettingsSource:
    """Where a command's settings come from: --config (default /etc/steward/steward.toml) and
    --state-dir (instead of the configured state directory). Read only when asked."""

    config_file: str | None = None
    state_dir: str | None = None

    def load(self) -> StewardSettings:
        """The settings; ConfigurationError (exit 2) if they cannot be used."""
        from config.loading import load_settings  # noqa: PLC0415

        settings = load_settings(self.config_file)
        if self.state_dir is not None:
            settings = settings.model_copy(update={"paths": settings.paths.model_copy(
                update={"state_dir": Path(self.state_dir)})})
        return settings

    def load_for_slt(self) -> SltSettings:
        """The settings for an SLT command (check, sign, submit, status, cancel, unpublish):
        the configuration if this user may read it; else, when no --config was given, the
        SLT view the daemon writes (daemon.runtime.slt_view), which needs no access to the
        service's configuration, roster or state."""
        from config.loading import config_unreadable, default_config_file  # noqa: PLC0415
        from daemon.runtime.slt_view import default_view_path, is_view  # noqa: PLC0415

        if self.config_file is not None:
            given = Path(self.config_file)
            return SltSettings(self.load(), given if is_view(given) else None)
        if not config_unreadable(default_config_file()):
            return SltSettings(self.load(), None)
        view = default_view_path()
        if not view.is_file() and not config_unreadable(view):
            raise Refused(f"{default_config_file()} is not readable by {current_user()}, and "
                          f"the settings Steward writes for SLT members, {view}, are not there "
                          "yet: they appear when the daemon starts. Ask the administrator to "
                          "start it (sudo systemctl start steward), or set "
                          "STEWARD_SLT_SETTINGS to where they are.")
        return SltSettings(SettingsSource(str(view), self.state_dir).load(), view)

    def or_else(self, other: SettingsSource) -> SettingsSource:
        """This source, with what it does not say taken from `other` (a parent command's)."""
        return SettingsSource(self.config_file or other.config_file,
                              self.state_dir or other.state_dir)


@dataclass(frozen=True)
class SltSettings:
    """Settings for an SLT command, and the SLT view they came from (None: the configuration
    itself, so the roster and the state may be readable too)."""

    settings: StewardSettings
    view: Path | None = None


def settings_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command --config FILE and --state-dir DIR; it receives them as `source`, a
    SettingsSource. Put it just above the `def`, so that both options come last in --help."""

    @functools.wraps(function)
    def with_source(*arguments: Any, config_file: str | None, state_dir: str | None,
                    **options: Any) -> Any:
        return function(*arguments, source=SettingsSource(config_file, state_dir), **options)

    with_source = click.option("--state-dir", "state_dir", metavar="DIR", help="use this state "
                               "directory instead of the configured one")(with_source)
    return click.option("--config", "config_file", metavar="FILE", help="configuration file "
                        "(default /etc/steward/steward.toml)")(with_source)


def open_store(settings: StewardSettings) -> Store:
    """The state directory's database (the directory is made if need be)."""
    from daemon.runtime.store import Store  # noqa: PLC0415

    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    return Store(settings.paths.state_dir / "steward.sqlite3")


def open_audit_log(settings: StewardSettings) -> AuditLog:
    """The state directory's audit log, to record what a command did."""
    from daemon.audit.chain import AuditLog  # noqa: PLC0415

    return AuditLog(settings.paths.state_dir / "audit.jsonl")


def note(text: str) -> None:
    """A remark beside a command's results (a warning that does not stop it), on standard
    error so that standard output keeps only the results."""
    print(f"note: {text}", file=sys.stderr)


# -- the one error printer -----------------------------------------------------------------------

def expected_error(error: BaseException) -> tuple[str, int] | None:
    """(message, exit code) for an error a person can act on; None for a fault in Steward."""
    if isinstance(error, CommandError):
        return str(error), error.exit_code
    for module_name, class_name, exit_code in EXPECTED_ERRORS:
        kind = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(kind, type) and isinstance(error, kind):
            return str(error), exit_code
    if isinstance(error, OSError):  # a file that cannot be read or written, a full disk
        return plain_message(error), EXIT_REFUSED
    return None


def plain_message(error: BaseException) -> str:
    """An error's message for a person: `PATH: No such file or directory` rather than Python's
    `[Errno 2] No such file or directory: 'PATH'` for an OSError, else the error's own; for a
    PermissionError, which file, as which user, and what to do."""
    if isinstance(error, PermissionError):
        return permission_message(error)
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return str(error)


def permission_message(error: PermissionError) -> str:
    """`PATH: USER may not read or write it (owner:group, mode 0750)`, and the fix: SLT
    commands need nothing of the service's; other commands run as the service."""
    user = current_user()
    target = error.filename
    if target is None:
        return (f"{user} is not allowed to do this ({error.strerror or error}). Run the command "
                "as the service instead: sudo steward admin COMMAND ...")
    path = Path(os.fsdecode(target)).absolute()
    blocked, owner = path, ""
    for folder in [*reversed(path.parents), path]:
        try:
            info = folder.stat()
        except OSError:
            break
        blocked = folder
        owner = describe_owner(info)[2]
        if folder != path and not os.access(folder, os.X_OK):
            break
    where = "" if blocked == path else f", because the folder {blocked} is closed to {user}"
    shown = f" ({owner})" if owner else ""
    group = _group_that_may(blocked, is_folder=blocked != path)
    if group is not None:
        return (f"{path}: {user} may not open it{where}{shown}: {user} is not in the group "
                f"{group}, which may. SLT members are in it: if {user} is one, ask the "
                f"administrator to add them (sudo usermod -aG {group} {user}), then log out "
                "and in again, since a new group counts from the next login.")
    return (f"{path}: {user} may not open it{where}{shown}. SLT members need none of the "
            "service's files: run `steward check`, `sign`, `submit` and `status` without "
            "--config. For anything else, run the command as the service: sudo steward admin "
            "COMMAND ..., or ask the administrator to give "
            f"{user} access to {blocked}.")


def _group_that_may(path: Path, *, is_folder: bool) -> str | None:
    """The SLT's group (the one the folder of the SLT view belongs to: steward-slt) when its
    members may open `path` (get through a folder, read a file) and this user may not only
    because they are not in it; None otherwise (the service's own group, for instance, is
    not one to join)."""
    import grp  # noqa: PLC0415
    import stat  # noqa: PLC0415

    from daemon.runtime.slt_view import default_view_path  # noqa: PLC0415

    try:
        info = path.stat()
        slt_group = default_view_path().parent.stat().st_gid
    except OSError:
        return None
    needed = stat.S_IXGRP if is_folder else stat.S_IRGRP
    if info.st_gid != slt_group or not info.st_mode & needed or info.st_uid == os.geteuid() \
            or info.st_gid in (os.getegid(), *os.getgroups()):
        return None
    try:
        return grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        return str(info.st_gid)


def print_error(command: str, message: str) -> None:
    """The one way an error reaches a person: `steward COMMAND: message` on standard error,
    after whatever the command had already printed, control characters escaped."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    from config.schools import for_this_instance  # noqa: PLC0415
    from policies.displayed_text import visible  # noqa: PLC0415

    message = for_this_instance(message)  # in a trust, the commands it names are the school's
    prefix = f"steward {command}: " if command else "steward: "
    # What a person typed can be in the message (`--outcome $'\e[2J'`): a line holding a
    # control character is shown escaped, so it cannot clear or rewrite the terminal.
    shown = "\n".join(line if line.isprintable() else visible(line)
                      for line in message.strip().split("\n"))
    try:
        print(prefix + shown, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # nobody is reading standard error either


def usage_message(error: click.UsageError) -> str:
    """A Click usage error in Steward's words: what is wrong, the usage line, where help is."""
    context = error.ctx
    if context is None:
        return error.format_message()
    if isinstance(error, CommandMissing):
        return f"which command?\n\n{context.get_help()}"
    return (f"{error.format_message()}\n{context.get_usage()}\n"
            f"`{context.command_path} --help` says more, with an example.")


def report_fault(invocation: Invocation, error: BaseException) -> int:
    """A fault in Steward (an exception nobody expected): one line says so, naming the
    exception's class and where its details are, with secrets scrubbed; exit 1 (systemd
    restarts `run` after this, as after any crash)."""
    from daemon.runtime.logs import REDACTOR  # noqa: PLC0415

    kind = type(error).__name__
    if invocation.logs_to_journal:
        logging.getLogger("steward.cli").error("cli.unexpected_error", exc_info=error)
        where = "the log (the journal under systemd: journalctl -u steward)"
    else:
        where = save_fault_details(invocation, REDACTOR.scrub("".join(
            traceback.format_exception(error))))
    print_error(invocation.command, f"unexpected {kind}: this is a fault in Steward, not in "
                f"what was asked. The details are in {where}; please pass them on to whoever "
                "looks after Steward.")
    return EXIT_REFUSED


def save_fault_details(invocation: Invocation, details: str) -> str:
    """Write a fault's details to a new file only its owner can read; say where (or, if no
    file can be written, print them here and say so)."""
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    heading = f"steward {invocation.command}, {Clock().now():%Y-%m-%d %H:%M:%S} UTC\n\n"
    try:
        descriptor, name = tempfile.mkstemp(prefix="steward-fault-", suffix=".txt")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(heading + details)
    except OSError:
        print(heading + details, file=sys.stderr)
        return "the lines above (no file could be written)"
    return name


def quiet_closed_pipe() -> None:
    """The reader of standard output has gone (`steward audit show | head -1`): point standard
    output at /dev/null, so that what is still buffered goes nowhere instead of failing again
    when Python flushes it at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # standard output is not a file (a test's capture): nothing to flush at exit


def run_group(group: click.Group, arguments: Sequence[str]) -> int:
    """Run `steward ARGUMENTS` on `group` and return its exit code, whatever happens: the
    command's own, 0 when the reader of its output went away early, 2 for a usage or
    configuration error, 1 for anything refused or failed, 130 when interrupted."""
    invocation = Invocation()
    school = os.environ.get("STEWARD_SCHOOL")  # `--school` sets it for this command only
    try:
        return _run(group, arguments, invocation)
    finally:
        if school is None:
            os.environ.pop("STEWARD_SCHOOL", None)
        else:
            os.environ["STEWARD_SCHOOL"] = school


def _run(group: click.Group, arguments: Sequence[str], invocation: Invocation) -> int:
    """`run_group`, without putting the school back."""
    try:
        with group.make_context("steward", list(arguments), obj=invocation) as context:
            code = group.invoke(context)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
    except click.exceptions.Exit as stop:  # --help
        return stop.exit_code
    except BrokenPipeError:
        quiet_closed_pipe()
        return EXIT_OK
    except click.UsageError as error:
        print_error(top_command(error.ctx) if error.ctx else "", usage_message(error))
        return EXIT_USAGE
    except (KeyboardInterrupt, click.Abort):
        print_error(invocation.command, "interrupted")
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        print_error(invocation.command, error.format_message())
        return error.exit_code
    except Exception as error:
        described = expected_error(error)
        if described is None:
            return report_fault(invocation, error)
        message, exit_code = described
        print_error(invocation.command, message)
        return exit_code
    return EXIT_OK if code is None else int(code)
