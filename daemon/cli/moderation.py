"""Commands for replies and comments on the school's posts: `moderate classify|queue|decide|
restore|train`, and the eSafety incident log, `incidents export|show|close`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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


@click.group(cls=StewardGroup)
def moderate() -> None:
    """Replies and comments on the school's posts.

    \b
    Example:
      echo "well done everyone" | steward moderate classify
    """


@moderate.command("classify")
@click.option("--jsonl", is_flag=True, help='print {"verdict", "score", "reasons"} JSON per line')
@click.option("--school-model", is_flag=True, help="add the school's own model (`moderate "
              "train`) as the daemon does; refused, saying why, when it cannot be used")
@settings_options
def moderate_classify(jsonl: bool, school_model: bool, source: SettingsSource) -> int:
    """Classify texts read from standard input, one per line.

    Prints one verdict per line, in the same order.

    \b
    Example:
      steward moderate classify --jsonl < replies.txt > verdicts.jsonl
    """
    from dataclasses import replace  # noqa: PLC0415

    from daemon.moderation.rules import moderation_rules  # noqa: PLC0415
    from policies.moderation import classify_many  # noqa: PLC0415

    settings = source.load()
    rules = moderation_rules(settings)
    batch: list[str] = []
    score_with_school_model = None
    if school_model:
        from daemon.moderation.school_model import (  # noqa: PLC0415
            model_path,
            school_model_scores,
            school_model_status,
        )

        usable, why = school_model_status(settings.paths.state_dir)
        if not usable:
            raise Refused(f"the school model is {why}")
        path = model_path(settings.paths.state_dir)
        score_with_school_model = lambda texts: school_model_scores(texts, path)  # noqa: E731

    def flush() -> None:
        if not batch:
            return
        batch_rules = rules
        if score_with_school_model is not None:
            scores = score_with_school_model(batch)
            if scores is None:  # it was there when the command began
                raise Refused("the school model is no longer usable (it was removed or "
                              "replaced while the texts were read); run the command again")
            batch_rules = replace(rules, school_scores=tuple(scores))
        for verdict in classify_many(batch, batch_rules):
            if jsonl:
                print(json.dumps(verdict.as_json()))
            else:
                reasons = ", ".join(verdict.reasons) or "-"
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
    from daemon.runtime.store import Store  # noqa: PLC0415

    settings = source.load()
    database = settings.paths.state_dir / "steward.sqlite3"
    replies = []
    if database.exists():
        store = Store.open_read_only(database)  # reading only: the DSL needs no write access
        try:
            replies = waiting_for_review(store)
        finally:
            store.close()
    for line in queue_lines(replies, ZoneInfo(settings.school.time_zone), show_text):
        print(line)
    return EXIT_OK


def queue_decision(source: SettingsSource, reply: str, decision: str, allowed: tuple) -> int:
    """Record a moderator's decision on a reply for the daemon to apply at its next poll."""
    import getpass  # noqa: PLC0415

    from daemon.runtime.store import Store  # noqa: PLC0415

    settings = source.load()
    database = settings.paths.state_dir / "steward.sqlite3"
    reference = reply.upper().removeprefix("R")
    if not reference.isdigit() or not database.exists():
        raise UsageProblem(f"unknown reply {reply}")
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
                 by=getpass.getuser())
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
    """Fit the school's own moderation model (needs the [train] extra).

    It learns from moderators' decisions and from labelled CSV/TSV files.

    \b
    Example:
      steward moderate train labelled-replies.csv --label-column offensive
    """
    from daemon.moderation.school_model import model_path  # noqa: PLC0415
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
    print(f"fine-tuning on {len(examples):,} labelled examples (a fifth held out first; "
          "about 20 minutes per 10,000 examples on two cores)...", flush=True)
    report = train(examples, settings.paths.state_dir,
                   progress=lambda message: print(f"  {message}", flush=True))
    print(f"held-out macro-F1 {report['held_out_macro_f1']:.3f} on {report['examples']:,} "
          f"examples ({report['offensive']:,} offensive); saved to "
          f"{model_path(settings.paths.state_dir).parent} (model weights only, no text). The "
          "daemon uses it from its next sweep.")
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
    from daemon.runtime.store import Store  # noqa: PLC0415

    settings = source.load()
    database = settings.paths.state_dir / "steward.sqlite3"
    zone = ZoneInfo(settings.school.time_zone)
    writer = csv.writer(sys.stdout)
    writer.writerow(["Incident", "Date", "Time", "Platform", "Nature of incident",
                     "Action taken", "Reported to", "Outcome", "Evidence file",
                     "Evidence SHA-256"])
    if not database.exists():
        return EXIT_OK
    store = Store.open_read_only(database)  # the export writes nothing, and needs no write access
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

    settings = source.load()
    store = read_only_store(settings, number)
    try:
        case = incident_file(store, number)
    except UnknownIncident as error:
        raise UsageProblem(str(error)) from None
    finally:
        store.close()
    for line in lines_of(case, ZoneInfo(settings.school.time_zone)):
        print(line)
    if not case.evidence.intact:
        raise Refused(f"{case.incident.number}: the evidence cannot be trusted as shown: "
                      f"{case.evidence.problem}")
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
    log records who closed it, when, and the outcome.

    \b
    Example:
      steward incidents close INC-2026-0001 --outcome "parent spoken to; account reported to X"
    """
    import getpass  # noqa: PLC0415
    import os  # noqa: PLC0415

    from daemon.moderation.casework import (  # noqa: PLC0415
        AlreadyClosed,
        OutcomeRefused,
        UnknownIncident,
        UnusableOutcome,
        close_incident,
    )
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.store import Store  # noqa: PLC0415

    settings = source.load()
    database = settings.paths.state_dir / "steward.sqlite3"
    if not database.exists():
        raise UsageProblem(f"there is no incident {number} (no incident log in "
                           f"{settings.paths.state_dir})")
    by = os.environ.get("SUDO_USER") or getpass.getuser()  # the person, under sudo -u steward
    store = Store(database)
    audit = open_audit_log(settings)
    try:
        closed = close_incident(store, audit, settings, number, outcome, by, Clock().now(),
                                amend=amend)
    except (UnknownIncident, UnusableOutcome) as error:
        raise UsageProblem(str(error)) from None
    except (AlreadyClosed, OutcomeRefused) as error:
        raise Refused(str(error)) from None
    finally:
        audit.close()
        store.close()
    print(f"{number.strip().upper()}: {closed}")
    return EXIT_OK


def read_only_store(settings, number: str):
    """The state directory's database, opened for reading; UsageProblem if there is none."""
    from daemon.runtime.store import Store  # noqa: PLC0415

    database = settings.paths.state_dir / "steward.sqlite3"
    if not database.exists():
        raise UsageProblem(f"there is no incident {number} (no incident log in "
                           f"{settings.paths.state_dir})")
    return Store.open_read_only(database)


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    for command in (moderate, incidents):
        group.add_command(command)
