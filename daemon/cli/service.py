"""The service's own commands: `run` (the daemon, as systemd starts it), `demo`, `sandbox
serve`, `status`, and `config validate|show|generate`."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import click

from daemon.cli.common import (
    EXIT_OK,
    Invocation,
    SettingsSource,
    StewardCommand,
    StewardGroup,
    UsageProblem,
    settings_options,
)


@click.command(cls=StewardCommand)
@settings_options
def run(source: SettingsSource) -> int:
    """Run the daemon in the foreground (systemd Type=notify).

    SIGTERM stops it (exit 0); SIGHUP reloads the configuration, keeping the previous one if
    the new one is refused. Exit 2 means a configuration or start-up problem, which systemd
    does not restart.

    \b
    Example:
      steward run --config /etc/steward/steward.toml
    """
    from daemon.runtime.logs import configure_logging  # noqa: PLC0415 - keep `steward --help` fast
    from daemon.service import Service, StartupError  # noqa: PLC0415

    settings = source.load()
    configure_logging(secret_values=settings.secret_values())
    invocation = click.get_current_context().find_object(Invocation)
    if invocation is not None:  # None only when a test runs the command outside run_group
        invocation.logs_to_journal = True
    service = Service(settings)
    # The signals wait, blocked, for sigwait below (no handler, no polling: an idle daemon
    # sleeps). Blocked before the service starts its threads, which inherit the mask, so
    # that none of them takes a signal meant for this loop.
    signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        try:
            service.start()
        except StartupError as error:
            service.stop("start-up failed")
            raise UsageProblem(f"cannot start: {error}") from None
        while (number := signal.sigwait(signals)) == signal.SIGHUP:
            reload(service, source)
        service.stop(f"signal {signal.Signals(number).name}")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return EXIT_OK if number == signal.SIGTERM else 128 + number


def reload(service, source: SettingsSource) -> None:
    """SIGHUP: the configuration read again and applied, or refused on the record (the
    service goes on with the one it has)."""
    from config.loading import ConfigurationError  # noqa: PLC0415

    try:
        fresh = source.load()
    except ConfigurationError as error:
        service.audit.record("config.reload_refused", level="error", audience="admin",
                             reason=str(error).splitlines()[0],
                             note="still running on the previous configuration")
        return
    service.reload(fresh)


@click.command(cls=StewardCommand)
@click.option("--state-dir", metavar="DIR", help="keep everything in DIR (default: a new "
              "temporary folder)")
@click.option("--keep-running", is_flag=True, help="leave the daemon and sandbox running "
              "afterwards")
def demo(state_dir: str | None, keep_running: bool) -> int:
    """Show Steward working end to end on the sandbox.

    \b
    Example:
      steward demo --state-dir /tmp/steward-demo --keep-running
    """
    from daemon.demo import run_demo  # noqa: PLC0415

    return run_demo(Path(state_dir) if state_dir else None, keep_running=keep_running)


@click.group(cls=StewardGroup)
def sandbox() -> None:
    """The local stand-in for X and Facebook, for demos and tests.

    \b
    Example:
      steward sandbox serve --port 8099
    """


@sandbox.command("serve")
@click.option("--port", type=int, default=8099, show_default=True, help="0 picks a free one")
@click.option("--state", metavar="FILE", help="persist the sandbox's state here")
@click.option("--scenario", metavar="FILE", help="apply this scenario (TOML)")
def sandbox_serve(port: int, state: str | None, scenario: str | None) -> int:
    """Serve the sandbox on loopback until Ctrl-C or SIGTERM.

    \b
    Example:
      steward sandbox serve --port 8099 --state sandbox.json
    """
    from sandbox.app import start_sandbox  # noqa: PLC0415

    try:
        server = start_sandbox(port, Path(state) if state else None,
                               Path(scenario) if scenario else None)
    except (ValueError, OSError) as error:
        raise UsageProblem(str(error)) from None
    print(f"sandbox listening on {server.url} (state: {state or 'in memory'}); "
          "Ctrl-C stops it", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return EXIT_OK


@click.command(cls=StewardCommand)
@settings_options
def status(source: SettingsSource) -> int:
    """Queue, next posts, platform health and the last events.

    Read from the state directory: works whether or not the daemon is running. An SLT member
    who may not read the state sees whether the daemon runs and the answers to their posts.

    \b
    Example:
      steward status --config /etc/steward/steward.toml
    """
    from daemon.cli.status import print_slt_status, print_status, state_closed  # noqa: PLC0415

    loaded = source.load_for_slt()
    if loaded.view is not None:
        return print_slt_status(loaded.settings, loaded.view)
    if state_closed(loaded.settings):
        from daemon.runtime.slt_view import default_view_path, view_path  # noqa: PLC0415

        for view in (view_path(loaded.settings), default_view_path()):
            if view.is_file():
                return print_slt_status(loaded.settings, view)
    return print_status(loaded.settings)


@click.group(cls=StewardGroup)
def config() -> None:
    """The configuration: check, show, or generate it.

    \b
    Example:
      steward config validate --config /etc/steward/steward.toml
    """


@config.command("validate")
@settings_options
def config_validate(source: SettingsSource) -> int:
    """Check the configuration: exit 0 usable, 2 not.

    Each problem is named by its path, e.g. x.reply_settings.

    \b
    Example:
      steward config validate --config /etc/steward/steward.toml
    """
    from daemon.credentials.vault import (  # noqa: PLC0415
        VaultError,
        missing_credentials_message,
        with_vault_secrets,
    )

    try:
        settings = with_vault_secrets(source.load(), strict=True)
    except VaultError as error:
        raise UsageProblem(f"{error}; run it as the service does: `sudo steward admin config "
                           "validate`") from None
    missing = settings.missing_credentials()
    if missing:
        raise UsageProblem(missing_credentials_message(missing))
    from config.loading import config_file_read  # noqa: PLC0415

    read = config_file_read(source.config_file)
    print(f"configuration OK ({read or 'defaults'}): mode {settings.mode}, "
          f"platforms {', '.join(settings.enabled_platforms()) or 'none'}, "
          f"{len(settings.approval.signers)} signer(s)")
    return EXIT_OK


@config.command("show")
@settings_options
def config_show(source: SettingsSource) -> int:
    """Print the effective configuration, secrets redacted.

    \b
    Example:
      steward config show --config /etc/steward/steward.toml
    """
    from config.example import render_settings  # noqa: PLC0415

    print(render_settings(source.load()), end="")
    return EXIT_OK


@config.command("generate")
@click.option("--write", is_flag=True, help="write config/example.toml instead of printing it")
def config_generate(write: bool) -> int:
    """Print the commented example configuration.

    \b
    Example:
      steward config generate > /etc/steward/steward.toml
    """
    from config.example import EXAMPLE_FILE, generate_example  # noqa: PLC0415

    text = generate_example()
    if write:
        EXAMPLE_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {EXAMPLE_FILE}")
    else:
        print(text, end="")
    return EXIT_OK


SETTINGS_OPTIONS = ("--config", "--state-dir")


def refuse_other_settings_under_sudo(unit_file: str | None, command: tuple[str, ...]) -> None:
    """Someone given one command through sudo (the DSL's `steward admin incidents close *`)
    runs it on the installed service's configuration and state, never on files of their own
    choosing: the `*` in sudoers would otherwise let them point the service's user elsewhere
    (an empty roster, so that a pupil's name passes). Root itself may."""
    if command and command[0].split("=")[0] == "--school":
        # The unit, user and master key are chosen before `admin`: a school named after it
        # would run one school's service on another's paths.
        raise UsageProblem("name the school before `admin`: `steward --school NAME admin "
                           "COMMAND ...`")
    if os.environ.get("SUDO_UID") in (None, "0"):
        return
    given = [word.split("=")[0] for word in command
             if word.split("=")[0] in SETTINGS_OPTIONS]
    if unit_file is not None:
        given.insert(0, "--unit")
    if given:
        raise UsageProblem(f"through sudo, `steward admin` runs on the installed service's own "
                           f"configuration and state: leave out {', '.join(given)}")


@click.command(cls=StewardCommand, context_settings={"ignore_unknown_options": True,
                                                    "allow_interspersed_args": False})
@click.option("--unit", "unit_file", metavar="FILE", default=None,
              help="the service's unit file (default: /etc/systemd/system/steward.service, or "
              "steward@.service for a school of a trust)")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def admin(unit_file: str | None, command: tuple[str, ...]) -> int:
    """Run a steward command as the service runs, for an administrator (as root).

    The command runs as the unit's user and groups, with its umask and the master key systemd
    gives only to the service, so it sees exactly what the daemon sees and leaves files the
    daemon can read. Any command works, `run` included (the daemon in the foreground, exactly
    as the unit would start it, where systemd is not the init system).

    \b
    Example:
      sudo steward admin credentials set x.access_token
      sudo steward admin handover confirm handover:1:x-app-keys
    """
    import sys  # noqa: PLC0415

    from config.schools import SchoolInstance  # noqa: PLC0415
    from daemon.runtime.unit import ServiceUnit, UnitError, run_as_service  # noqa: PLC0415

    refuse_other_settings_under_sudo(unit_file, command)
    instance = SchoolInstance.selected()
    try:
        unit = ServiceUnit.read(Path(unit_file) if unit_file else instance.unit_file,
                                instance.school)
        return run_as_service(unit, [sys.executable, "-m", "daemon.cli", *command])
    except UnitError as error:
        raise UsageProblem(str(error)) from None


@click.group(cls=StewardGroup)
def backup() -> None:
    """Back up the state directory, or restore a backup onto a new machine.

    \b
    Example:
      sudo -u steward steward backup create /var/backups/steward/2026-12-03.tar.gz
    """


@backup.command("create", cls=StewardCommand)
@click.argument("output", metavar="FILE")
@settings_options
def backup_create(source: SettingsSource, output: str) -> int:
    """Write a backup of the state (database, audit log, vault, evidence, queue) to FILE.

    FILE `-` writes to standard output. Safe while the daemon runs. The vault's master key is
    not in it: keep a copy of that offline, or set the secrets again from the escrow bundle.

    \b
    Example:
      sudo -u steward steward backup create /var/backups/steward/2026-12-03.tar.gz
      sudo steward admin backup create - > /root/steward-2026-12-03.tar.gz
    """
    import sys  # noqa: PLC0415

    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.runtime.backup import BackupError, create_backup  # noqa: PLC0415

    settings = source.load()
    state_dir = settings.paths.state_dir

    def seal() -> bool:
        """Record the backup in the audit log and sign a checkpoint: the copy ends there."""
        audit = AuditLog(state_dir / "audit.jsonl")
        try:
            audit.record("state.backed_up", to="standard output" if output == "-" else output,
                         audience="admin")
            return audit.checkpoint("backup")
        finally:
            audit.close()

    try:
        if output == "-":
            names = create_backup(state_dir, sys.stdout.buffer, seal)
            sys.stdout.buffer.flush()
        else:
            with open(output, "xb") as handle:
                names = create_backup(state_dir, handle, seal)
    except BackupError as error:
        raise UsageProblem(str(error)) from None
    print(f"backed up {len(names)} part(s) of {settings.paths.state_dir}: {', '.join(names)}",
          file=sys.stderr)
    return EXIT_OK


@backup.command("restore", cls=StewardCommand)
@click.argument("backup_file", metavar="FILE")
@settings_options
def backup_restore(source: SettingsSource, backup_file: str) -> int:
    """Restore a backup into an empty state directory (a new machine), then verify it.

    FILE `-` reads standard input. Start Steward afterwards: it checks the restored audit log
    against the restored database before doing anything.

    \b
    Example:
      sudo -u steward steward backup restore /var/backups/steward/2026-12-03.tar.gz
      sudo steward admin backup restore - < /root/steward-2026-12-03.tar.gz
    """
    import sys  # noqa: PLC0415

    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.runtime.backup import BackupError, restore_backup  # noqa: PLC0415

    settings = source.load()
    try:
        if backup_file == "-":
            names = restore_backup(sys.stdin.buffer, settings.paths.state_dir)
        else:
            with open(backup_file, "rb") as handle:
                names = restore_backup(handle, settings.paths.state_dir)
    except BackupError as error:
        raise UsageProblem(str(error)) from None
    audit = AuditLog(settings.paths.state_dir / "audit.jsonl")
    try:
        audit.record("state.restored", source="standard input" if backup_file == "-"
                     else backup_file, files=len(names), audience="admin")
        audit.checkpoint("restore")
    finally:
        audit.close()
    print(f"restored {len(names)} file(s) into {settings.paths.state_dir}; now run `steward "
          "audit verify`, then start Steward")
    return EXIT_OK


@click.command(cls=StewardCommand)
@click.argument("log_file", metavar="[FILE]", required=False)
def logs(log_file: str | None) -> int:
    """Show Steward's JSON log lines (the journal's) as one readable line each.

    Reads FILE, or standard input: the journal's lines as they are (`journalctl -o cat`).
    Lines that are not Steward's JSON are shown as they are, escaped.

    \b
    Example:
      journalctl -u steward -o cat --since today | steward logs
    """
    import json  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from policies.displayed_text import visible  # noqa: PLC0415

    lines = open(log_file, encoding="utf-8", errors="replace") if log_file else sys.stdin
    with lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                print(visible(line.rstrip("\n")))
                continue
            if not isinstance(entry, dict):
                print(visible(line.rstrip("\n")))
                continue
            when = str(entry.pop("timestamp", ""))[:19].replace("T", " ")
            level = str(entry.pop("level", "info")).upper()
            event = entry.pop("event", "?")
            for noise in ("hash", "prev", "audit", "logger"):
                entry.pop(noise, None)
            details = "  ".join(f"{key}={value}" for key, value in entry.items())
            print(visible(f"{when}  {level:<7} {event}  {details}".rstrip()))
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    for command in (run, demo, sandbox, status, config, admin, backup, logs):
        group.add_command(command)
