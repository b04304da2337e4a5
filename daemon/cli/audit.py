"""Commands for the audit log, for auditors and administrators: `audit pubkey|verify|show|
export|report|retire|reset-anchor`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from daemon.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    SettingsSource,
    StewardGroup,
    UsageProblem,
    settings_options,
)


@click.group(cls=StewardGroup)
def audit() -> None:
    """The audit log: check, read, report on and retire it.

    \b
    Example:
      steward audit verify --key "$(cat steward-audit.pub)"
    """


@audit.command("pubkey")
@settings_options
def audit_pubkey(source: SettingsSource) -> int:
    """Print Steward's public signing key, for auditors.

    Hand it to the auditor once, in person or on paper; they pass it to `audit verify --key`.

    \b
    Example:
      steward audit pubkey > steward-audit.pub
    """
    from daemon.runtime.keys import audit_signing_key, public_key_text  # noqa: PLC0415

    settings = source.load()
    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    print(public_key_text(audit_signing_key(settings.paths.state_dir)))
    return EXIT_OK


INSTALLED_PUBLIC_KEY = "audit-signing.pub"  # beside the configuration: root's, not the service's


def auditor_keys(given_keys: tuple[str, ...], settings,
                 source: SettingsSource | None = None) -> tuple[list[str], str | None]:
    """The public keys to check signatures with: those given with --key (base64, or a file
    holding it); else the one the administrator installed beside the configuration at install
    time (`/etc/steward/audit-signing.pub`, root's, so the service cannot replace it); else this
    machine's own key, with a note saying why that proves less."""
    keys = [given_key(given) for given in given_keys]
    if keys:
        return keys, None
    from config.loading import default_config_file  # noqa: PLC0415
    from daemon.audit.chain import load_signing_key  # noqa: PLC0415
    from daemon.runtime.keys import public_key_text  # noqa: PLC0415

    configuration = Path(source.config_file) if source and source.config_file \
        else default_config_file()
    installed = configuration.parent / INSTALLED_PUBLIC_KEY
    another_state = source is not None and source.state_dir is not None  # not the installed one
    if not another_state and installed.is_file() and os.access(installed, os.R_OK):
        return [given_key(str(installed))], (
            f"checked against {installed}, the key installed when Steward was set up")
    own = settings.paths.state_dir / "audit-signing.key"
    if own.exists() and os.access(own, os.R_OK):
        key = load_signing_key(settings.paths.state_dir)
        if key is not None:
            return [public_key_text(key)], (
                "checked against this machine's own key; an auditor should pass the key "
                "handed over earlier with --key, so a replaced key is noticed")
    return [], None


def is_public_key(text: str) -> bool:
    """Whether `text` is an Ed25519 public key as `steward audit pubkey` prints it (base64 of
    32 bytes)."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415

    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def given_key(given: str) -> str:
    """The public key that --key names: the key itself, or a file holding it. UsageProblem
    when it is neither, saying which: a file that is not there is missing, not a key that
    signed nothing (before this, a mistyped file name was read as a key and the log called
    forged)."""
    if is_public_key(given):
        return given
    path = Path(given)
    if not path.exists():
        raise UsageProblem(f"--key {given}: there is no such file (give the file that "
                           "`steward audit pubkey` wrote, or the key itself, 44 characters "
                           "ending in '=')")
    try:
        text = path.read_bytes().decode("ascii").strip()
    except IsADirectoryError:
        raise UsageProblem(f"--key {given}: that is a folder, not a key file") from None
    except UnicodeDecodeError:
        text = ""
    if not is_public_key(text):
        raise UsageProblem(f"--key {given}: the file does not hold a public key (it should "
                           "hold one line of 44 characters ending in '=', as `steward audit "
                           "pubkey` prints)")
    return text


def state_record(paths: list[Path]):
    """The database's record of the log (its anchor) when a state directory is verified;
    an empty record for files an auditor was given."""
    from daemon.audit.anchor import DATABASE_NAME, StateRecord, read_state_record  # noqa: PLC0415

    for path in paths:
        if path.is_dir() and (path / DATABASE_NAME).is_file():
            return read_state_record(path)
    return StateRecord(None, None)


def existing_paths(files: tuple[str, ...], settings) -> list[Path]:
    """The log files or folders named, or the state directory; UsageProblem for one that
    does not exist."""
    paths = [Path(name) for name in files] or [settings.paths.state_dir]
    for path in paths:
        if not path.exists():
            raise UsageProblem(f"{path}: no such file or folder")
    return paths


def key_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--key (repeatable) and --open-tail, for the commands that check the chain."""
    function = click.option("--open-tail", is_flag=True, help="the log is live (Steward is "
                            "running): events after the last checkpoint are expected")(function)
    return click.option("--key", "given_keys", multiple=True, metavar="PUB", help="Steward's "
                        "public key, as printed by `steward audit pubkey` (or a file holding "
                        "it); repeat for a log signed by an earlier key too")(function)


@audit.command("verify")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@key_options
@settings_options
def audit_verify(files: tuple[str, ...], given_keys: tuple[str, ...], open_tail: bool,
                 source: SettingsSource) -> int:
    """Check the log: exit 0 verified, 1 not.

    It checks the chain, the numbering and the signed checkpoints.

    FILE: log files, or folders of rotated files (default: the state directory's).

    \b
    Example:
      steward audit verify --key "$(cat steward-audit.pub)" /mnt/backup/audit/
    """
    from daemon.audit.verification import verify_chain  # noqa: PLC0415

    # An auditor's files and key need no configuration: it is read (a quarter of a second of
    # start-up) only for the state directory's log or this machine's key.
    settings = source.load() if not files or not given_keys else None
    paths = existing_paths(files, settings)
    keys, note_text = auditor_keys(given_keys, settings, source)
    record = state_record(paths)
    live = not files and not open_tail and settings is not None and \
        _daemon_is_writing(settings.paths.state_dir)
    report = verify_chain(paths, keys, open_tail=open_tail or live, anchor=record.anchor,
                          earlier_activity=record.activity)
    if note_text:
        report.notes.append(note_text)
    if live:
        report.notes.append("Steward is running and still writing this log, so its last events "
                            "may not be sealed by a checkpoint yet: they were checked as with "
                            "--open-tail")
    from policies.displayed_text import visible  # noqa: PLC0415

    # The verdict quotes the log (a line's number, a tampering event's detail), which whoever
    # could write the file chose: escaped, it cannot clear or rewrite the auditor's terminal.
    # Each part is escaped whole: a newline in what the log says is shown as \n, not a line.
    print("\n".join(visible(part) for part in [
        report.headline(), *(f"TAMPERING: {found}" for found in report.tampering),
        *(f"note: {note}" for note in report.notes)]))
    return EXIT_OK if report.intact else EXIT_REFUSED


def _daemon_is_writing(state_dir: Path) -> bool:
    """Whether the daemon holds the state directory's lock: then the live log's tail is open."""
    from daemon.runtime.running import daemon_running  # noqa: PLC0415

    running = daemon_running(state_dir)
    return bool(running is not None and running.running)


def reading_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The log files to read and the period, for show, export and report."""
    function = click.option("--until", metavar="WHEN", help="up to the end of this date, or "
                            "this time")(function)
    function = click.option("--since", metavar="WHEN", help="from this date or time (school "
                            "time zone)")(function)
    return click.argument("files", nargs=-1, metavar="[FILE]...")(function)


def selection_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Which events, for show and export."""
    function = click.option("--platform", type=click.Choice(["x", "facebook"]))(function)
    return click.option("--type", "types", multiple=True, metavar="EVENT", help="e.g. "
                        "post.published, or 'post' for every post event, or '*.failed'; "
                        "repeat for several")(function)


def audit_selection(source: SettingsSource, files: tuple[str, ...], since: str | None,
                    until: str | None, types: tuple[str, ...] = (), platform: str | None = None):
    """(settings, zone, files in chain order, filter) for the reading commands."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.reading import EventFilter, parse_when  # noqa: PLC0415
    from daemon.audit.verification import ordered_files  # noqa: PLC0415

    settings = source.load()
    zone = ZoneInfo(settings.school.time_zone)
    paths = existing_paths(files, settings)
    try:
        selection = EventFilter(
            since=parse_when(since, zone) if since else None,
            until=parse_when(until, zone, end_of_day=True) if until else None,
            types=types, platform=platform)
    except ValueError:
        raise UsageProblem("--since and --until take a date (2026-09-01) or a date and time "
                           "(2026-09-01T08:30)") from None
    return settings, zone, ordered_files(paths), selection


@audit.command("show")
@reading_options
@selection_options
@settings_options
def audit_show(files: tuple[str, ...], since: str | None, until: str | None,
               types: tuple[str, ...], platform: str | None, source: SettingsSource) -> int:
    """Print events as plain lines.

    Oldest first; the count goes to standard error.

    FILE: log files or folders (default: the state directory's).

    \b
    Example:
      steward audit show --since 2026-09-01 --type post.published
    """
    from daemon.audit.reading import plain_line, read_events  # noqa: PLC0415

    settings, zone, ordered, selection = audit_selection(source, files, since, until, types,
                                                         platform)
    clauses = settings.policy.catalogue()
    shown = 0
    for entry in read_events(ordered):
        if selection.admits(entry):
            print(plain_line(entry, zone, clauses))
            shown += 1
    print(f"({shown} events)", file=sys.stderr)
    return EXIT_OK


@audit.command("export")
@reading_options
@selection_options
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv",
              show_default=True, help="the only format so far (`audit report` writes HTML)")
@click.option("--csv", "csv_flag", is_flag=True, help="the same as --format csv")
@settings_options
def audit_export(files: tuple[str, ...], since: str | None, until: str | None,
                 types: tuple[str, ...], platform: str | None, output_format: str,
                 csv_flag: bool, source: SettingsSource) -> int:
    """Print events as CSV.

    Columns: seq, date, time, event, level, platform, post, summary, ...

    FILE: log files or folders (default: the state directory's).

    \b
    Example:
      steward audit export --since 2026-09-01 --until 2026-12-19 > autumn-term.csv
    """
    from daemon.audit.reading import read_events, write_csv  # noqa: PLC0415

    _, zone, ordered, selection = audit_selection(source, files, since, until, types, platform)
    write_csv((entry for entry in read_events(ordered) if selection.admits(entry)), zone,
              sys.stdout)
    return EXIT_OK


@audit.command("report")
@reading_options
@click.option("--html", "out", required=True, metavar="OUT", help="the HTML file to write")
@key_options
@settings_options
def audit_report(files: tuple[str, ...], since: str | None, until: str | None, out: str,
                 given_keys: tuple[str, ...], open_tail: bool, source: SettingsSource) -> int:
    """Write an HTML report for governors and auditors.

    The page is self-contained. Exit 0 when the log verified, 1 when not (the report says
    what failed).

    FILE: log files or folders (default: the state directory's).

    \b
    Example:
      steward audit report --html autumn-term.html --since 2026-09-01 --key steward-audit.pub
    """
    from daemon.audit.reading import read_events  # noqa: PLC0415
    from daemon.audit.report import render_report  # noqa: PLC0415
    from daemon.audit.verification import verify_chain  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    settings, zone, ordered, selection = audit_selection(source, files, since, until)
    keys, note_text = auditor_keys(given_keys, settings, source)
    record = state_record([Path(name) for name in files] or [settings.paths.state_dir])
    verification = verify_chain(ordered, keys, open_tail=open_tail,
                                anchor=record.anchor, earlier_activity=record.activity)
    if note_text:
        verification.notes.append(note_text)
    page = render_report((entry for entry in read_events(ordered) if selection.admits(entry)),
                         verification, school=settings.school.name, zone=zone,
                         generated=Clock().now(), since=selection.since, until=selection.until,
                         clauses=settings.policy.catalogue())
    out_path = Path(out)
    out_path.write_text(page, encoding="utf-8")
    from policies.displayed_text import visible  # noqa: PLC0415

    print(visible(f"wrote {out_path} ({len(page) // 1024 + 1} KB); {verification.headline()}"))
    return EXIT_OK if verification.intact else EXIT_REFUSED


@audit.command("retire")
@click.option("--before", required=True, metavar="DATE", help="retire archived files whose "
              "every event is older than this (UTC)")
@click.option("--to", "destination", required=True, metavar="FOLDER", help="where the files "
              "go: a backup disk or share outside the state directory")
@click.option("--dry-run", is_flag=True, help="say what would be retired; change nothing")
@settings_options
def audit_retire(before: str, destination: str, dry_run: bool, source: SettingsSource) -> int:
    """Move old archived files elsewhere, on the record.

    For retention: archived files whose every event is older than --before go to --to.

    \b
    Example:
      steward audit retire --before 2025-09-01 --to /mnt/backup/steward-audit --dry-run
    """
    from datetime import date  # noqa: PLC0415

    from daemon.audit.chain import AuditLog, load_signing_key  # noqa: PLC0415
    from daemon.audit.retirement import retire  # noqa: PLC0415
    from daemon.runtime.keys import public_key_text  # noqa: PLC0415

    settings = source.load()
    state = settings.paths.state_dir
    try:
        before_date = date.fromisoformat(before)
    except ValueError:
        raise UsageProblem("--before takes a date, e.g. 2025-09-01") from None
    if not (state / "audit.jsonl").exists():
        raise UsageProblem(f"no audit log in {state}")
    key = load_signing_key(state)
    log = AuditLog(state / "audit.jsonl", signing_key=key)
    try:
        done = retire(state, before_date, Path(destination), log,
                      public_key_text(key) if key is not None else "", dry_run=dry_run)
    finally:
        log.close()
    if not done.files:
        print(f"nothing to retire: no archived file holds only events before {before_date}")
        return EXIT_OK
    from policies.displayed_text import visible  # noqa: PLC0415

    verb = "would retire" if dry_run else "retired"
    print(f"{verb} events #0 to #{done.up_to_seq} ({len(done.files)} file(s)) to "
          f"{visible(done.destination)}:")
    for described in done.files:
        print(f"  {described['name']}  #{described['first_seq']}-#{described['last_seq']}"
              + (f"  sha256 {described['sha256']}" if "sha256" in described else ""))
    if not dry_run:
        print("recorded and signed as audit.retired; verify the copies there with "
              f"`steward audit verify --key PUB {visible(done.destination)}`")
    return EXIT_OK


@audit.command("reset-anchor")
@click.option("--reason", required=True, metavar="TEXT", help="what happened and what you "
              "did; kept in the log")
@settings_options
def audit_reset_anchor(reason: str, source: SettingsSource) -> int:
    """Carry on after a lost checkpoint, on the record.

    After Steward refused a log that lost its last checkpoint: carry on with the log as it
    is now (restored, or begun anew), recording who decided and why. Stop Steward first.

    \b
    Example:
      steward audit reset-anchor --reason "restored audit.jsonl from last night's backup"
    """
    from daemon.audit.anchor import reset_anchor  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415

    settings = source.load()
    state = settings.paths.state_dir
    done = reset_anchor(state, reason, mailer=Mailer(settings.mail, state / "outbox"))
    given_up = done.previous.describe() if done.previous else "none"
    print(f"reset: the record of the last checkpoint was {given_up}; it is now "
          f"{done.anchor.describe() if done.anchor else 'none'}, after event "
          f"#{done.event['seq']} (audit.anchor_reset) recording who did this and why. "
          "The administrators were told. Start Steward again.")
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    group.add_command(audit)
