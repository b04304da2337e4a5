"""Commands for consent takedowns (issue 22): `consent reload` re-reads the register now,
`consent takedowns` lists them, `consent confirm|keep ID` decides one waiting out its grace
period, `consent takedown --pupil NAME | --post ID` asks for one (a parent's complaint). The
commands record; the running service carries out a takedown at its next check (every
`consent.check_interval_seconds`, or at once after `consent reload`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from daemon.cli.common import (
    EXIT_OK,
    Refused,
    SettingsSource,
    StewardGroup,
    UsageProblem,
    open_audit_log,
    settings_options,
)
from daemon.runtime.access import person_behind_command

if TYPE_CHECKING:
    from config.settings import StewardSettings


@click.group(cls=StewardGroup)
def consent() -> None:
    """Posts taken down when a pupil's photo consent changes.

    \b
    Example:
      steward consent takedowns
    """


def _number(takedown: str) -> int:
    reference = takedown.upper().removeprefix("T")
    if not reference.isdigit():
        raise UsageProblem(f"'{takedown}' is not a takedown ID (e.g. T3: see `steward consent "
                           "takedowns`)")
    return int(reference)


def _writable(settings: StewardSettings, words: list[str], source: SettingsSource) -> None:
    from daemon.cli.moderation import as_the_service_types, refuse_unless_writable  # noqa: PLC0415

    refuse_unless_writable(settings, f"'consent {words[1]}'",
                           as_the_service_types(words, source))


@consent.command("takedowns")
@click.option("--all", "show_all", is_flag=True, help="include finished and kept ones")
@settings_options
def consent_takedowns(show_all: bool, source: SettingsSource) -> int:
    """List takedowns: waiting (the DSL may confirm or keep), due, and with --all the rest.

    Pupils appear as the first digits of their keyed hash: Steward keeps no names.

    \b
    Example:
      steward consent takedowns --all
    """
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.cli.moderation import store_for_reading  # noqa: PLC0415

    settings = source.load()
    store = store_for_reading(settings, "the takedowns")
    if store is None:
        print("No takedowns: Steward has not run here yet.")
        return EXIT_OK
    zone = ZoneInfo(settings.school.time_zone)
    try:
        found = store.takedowns(None if show_all else ("waiting", "due"))
        if not found:
            print("No takedowns" + ("." if show_all else " waiting or due."))
        for takedown in found:
            who = f"pupil {takedown.pupil_hash[:12]}" if takedown.pupil_hash else \
                f"post {takedown.submission_id}"
            when = {"waiting": f"goes ahead {takedown.due_at.astimezone(zone):%a %d %b %H:%M} "
                               f"unless kept: steward consent keep T{takedown.id}",
                    "due": "due now: the service carries it out at its next check"}.get(
                takedown.status, f"{takedown.status} "
                f"{takedown.done_at.astimezone(zone):%a %d %b %H:%M}" if takedown.done_at
                else takedown.status)
            print(f"T{takedown.id}  {takedown.reason:<10} {who}: {when}")
    finally:
        store.close()
    return EXIT_OK


def _decide(takedown: str, decision: str, source: SettingsSource) -> int:
    from daemon.posts.takedowns import TakedownError, decide  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415

    settings = source.load()
    number = _number(takedown)
    _writable(settings, ["consent", decision, f"T{number}"], source)
    store = Store(settings.paths.state_dir / "steward.sqlite3")
    audit = open_audit_log(settings)
    try:
        decide(store, audit, Clock(), number, decision, person_behind_command())
    except TakedownError as error:
        raise Refused(str(error)) from None
    finally:
        audit.close()
        store.close()
    print(f"T{number}: " + ("confirmed; the service takes the posts down at its next check."
                            if decision == "confirm" else
                            "kept; the posts stay up. Steward will not take them down for "
                            "this change of consent."))
    return EXIT_OK


@consent.command("confirm")
@click.argument("takedown", metavar="ID")
@settings_options
def consent_confirm(takedown: str, source: SettingsSource) -> int:
    """Take down now the posts of a takedown waiting out its grace period.

    \b
    Example:
      steward consent confirm T3
      (writes the state: as the service, sudo steward admin consent confirm T3)
    """
    return _decide(takedown, "confirm", source)


@consent.command("keep")
@click.argument("takedown", metavar="ID")
@settings_options
def consent_keep(takedown: str, source: SettingsSource) -> int:
    """Keep the posts of a takedown waiting out its grace period (e.g. the school cropped
    the photo instead).

    \b
    Example:
      steward consent keep T3
      (writes the state: as the service, sudo steward admin consent keep T3)
    """
    return _decide(takedown, "keep", source)


@consent.command("takedown")
@click.option("--pupil", metavar="NAME", help="every post picturing this pupil, as written "
              "in the consent register; `-` asks for the name instead, so that it is not left in "
              "the shell's history, the process list or (under sudo) the system log")
@click.option("--post", "post", metavar="ID", help="one post, everywhere it went out")
@click.option("--dry-run", is_flag=True, help="say which posts would come down; change nothing")
@settings_options
def consent_takedown(pupil: str | None, post: str | None, dry_run: bool,
                     source: SettingsSource) -> int:
    """Take down every post picturing a pupil (a parent's complaint), or one post.

    The service deletes them on every platform at its next check, holds any not yet out,
    and e-mails the DSL. The pupil's name is not kept: only its keyed hash.

    \b
    Example:
      steward consent takedown --pupil - --dry-run   (asks for the name)
      (as the service: sudo steward admin consent takedown --pupil -)
    """
    from daemon.posts.pupil_hashes import pupil_hasher  # noqa: PLC0415
    from daemon.posts.takedowns import TakedownError, open_for_post, open_for_pupil  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415

    if (pupil is None) == (post is None):
        raise UsageProblem("give either --pupil NAME (or --pupil - to be asked) or --post ID")
    typed = pupil  # `-` stays `-` in any command shown to type again
    if pupil == "-":
        pupil = _asked_name()
    elif pupil is not None:
        print("note: a name typed on the command line stays in the shell's history and, "
              "under sudo, in the system log; `--pupil -` asks for it instead", file=sys.stderr)
    settings = source.load()
    words = ["consent", "takedown"] + (["--pupil", typed] if typed is not None else
                                       ["--post", str(post)]) + (["--dry-run"] if dry_run else [])
    _writable(settings, words, source)
    store = Store(settings.paths.state_dir / "steward.sqlite3")
    audit = open_audit_log(settings)
    try:
        if pupil is not None:
            number, posts = open_for_pupil(settings, store, audit, Clock(),
                                           pupil_hasher(settings)(pupil), dry_run=dry_run)
        else:
            number, posts = open_for_post(settings, store, audit, Clock(), str(post),
                                          dry_run=dry_run)
    except TakedownError as error:
        raise Refused(str(error)) from None
    finally:
        audit.close()
        store.close()
    listed = "".join(f"  {post_id}\n" for post_id in posts) or "  (none still up or queued)\n"
    if number is None:
        print(f"Would take down {len(posts)} post(s) (dry run; nothing changed):\n{listed}",
              end="")
    else:
        print(f"T{number}: {len(posts)} post(s) to take down at the service's next check "
              f"(within {settings.consent.check_interval_seconds:g} s):\n{listed}", end="")
    return EXIT_OK


def _asked_name() -> str:
    """The pupil's name, read from standard input (asked for on a terminal): never part of the
    command line, which sudo logs and every user of the machine may see while it runs."""
    if sys.stdin.isatty():
        print("The pupil's name, as written in the consent register: ", end="",
              file=sys.stderr, flush=True)
    name = sys.stdin.readline().strip()
    if not name:
        raise UsageProblem("no name was given (--pupil - reads it from standard input)")
    return name


def _compare_here(settings: StewardSettings, dry_run: bool, source: SettingsSource) -> list[str]:
    """Compare the register with the live posts in this process (no service is running, or
    a dry run): takedowns are opened (never carried out: deleting needs the service's
    connection to the platforms); return what to say."""
    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.posts.pupil_hashes import pupil_hasher  # noqa: PLC0415
    from daemon.posts.requests import Requests  # noqa: PLC0415
    from daemon.posts.takedowns import Takedowns  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415

    words = ["consent", "reload", *(["--dry-run"] if dry_run else [])]
    _writable(settings, words, source)
    store = Store(settings.paths.state_dir / "steward.sqlite3")
    audit: AuditLog = open_audit_log(settings)
    clock = Clock()
    try:
        takedowns = Takedowns(settings, store, audit, clock,
                              Requests(settings, store, audit, clock, dict),
                              pupil_hasher(settings),
                              Mailer(settings.mail, settings.paths.state_dir / "outbox", clock))
        if not dry_run:
            audit.record("consent.reloaded", by=person_behind_command(), service="stopped")
            opened = takedowns.compare_register()
            return [f"Opened takedown T{number}" for number in opened] + [
                "The service is not running: it carries out what is due when it starts."
                if opened else "Nothing to take down."]
        report = takedowns.run(dry_run=True)
    finally:
        audit.close()
        store.close()
    lines = [f"New takedown for {line}" for line in report.would_open]
    lines += [f"Would delete {line}" for line in report.deleted]
    lines += [f"Would hold {post}" for post in report.held]
    if report.capped:
        lines.append(f"(capped at {settings.consent.takedowns_per_run} posts a run; the rest "
                     "follow in the next)")
    return (lines or ["Nothing to take down."]) + ["Dry run: nothing was changed."]


def _ask_the_service(settings: StewardSettings, pid: int) -> list[str]:
    """SIGHUP to the running service: it reloads its configuration and re-reads the consent
    register at once (daemon.service.Service.reload)."""
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415

    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise Refused(f"the service (process {pid}) stopped just now: run the command again"
                      ) from None
    except PermissionError:
        raise Refused("only the service's own user or root may ask the running service to "
                      "re-read the register: sudo steward admin consent reload") from None
    return [f"Asked the running service (process {pid}) to re-read the register now; "
            "takedowns it opens are listed by `steward consent takedowns`, and the DSL is "
            "e-mailed as each one opens and is done."]


def _reload(dry_run: bool, source: SettingsSource) -> int:
    import os  # noqa: PLC0415

    from daemon.runtime.running import daemon_running  # noqa: PLC0415

    settings = source.load()
    running = daemon_running(settings.paths.state_dir)
    if not dry_run and running is not None and running.running and running.pid \
            and int(running.pid) != os.getpid():  # never the process itself (a test's service)
        lines = _ask_the_service(settings, int(running.pid))
    else:
        lines = _compare_here(settings, dry_run, source)
    print("\n".join(lines))
    return EXIT_OK


@consent.command("reload")
@click.option("--dry-run", is_flag=True, help="say what the comparison would take down; "
              "change nothing")
@settings_options
def consent_reload(dry_run: bool, source: SettingsSource) -> int:
    """Re-read the consent register now and compare it with the live posts, as the service
    does by itself every consent.check_interval_seconds.

    With the service running, it is asked to do it at once (a pupil just put on the
    restricted list is taken down within seconds); with it stopped, takedowns are opened
    here and carried out when it starts. --dry-run says what would come down.

    \b
    Example:
      steward consent reload --dry-run
      sudo steward admin consent reload
    """
    return _reload(dry_run, source)


@consent.command("check", hidden=True)
@click.option("--dry-run", is_flag=True, help="say what the comparison would take down")
@settings_options
def consent_check(dry_run: bool, source: SettingsSource) -> int:
    """The former name of `steward consent reload`, kept so that scripts go on working.

    \b
    Example:
      steward consent check --dry-run
    """
    return _reload(dry_run, source)


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    group.add_command(consent)
