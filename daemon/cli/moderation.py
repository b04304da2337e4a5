"""Commands for replies and comments on the school's posts: `moderate classify|queue|decide|
restore|train`, and the eSafety incident log, `incidents export|show|close`."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
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

if TYPE_CHECKING:
    from config.settings import StewardSettings
    from daemon.runtime.store import Store


@click.group(cls=StewardGroup)
def moderate() -> None:
    """Replies and comments on the school's posts.

    \b
    Example:
      echo "well done everyone" | steward moderate classify
    """


@moderate.command("classify")
@click.option("--jsonl", is_flag=True, help='print {"verdict", "score", "reasons"} JSON per line')
@click.option("--school-model", is_flag=True, help="insist on the school's own tuning of the "
              "model (`moderate train`); refused, saying why, when it cannot be used")
@click.option("--default-model", is_flag=True, help="use Steward's own model even where the "
              "school has tuned one (to compare the two)")
@settings_options
def moderate_classify(jsonl: bool, school_model: bool, default_model: bool,
                      source: SettingsSource) -> int:
    """Classify texts read from standard input, one per line.

    Prints one verdict per line, in the same order, with the model the daemon uses: the
    school's tuning when there is one that works, else Steward's own.

    \b
    Example:
      steward moderate classify --jsonl < replies.txt > verdicts.jsonl
    """
    from daemon.moderation.contextual_model import (  # noqa: PLC0415
        detector_sentence,
        open_contextual_model,
        with_scores,
    )
    from daemon.moderation.rules import moderation_rules  # noqa: PLC0415
    from daemon.moderation.school_model import (  # noqa: PLC0415
        school_model_status,
        tuning_directory,
    )
    from daemon.moderation.worker import model_cache_directory  # noqa: PLC0415
    from policies.moderation import classify_many  # noqa: PLC0415

    if school_model and default_model:
        raise UsageProblem("--school-model and --default-model contradict each other; "
                           "choose one")
    settings = source.load()
    state_dir = settings.paths.state_dir
    if school_model:
        usable, why = school_model_status(state_dir)
        if not usable:
            raise Refused(f"the school model is {why}")
    rules = moderation_rules(settings)
    model, why_not = open_contextual_model(
        model_cache_directory(state_dir), build=False,
        tuning=None if default_model else tuning_directory(state_dir))
    if school_model and (model is None or not model.tuned):
        raise Refused("the school model could not be opened: "
                      f"{detector_sentence(model, why_not)}")
    if model is None or model.tuned or model.tuning_note:
        # said on stderr, so that the verdicts on stdout stay machine-readable
        click.echo(f"Classifying with {detector_sentence(model, why_not)}.", err=True)
    batch: list[str] = []

    def flush() -> None:
        if not batch:
            return
        for verdict in classify_many(batch, with_scores(batch, rules, model)):
            if jsonl:
                print(json.dumps(verdict.as_json()))
            else:
                reasons = "; ".join(verdict.reasons) or "-"
                print(f"{verdict.verdict:<6} {verdict.score:.2f}  {reasons}")
        batch.clear()

    for line in sys.stdin:
        batch.append(line.rstrip("\n"))
        if len(batch) >= 500:
            flush()
    flush()
    return EXIT_OK


@moderate.command("queue")
@click.option("--show-text", is_flag=True, help="show each reply's text too (escaped: control "
              "and invisible characters spelled out); without it, only its layers and score")
@settings_options
def moderate_queue(show_text: bool, source: SettingsSource) -> int:
    """List the replies waiting for a moderator's decision.

    Each line: its reference, platform, when it came, its author, the verdict and score and
    the classifier's layers. The words themselves only with --show-text.

    \b
    Example:
      steward moderate queue --show-text
    """
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.moderation.casework import queue_lines, waiting_for_review  # noqa: PLC0415

    settings = source.load()
    replies = []
    store = store_for_reading(settings, "the moderation queue")
    if store is not None:
        try:
            replies = waiting_for_review(store)
        finally:
            store.close()
    for line in queue_lines(replies, ZoneInfo(settings.school.time_zone), show_text):
        print(line)
    return EXIT_OK


def queue_decision(source: SettingsSource, reply: str, decision: str, allowed: tuple) -> int:
    """Record a moderator's decision on a reply for the daemon to apply at its next poll."""
    from daemon.runtime.access import person_behind_command  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415

    settings = source.load()
    database = settings.paths.state_dir / "steward.sqlite3"
    reference = reply.upper().removeprefix("R")
    reading = store_for_reading(settings, "the moderation queue") if reference.isdigit() \
        else None  # may this user read it at all? (said before asking for sudo)
    if reading is None:
        raise UsageProblem(f"unknown reply {reply}")
    reading.close()
    words = ["moderate", "decide", f"R{reference}", decision] if decision in ("act", "allow") \
        else ["moderate", decision, f"R{reference}"]
    refuse_unless_writable(settings, f"'{decision}'", as_the_service_types(words, source))
    store = Store(database)
    try:
        status = store.queue_decision(int(reference), decision, allowed)
    finally:
        store.close()
    if status not in allowed:
        raise Refused(f"R{reference} is {status or 'unknown'}; {decision} applies to replies "
                      f"that are {' or '.join(allowed)}")
    audit = open_audit_log(settings)
    audit.record("moderation.decision_queued", reply=f"R{reference}", decision=decision,
                 by=person_behind_command())
    audit.close()
    print(f"R{reference}: '{decision}' queued; Steward applies it at its next poll "
          f"(every {settings.moderation.poll_interval_seconds:g} s)")
    return EXIT_OK


@moderate.command("decide")
@click.argument("reply", metavar="ID")
@click.argument("decision", type=click.Choice(["act", "allow"]))
@settings_options
def moderate_decide(reply: str, decision: str, source: SettingsSource) -> int:
    """Decide a reply sent for review.

    ID is its reference (e.g. R12); the decision is act or allow.

    \b
    Example:
      steward moderate decide R12 act
    """
    return queue_decision(source, reply, decision, ("review", "dry-run"))


@moderate.command("restore")
@click.argument("reply", metavar="ID")
@settings_options
def moderate_restore(reply: str, source: SettingsSource) -> int:
    """Undo the hide and sanctions of a wrongly flagged reply.

    ID is its reference (e.g. R12).

    \b
    Example:
      steward moderate restore R12
    """
    return queue_decision(source, reply, "restore", ("acted",))


@moderate.command("train")
@click.argument("files", nargs=-1, metavar="[CSV]...")
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@settings_options
def moderate_train(files: tuple[str, ...], text_column: str, label_column: str,
                   source: SettingsSource) -> int:
    """Tune Steward's moderation model on the school's examples ([train] extra).

    It learns from moderators' decisions and from labelled CSV/TSV files, and is installed
    only if it does at least as well as Steward's own on the fifth held out.

    \b
    Example:
      steward moderate train labelled-replies.csv --label-column offensive
    """
    from daemon.moderation.school_model import tuning_directory  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415
    from training.moderation import decided_examples, read_examples, train  # noqa: PLC0415

    settings = source.load()
    examples = []
    for path in files:
        examples += read_examples(Path(path), text_column, label_column)
    database = settings.paths.state_dir / "steward.sqlite3"
    if database.exists():
        store = Store(database)
        examples += decided_examples(store)
        store.close()
    print(f"tuning Steward's model on {len(examples):,} labelled examples (a fifth held out "
          "first; about 2 minutes per 1,000 examples on one core, then a minute to score)...",
          flush=True)
    report = train(examples, settings.paths.state_dir,
                   progress=lambda message: print(f"  {message}", flush=True))
    print(f"held-out macro-F1 {report['held_out_macro_f1']:.3f} (Steward's own model: "
          f"{report['default_held_out_macro_f1']:.3f}) on {report['held_out']:,} of "
          f"{report['examples']:,} examples ({report['offensive']:,} offensive); thresholds "
          f"{report['thresholds_from']}. Saved to {tuning_directory(settings.paths.state_dir)} "
          "(numbers only, no text). The daemon uses it from its next sweep.")
    return EXIT_OK


@click.group(cls=StewardGroup)
def incidents() -> None:
    """The eSafety incident log.

    \b
    Example:
      steward incidents export > esafety-incident-log.csv
    """


@incidents.command("export")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv",
              show_default=True, help="the only format so far")
@click.option("--csv", "csv_flag", is_flag=True, help="the same as --format csv")
@settings_options
def incidents_export(output_format: str, csv_flag: bool, source: SettingsSource) -> int:
    """Print the incident log as CSV.

    One incident a row: number, date, time, platform, nature, action taken, reported to,
    outcome, evidence file and its SHA-256.

    \b
    Example:
      steward incidents export > esafety-incident-log.csv
    """
    import csv  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.reading import spreadsheet_cell  # noqa: PLC0415

    settings = source.load()
    zone = ZoneInfo(settings.school.time_zone)
    writer = csv.writer(sys.stdout)
    writer.writerow(["Incident", "Date", "Time", "Platform", "Nature of incident",
                     "Action taken", "Reported to", "Outcome", "Evidence file",
                     "Evidence SHA-256"])
    store = store_for_reading(settings, "the incident log")
    if store is None:
        return EXIT_OK
    try:
        incidents = store.incidents()
    finally:
        store.close()
    for incident in incidents:
        when = incident.occurred_at.astimezone(zone)
        writer.writerow([spreadsheet_cell(cell) for cell in (
            incident.number, f"{when:%Y-%m-%d}", f"{when:%H:%M}", incident.platform,
            incident.nature, incident.action_taken, incident.reported_to, incident.outcome,
            incident.evidence_path, incident.evidence_sha256)])
    return EXIT_OK


@incidents.command("show")
@click.argument("number", metavar="ID")
@settings_options
def incidents_show(number: str, source: SettingsSource) -> int:
    """Show one incident: the message, its author, the evidence and the actions taken.

    The evidence file is read and checked against the SHA-256 recorded when it was saved;
    exit 1 if it is missing or was changed. Texts are shown escaped.

    \b
    Example:
      steward incidents show INC-2026-0001
    """
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.moderation.casework import UnknownIncident, incident_file  # noqa: PLC0415
    from daemon.moderation.casework import incident_lines as lines_of  # noqa: PLC0415
    from policies.displayed_text import visible  # noqa: PLC0415

    settings = source.load()
    store = store_for_reading(settings, "the incident log")
    if store is None:
        raise UsageProblem(f"there is no incident {visible(number)} (no incident log in "
                           f"{settings.paths.state_dir})")
    try:
        case = incident_file(store, number)
    except UnknownIncident as error:
        raise UsageProblem(str(error)) from None
    finally:
        store.close()
    for line in lines_of(case, ZoneInfo(settings.school.time_zone)):
        print(line)
    if not case.evidence.intact:
        raise Refused(f"{case.incident.number}: the evidence cannot be trusted as shown "
                      "(NOT CHECKED OUT above says why)")
    return EXIT_OK


@incidents.command("close")
@click.argument("number", metavar="ID")
@click.option("--outcome", required=True, metavar="TEXT", help="what was done and how it "
              "ended, in a line (no names of children, no quotes of the abuse: it goes into "
              "the audit log and the governors' report)")
@click.option("--amend", is_flag=True, help="replace the outcome of an incident closed before")
@settings_options
def incidents_close(number: str, outcome: str, amend: bool, source: SettingsSource) -> int:
    """Close an incident, recording its outcome.

    The incident log's Outcome column then reads "closed WHEN by WHO: TEXT", and the audit
    log records who closed it, when, and the outcome. It writes the state, so on a server it
    runs as the service (`sudo steward admin ...`; WHO is then the person behind sudo); run
    as someone who may only read the state, it says exactly what to type.

    \b
    Example:
      steward incidents close INC-2026-0001 --outcome "parent spoken to; account reported to X"
      sudo steward admin incidents close INC-2026-0001 --outcome "parent spoken to"
    """
    from daemon.moderation.casework import (  # noqa: PLC0415
        AlreadyClosed,
        OutcomeRefused,
        RosterUnreadable,
        UnknownIncident,
        UnusableOutcome,
        close_incident,
        usable_outcome,
    )
    from daemon.runtime.access import person_behind_command  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415
    from policies.displayed_text import visible  # noqa: PLC0415

    try:
        usable_outcome(outcome)  # before anything else: a mistake here is the first to fix
    except UnusableOutcome as error:
        raise UsageProblem(str(error)) from None
    settings = source.load()
    state = settings.paths.state_dir
    database = state / "steward.sqlite3"
    store = store_for_reading(settings, "the incident log")  # is there one, may it be read?
    if store is None:
        raise UsageProblem(f"there is no incident {visible(number)} (no incident log in "
                           f"{state})")
    store.close()
    as_the_service = run_as_the_service(number, outcome, amend, source)
    refuse_unless_writable(settings, "closing an incident", as_the_service)
    by = person_behind_command()
    store = Store(database)
    audit = open_audit_log(settings)
    try:
        closed = close_incident(store, audit, settings, number, outcome, by, Clock().now(),
                                amend=amend)
    except (UnknownIncident, UnusableOutcome) as error:
        raise UsageProblem(str(error)) from None
    except (AlreadyClosed, OutcomeRefused) as error:
        raise Refused(str(error)) from None
    except RosterUnreadable as error:
        raise Refused(f"{error} Type:\n  {as_the_service}") from None
    finally:
        audit.close()
        store.close()
    print(visible(f"{number.strip().upper()}: {closed}"))  # the outcome as typed, escaped
    return EXIT_OK


def store_for_reading(settings: StewardSettings, what: str) -> Store | None:
    """The state directory's database opened for reading only, so that the DSL and the
    auditor (group `steward`: read, not write) can use it; None if there is none yet.
    Refused, naming the file, the user and the fix, if this user may not read it."""
    from daemon.runtime.access import cannot_read  # noqa: PLC0415
    from daemon.runtime.store import Store, StoreError  # noqa: PLC0415

    database = settings.paths.state_dir / "steward.sqlite3"
    try:
        if not database.exists():
            return None
    except PermissionError:
        raise Refused(cannot_read(database, what)) from None
    try:
        return Store.open_read_only(database)
    except (PermissionError, StoreError):
        unreadable = [path for path in (database, Path(f"{database}-wal"),
                                        Path(f"{database}-shm"))
                      if path.exists() and not os.access(path, os.R_OK)]
        if unreadable:
            raise Refused(cannot_read(unreadable[0], what)) from None
        raise


def run_as_the_service(number: str, outcome: str, amend: bool, source: SettingsSource) -> str:
    """The `incidents close` command as typed to run as the service (`sudo steward admin`)."""
    words = ["incidents", "close", number.strip().upper(), "--outcome", " ".join(outcome.split())]
    return as_the_service_types(words + (["--amend"] if amend else []), source)


def as_the_service_types(words: list[str], source: SettingsSource) -> str:
    """`steward WORDS...` as typed to run as the service: `sudo steward admin WORDS...`, with
    the same --config and --state-dir, quoted for the shell and escaped for the terminal."""
    from config.schools import selected_school  # noqa: PLC0415
    from policies.displayed_text import visible  # noqa: PLC0415

    school = selected_school()
    words = ["sudo", "steward", *(["--school", school] if school else []), "admin", *words]
    words += ["--config", source.config_file] if source.config_file else []
    words += ["--state-dir", source.state_dir] if source.state_dir else []
    return " ".join(shlex.quote(visible(word)) for word in words)


def refuse_unless_writable(settings: StewardSettings, what: str, typed: str) -> None:
    """Refused, with the command to type instead (`typed`), when this user may not write the
    state (a DSL or moderator in the group `steward`), or is root writing the service's."""
    from daemon.runtime.access import current_user, may_write  # noqa: PLC0415
    from daemon.runtime.ownership import WrongUser, refuse_to_write_as_another_user  # noqa: PLC0415

    state = settings.paths.state_dir
    try:
        refuse_to_write_as_another_user(state)
    except WrongUser:
        raise Refused(f"{state} belongs to the service, and this runs as root: {what} writes "
                      f"there, so run it as the service runs. Type:\n  {typed}") from None
    if not may_write(state, state / "steward.sqlite3", state / "audit.jsonl"):
        user = current_user()
        raise Refused(f"{user} may read Steward's state but not change it, and {what} writes "
                      f"the state and the audit log: it runs as the service does. Type:\n  "
                      f"{typed}\n(the audit log records {user} as who did it; if sudo "
                      "refuses, the administrator gives you that command: docs/"
                      "safeguarding.md, \"Who may run what\")")


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    for command in (moderate, incidents):
        group.add_command(command)
