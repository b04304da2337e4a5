"""The argparse parser that `steward` had before Click, for the commands whose wing has not
moved to its own module yet (daemon/cli/main.py sends them here). It shrinks to nothing as
each wing moves; do not add to it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from config.example import EXAMPLE_FILE, generate_example, render_settings
from config.loading import ConfigurationError, load_settings
from config.settings import StewardSettings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _settings(arguments: argparse.Namespace, **overrides) -> StewardSettings:
    settings = load_settings(getattr(arguments, "config", None))
    state_dir = getattr(arguments, "state_dir", None)
    if state_dir is not None:
        settings = settings.model_copy(update={
            "paths": settings.paths.model_copy(update={"state_dir": Path(state_dir)})})
    return settings


# -- run ---------------------------------------------------------------------------------------

def command_run(arguments: argparse.Namespace) -> int:
    from daemon.runtime.logs import configure_logging  # noqa: PLC0415 - keep `steward --help` fast
    from daemon.service import Service, StartupError  # noqa: PLC0415

    settings = _settings(arguments)
    configure_logging(secret_values=settings.secret_values())
    service = Service(settings)
    stop = threading.Event()
    reload_requested = threading.Event()
    received: list[int] = []

    def on_signal(number, frame) -> None:
        received.append(number)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, lambda number, frame: reload_requested.set())
    try:
        service.start()
    except StartupError as error:
        print(f"steward: cannot start: {error}", file=sys.stderr)
        service.stop("start-up failed")
        return EXIT_USAGE
    while not stop.wait(0.5):
        if reload_requested.is_set():
            reload_requested.clear()
            try:
                fresh = _settings(arguments)
            except ConfigurationError as error:
                service.audit.record("config.reload_refused", level="error", audience="admin",
                                     reason=str(error).splitlines()[0],
                                     note="still running on the previous configuration")
                continue
            service.reload(fresh)
    number = received[0] if received else signal.SIGTERM
    service.stop(f"signal {signal.Signals(number).name}")
    return EXIT_OK if number == signal.SIGTERM else 128 + number


# -- demo and sandbox --------------------------------------------------------------------------

def command_demo(arguments: argparse.Namespace) -> int:
    from daemon.demo import run_demo  # noqa: PLC0415

    return run_demo(Path(arguments.state_dir) if arguments.state_dir else None,
                    keep_running=arguments.keep_running)


def command_sandbox_serve(arguments: argparse.Namespace) -> int:
    from sandbox.app import start_sandbox  # noqa: PLC0415

    try:
        server = start_sandbox(arguments.port, Path(arguments.state) if arguments.state else None,
                               Path(arguments.scenario) if arguments.scenario else None)
    except (ValueError, OSError) as error:
        print(f"steward sandbox: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"sandbox listening on {server.url} (state: {arguments.state or 'in memory'}); "
          "Ctrl-C stops it", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return EXIT_OK


# -- keys, signing, submitting, checking --------------------------------------------------------

def command_keys_new(arguments: argparse.Namespace) -> int:
    from daemon.runtime.keys import new_key  # noqa: PLC0415

    slug = "".join(ch if ch.isalnum() else "-" for ch in arguments.name.lower()).strip("-")
    path = Path(arguments.out or f"{slug}.key")
    try:
        key = new_key(arguments.name, path)
    except FileExistsError:
        print(f"steward keys: {path} exists; choose another --out", file=sys.stderr)
        return EXIT_USAGE
    print(f"Wrote the private key for {arguments.name} to {path} (only you can read it).\n"
          "Add this to the configuration so that their signatures count:\n\n"
          "[[approval.signers]]\n"
          f"name = {json.dumps(arguments.name)}\n"
          f"public_key = \"{key.public_key_base64()}\"")
    return EXIT_OK


def _load_keys(paths: list[str]) -> list:
    from daemon.runtime.keys import load_key  # noqa: PLC0415

    return [load_key(Path(path)) for path in paths]


def command_sign(arguments: argparse.Namespace) -> int:
    from daemon.posts.approval import sign_submission  # noqa: PLC0415
    from daemon.posts.reading import read_submission  # noqa: PLC0415
    from daemon.runtime.keys import ApprovalKeyError  # noqa: PLC0415

    settings = _settings(arguments)
    try:
        keys = _load_keys(arguments.key)
    except ApprovalKeyError as error:
        print(f"steward sign: {error}", file=sys.stderr)
        return EXIT_USAGE
    for key in keys:
        submission = read_submission(Path(arguments.post), settings.school.time_zone,
                                     settings.intake.max_text_bytes,
                                     max_media_bytes=settings.intake.max_media_bytes)
        if submission.problems:
            print(f"steward sign: {arguments.post} cannot be signed:", file=sys.stderr)
            for problem in submission.problems:
                print(f"  - {problem.problem}", file=sys.stderr)
            return EXIT_REFUSED
        try:
            sign_submission(submission, key, settings.intake.max_media_bytes)
        except ValueError as error:
            print(f"steward sign: {error}", file=sys.stderr)
            return EXIT_REFUSED
        print(f"signed {arguments.post} as {key.name}")
    return EXIT_OK


def command_submit(arguments: argparse.Namespace) -> int:
    from daemon.posts.submitting import SubmitError, submit  # noqa: PLC0415
    from daemon.runtime.keys import ApprovalKeyError  # noqa: PLC0415

    settings = _settings(arguments)
    inbox = Path(arguments.inbox) if arguments.inbox else settings.paths.resolved("inbox")
    try:
        keys = _load_keys(arguments.sign or [])
        target = submit(Path(arguments.post), inbox, keys=keys,
                        time_zone=settings.school.time_zone,
                        max_text_bytes=settings.intake.max_text_bytes,
                        max_media_bytes=settings.intake.max_media_bytes)
    except (ApprovalKeyError, SubmitError, OSError) as error:
        print(f"steward submit: {error}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"submitted {target}")
    return EXIT_OK


def command_check(arguments: argparse.Namespace) -> int:
    from daemon.posts.assessment import assess  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    settings = _settings(arguments)
    result = assess(Path(arguments.post), settings, Clock().now())
    if arguments.json:
        print(json.dumps({
            "accepted": result.accepted, "platforms": list(result.platforms),
            "notes": list(result.notes),
            "approved_by": list(result.signers),
            "findings": [{"rule": f.rule, "clause": f.clause_id, "problem": f.problem,
                          "fix": f.fix} for f in result.findings]}, indent=2))
    elif result.accepted:
        print(f"{arguments.post}: OK, would be published on {', '.join(result.platforms)}")
    else:
        print(f"{arguments.post}: would be REFUSED:")
        for finding in result.findings:
            print(finding.explain())
    if not arguments.json:
        for note in result.notes:
            print(f"Note: {note}")
    return EXIT_OK if result.accepted else EXIT_REFUSED


def command_media_clean(arguments: argparse.Namespace) -> int:
    from policies.media import UncleanableMedia, clean_file  # noqa: PLC0415

    sources = [Path(name) for name in arguments.files]
    output = Path(arguments.output)
    many = len(sources) > 1 or output.is_dir()
    if many:
        output.mkdir(parents=True, exist_ok=True)
    refused = 0
    for source in sources:
        target = output / source.name if many else output
        try:
            report = clean_file(source, target)
        except UncleanableMedia as error:
            refused += 1
            print(f"{source}: refused: {error}", file=sys.stderr)
            continue
        except OSError as error:
            refused += 1
            print(f"{source}: cannot be read or written ({error.strerror})", file=sys.stderr)
            continue
        removed = "; ".join(report.removed) or "nothing to remove"
        print(f"{source} -> {target}: {report.format}, removed {removed}"
              + (f"; orientation {report.orientation} kept" if report.orientation else ""))
    return EXIT_REFUSED if refused else EXIT_OK


def command_moderate_classify(arguments: argparse.Namespace) -> int:
    from dataclasses import replace  # noqa: PLC0415

    from daemon.moderation.rules import moderation_rules  # noqa: PLC0415
    from policies.moderation import classify_many  # noqa: PLC0415

    settings = _settings(arguments)
    rules = moderation_rules(settings)
    batch: list[str] = []
    score_with_school_model = None
    if arguments.school_model:
        from daemon.moderation.school_model import model_path, school_model_scores, school_model_status

        usable, why = school_model_status(settings.paths.state_dir)
        if not usable:
            print(f"steward moderate classify: the school model is {why}", file=sys.stderr)
            return EXIT_REFUSED
        path = model_path(settings.paths.state_dir)
        score_with_school_model = lambda texts: school_model_scores(texts, path)  # noqa: E731

    def flush() -> None:
        if not batch:
            return
        batch_rules = rules
        if score_with_school_model is not None:
            batch_rules = replace(rules, school_scores=tuple(score_with_school_model(batch)))
        for verdict in classify_many(batch, batch_rules):
            if arguments.jsonl:
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


def _queue_decision(arguments: argparse.Namespace, decision: str, allowed: tuple) -> int:
    import getpass  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415

    from daemon.audit.chain import AuditLog  # noqa: PLC0415

    settings = _settings(arguments)
    database = settings.paths.state_dir / "steward.sqlite3"
    reference = arguments.reply.upper().removeprefix("R")
    if not reference.isdigit() or not database.exists():
        print(f"steward moderate: unknown reply {arguments.reply}", file=sys.stderr)
        return EXIT_USAGE
    with sqlite3.connect(database, timeout=30) as db:
        row = db.execute("SELECT status FROM replies WHERE id = ?", (int(reference),)).fetchone()
        if row is None or row[0] not in allowed:
            state = row[0] if row else "unknown"
            print(f"steward moderate: R{reference} is {state}; {decision} applies to replies "
                  f"that are {' or '.join(allowed)}", file=sys.stderr)
            return EXIT_REFUSED
        db.execute("UPDATE replies SET decision = ? WHERE id = ?", (decision, int(reference)))
    audit = AuditLog(settings.paths.state_dir / "audit.jsonl")
    audit.record("moderation.decision_queued", reply=f"R{reference}", decision=decision,
                 by=getpass.getuser())
    audit.close()
    print(f"R{reference}: '{decision}' queued; Steward applies it at its next poll "
          f"(every {settings.moderation.poll_interval_seconds:g} s)")
    return EXIT_OK


def command_moderate_decide(arguments: argparse.Namespace) -> int:
    return _queue_decision(arguments, arguments.decision, ("review", "dry-run"))


def command_moderate_restore(arguments: argparse.Namespace) -> int:
    return _queue_decision(arguments, "restore", ("acted",))


def command_moderate_train(arguments: argparse.Namespace) -> int:
    from daemon.moderation.school_model import model_path
    from daemon.runtime.store import Store  # noqa: PLC0415
    from training.moderation import TrainingError, decided_examples, read_examples, train

    settings = _settings(arguments)
    try:
        examples = []
        for path in arguments.files:
            examples += read_examples(Path(path), arguments.text_column, arguments.label_column)
        database = settings.paths.state_dir / "steward.sqlite3"
        if database.exists():
            store = Store(database)
            examples += decided_examples(store)
            store.close()
        print(f"fine-tuning on {len(examples):,} labelled examples (a fifth held out first; "
              "about 20 minutes per 10,000 examples on two cores)...", flush=True)
        report = train(examples, settings.paths.state_dir,
                       progress=lambda message: print(f"  {message}", flush=True))
    except (TrainingError, OSError) as error:
        print(f"steward moderate train: {error}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"held-out macro-F1 {report['held_out_macro_f1']:.3f} on {report['examples']:,} "
          f"examples ({report['offensive']:,} offensive); saved to "
          f"{model_path(settings.paths.state_dir).parent} (model weights only, no text). The "
          "daemon uses it from its next sweep.")
    return EXIT_OK


def command_incidents_export(arguments: argparse.Namespace) -> int:
    import csv  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.reading import spreadsheet_cell  # noqa: PLC0415
    from daemon.runtime.store import parse_timestamp  # noqa: PLC0415

    settings = _settings(arguments)
    database = settings.paths.state_dir / "steward.sqlite3"
    zone = ZoneInfo(settings.school.time_zone)
    writer = csv.writer(sys.stdout)
    writer.writerow(["Incident", "Date", "Time", "Platform", "Nature of incident",
                     "Action taken", "Reported to", "Outcome", "Evidence file",
                     "Evidence SHA-256"])
    if not database.exists():
        return EXIT_OK
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        for row in db.execute("SELECT number, occurred_at, platform, nature, action_taken, "
                              "reported_to, outcome, evidence_path, evidence_sha256 FROM "
                              "incidents ORDER BY occurred_at"):
            when = parse_timestamp(row[1]).astimezone(zone)
            writer.writerow([spreadsheet_cell(cell) for cell in
                             (row[0], f"{when:%Y-%m-%d}", f"{when:%H:%M}", *row[2:])])
    return EXIT_OK


def _reconciler(settings, store):
    from daemon.accounts.reconcile import Reconciler  # noqa: PLC0415
    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.moderation.evidence import EvidenceStore  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415

    state = settings.paths.state_dir
    audit = AuditLog(state / "audit.jsonl")
    return audit, lambda connectors: Reconciler(
        settings, store, connectors, audit, Clock(), Mailer(settings.mail, state / "outbox"),
        EvidenceStore(state / "evidence"))


def _store(settings):
    from daemon.runtime.store import Store  # noqa: PLC0415

    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    return Store(settings.paths.state_dir / "steward.sqlite3")


def command_reconcile(arguments: argparse.Namespace) -> int:
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415
    from daemon.credentials.vault import with_vault_secrets  # noqa: PLC0415

    if arguments.confirm and arguments.confirm.startswith("handover:"):
        return command_handover_confirm(arguments)  # a handover item: checked before it closes
    # The platforms see the vault's credentials, as they do from the daemon (daemon.service).
    settings = with_vault_secrets(_settings(arguments))
    store = _store(settings)
    audit, make = _reconciler(settings, store)
    try:
        if arguments.confirm:
            done = make({}).confirm(arguments.confirm)
            print(f"{arguments.confirm}: {'confirmed' if done else 'no such checklist item'}")
            return EXIT_OK if done else EXIT_REFUSED
        with connectors_for_command(settings) as connectors:
            reconciler = make(connectors)
            outcomes = reconciler.run(dry_run=True if arguments.dry_run else None)
            checklist = reconciler.open_checklist()
    finally:
        store.close()
        audit.close()
    # An area a platform stopped (credentials refused, the platform down) is a failed run.
    stopped = any(note.startswith("stopped:") for outcome in outcomes for note in outcome.notes)
    if arguments.json:
        from dataclasses import asdict  # noqa: PLC0415

        print(json.dumps({"dry_run": bool(arguments.dry_run or settings.reconcile.dry_run),
                          "outcomes": [asdict(outcome) for outcome in outcomes],
                          "checklist": checklist}, indent=2, default=str))
        return EXIT_REFUSED if stopped else EXIT_OK
    print("Plan (nothing changed)" if arguments.dry_run else "Reconciled")
    for outcome in outcomes:
        counts = ", ".join(f"{key} {value}" for key, value in outcome.counts.items())
        print(f"\n{outcome.platform} {outcome.area}: {counts or '-'}")
        for action in outcome.actions:
            target = action.get("handle") or action.get("setting") or action.get("user_id") or ""
            print(f"  {action['kind']:<10} {target}  {action.get('reason', '')}")
        for item in outcome.checklist:
            print(f"  for a person: {item}")
        for note in outcome.notes:
            print(f"  note: {note}")
    if stopped:
        print("\nSome areas stopped (see 'stopped:' above); `steward credentials check` tells "
              "whether the credentials are the cause.", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def command_followers_import_list(arguments: argparse.Namespace) -> int:
    from daemon.accounts.registry import Registry, RegistryError  # noqa: PLC0415

    settings = _settings(arguments)
    store = _store(settings)
    audit, _ = _reconciler(settings, store)
    try:
        text = Path(arguments.csv).read_text(encoding="utf-8-sig")
        from daemon.runtime.clock import Clock  # noqa: PLC0415

        report = Registry(store, audit, Clock()).import_list(
            text, arguments.email_column or settings.followers.email_column)
    except (RegistryError, OSError, UnicodeDecodeError) as error:
        print(f"steward followers import-list: {error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
        audit.close()
    print(f"verified list imported: {report.added} added, {report.removed} removed, "
          f"{report.unchanged} unchanged; {report.unlinked} linked account(s) unlinked")
    return EXIT_OK


def command_followers_invite(arguments: argparse.Namespace) -> int:
    from datetime import timedelta  # noqa: PLC0415

    from daemon.accounts.registry import Registry, RegistryError, invitation_text  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.mail import Mailer, MailError  # noqa: PLC0415

    settings = _settings(arguments)
    store = _store(settings)
    audit, _ = _reconciler(settings, store)
    hours = settings.followers.code_ttl_hours
    try:
        code, address = Registry(store, audit, Clock()).invite(arguments.email,
                                                               timedelta(hours=hours))
        account = arguments.account or "the school"
        channel = Mailer(settings.mail, settings.paths.state_dir / "outbox").send(
            [address], f"Link your X account to {settings.school.name}",
            invitation_text(settings.school.name, account, code, hours))
    except (RegistryError, MailError) as error:
        print(f"steward followers invite: {error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
        audit.close()
    print(f"invitation sent ({channel}); the code expires in {hours} hours")
    return EXIT_OK


def command_followers_report(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    store = _store(settings)
    try:
        counts = {row["status"]: row["n"] for row in store.query(
            "SELECT status, COUNT(*) AS n FROM followers GROUP BY status")}
        items = store.query("SELECT platform, text, key FROM checklist WHERE resolved_at IS "
                            "NULL ORDER BY platform, created_at")
    finally:
        store.close()
    print("Followers: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                           or "not listed yet (run steward reconcile)"))
    print("\nRecommended: make the X account protected, so that only approved followers see "
          "posts; follow requests can then be approved only for verified parents.")
    print("Only a person can: approve or refuse follow requests, remove followers (on X's "
          "self-serve plans), switch off Facebook Page messaging.")
    print("\nChecklist:" if items else "\nChecklist: nothing outstanding")
    for item in items:
        print(f"  [{item['platform']}] {item['text']}\n      confirm: steward reconcile "
              f"--confirm {item['key']}")
    return EXIT_OK


def _read_secret(prompt: str) -> str:
    """A secret from the terminal (not echoed) or from standard input; never an argument."""
    import getpass  # noqa: PLC0415

    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


def _vault_and_escrow(settings, create: bool = False):
    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.credentials.vault import Vault  # noqa: PLC0415

    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    vault = Vault(settings, create=create)
    for warning in vault.warnings:
        print(f"note: {warning}", file=sys.stderr)
    return vault, AuditLog(settings.paths.state_dir / "audit.jsonl")


def _rebuild_escrow(settings, vault, audit) -> None:
    from daemon.credentials.escrow import EscrowError, rebuild  # noqa: PLC0415
    from daemon.credentials.handover import inactive_administrators  # noqa: PLC0415

    if not settings.escrow.recipients:
        print("note: no escrow recipients configured; the credentials are not escrowed yet",
              file=sys.stderr)
        return
    store = _store(settings)
    try:
        rebuild(settings, vault, inactive_administrators(store))
    except EscrowError as error:
        print(f"escrow: {error}", file=sys.stderr)
        return
    finally:
        store.close()
    audit.record("escrow.rebuilt", clause="wightwick.accounts-belong-to-school",
                 recipients=[r.name for r in settings.escrow.recipients])


def _store_and_escrow(settings, command: str, name: str, value: str, kind: str) -> bool:
    """Put one secret in the vault, record it, and rebuild the escrow bundle; False (having
    said why) if the vault refused it."""
    from daemon.credentials.vault import VaultError  # noqa: PLC0415

    try:
        vault, audit = _vault_and_escrow(settings, create=True)
        vault.set(name, value, kind=kind)
    except VaultError as error:
        print(f"steward {command}: {error}", file=sys.stderr)
        return False
    audit.record("credentials.changed", name=name)
    _rebuild_escrow(settings, vault, audit)
    audit.close()
    return True


def command_credentials_set(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    value = _read_secret(f"{arguments.name}: ")
    if not value:
        print("steward credentials: empty value; nothing changed", file=sys.stderr)
        return EXIT_REFUSED
    if not _store_and_escrow(settings, "credentials", arguments.name, value, "platform"):
        return EXIT_REFUSED
    print(f"{arguments.name} stored in the vault (encrypted); restart or reload Steward to use it")
    return EXIT_OK


def command_credentials_list(arguments: argparse.Namespace) -> int:
    from datetime import UTC, datetime  # noqa: PLC0415

    from daemon.credentials.vault import VaultError  # noqa: PLC0415

    settings = _settings(arguments)
    try:
        vault, audit = _vault_and_escrow(settings)
        entries = vault.entries()
    except VaultError as error:
        print(f"steward credentials: {error}", file=sys.stderr)
        return EXIT_REFUSED
    audit.close()
    now = datetime.now(UTC)
    for name, entry in sorted(entries.items()):
        age = (now - datetime.fromisoformat(entry["set_at"])).days
        print(f"{name:<32} {entry['kind']:<9} set {entry['set_at'][:19]} ({age} days ago)")
    if not entries:
        print("the vault is empty")
    return EXIT_OK


def command_credentials_check(arguments: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from connectors.errors import ConnectorError  # noqa: PLC0415
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415
    from daemon.credentials.vault import with_vault_secrets  # noqa: PLC0415

    settings = with_vault_secrets(_settings(arguments))
    failed = False
    store = _store(settings)
    try:
        vault = _vault_if_any(settings)
        outstanding, notes = _credential_warnings(settings, store, vault)
    finally:
        store.close()
    with connectors_for_command(settings) as connectors:
        for name, connector in sorted(connectors.items()):
            try:
                account = connector.check()
                line = f"{name}: OK, acting as {account.handle}"
                if getattr(connector, "user_auth", True) is False:
                    expires_at = connector.refresh()
                    store = _store(settings)
                    try:
                        from daemon.credentials.escrow import rebuild_if_configured  # noqa: PLC0415

                        rebuild_if_configured(settings, store)
                    finally:
                        store.close()
                    line += (f"; OAuth 2.0 token refreshed (new pair saved first), valid until "
                             f"{datetime.fromtimestamp(expires_at, UTC):%Y-%m-%d %H:%M} UTC")
                if hasattr(connector, "token_expiry"):
                    expiry = connector.token_expiry()
                    if expiry is None:
                        line += "; the token does not expire"
                    elif expiry - datetime.now(UTC) < timedelta(days=settings.credentials.warn_days):
                        line += f"; the token EXPIRES on {expiry:%Y-%m-%d}: renew it now"
                        failed = True
                    else:
                        line += f"; the token expires on {expiry:%Y-%m-%d}"
                print(line)
            except ConnectorError as error:
                print(f"{name}: FAILED: {error.message}")
                failed = True
    for line in outstanding:  # working credentials the outgoing administrator also holds
        print(line)
    for note in notes:
        print(f"note: {note}")
    return EXIT_REFUSED if failed or outstanding else EXIT_OK


def _vault_if_any(settings):
    """The vault, its warnings said, or None when there is none (secrets only in the
    configuration) or it cannot be opened (said too)."""
    from daemon.credentials.vault import Vault, VaultError  # noqa: PLC0415

    if not (settings.paths.state_dir / "vault.json").exists():
        return None
    try:
        vault = Vault(settings)
    except VaultError as error:
        print(f"note: {error}", file=sys.stderr)
        return None
    for warning in vault.warnings:
        print(f"note: {warning}", file=sys.stderr)
    return vault


def _steward_signing_key(arguments: argparse.Namespace) -> str | None:
    """Steward's public signing key (base64) for a holder's key file: --signer (the key, an
    OpenSSH form of it, or a file holding either), else this machine's Steward's own, else None.
    Never creates a key."""
    from daemon.audit.chain import load_signing_key  # noqa: PLC0415
    from daemon.runtime.keys import public_key_text  # noqa: PLC0415

    if getattr(arguments, "signer", None):
        return _signer_text(arguments.signer)
    try:
        settings = _settings(arguments)
    except ConfigurationError:
        return None
    if not (settings.paths.state_dir / "audit-signing.key").exists():
        return None
    key = load_signing_key(settings.paths.state_dir)
    return public_key_text(key) if key is not None else None


def _signer_text(given: str) -> str:
    """A Steward public key given on the command line: base64, `ssh-ed25519 AAAA...`, an
    allowed_signers line, or a file holding one of those. ValueError if it is none of them."""
    import base64  # noqa: PLC0415

    path = Path(given)
    text = path.read_text(encoding="utf-8").strip() if path.is_file() else given.strip()
    words = text.split()
    if "ssh-ed25519" in words and words.index("ssh-ed25519") + 1 < len(words):
        blob = base64.b64decode(words[words.index("ssh-ed25519") + 1])
        text = base64.b64encode(blob[-32:]).decode("ascii")
    try:
        if len(base64.b64decode(text, validate=True)) != 32:
            raise ValueError
    except ValueError:
        raise ValueError(f"'{given}' is not Steward's public key (as `steward escrow signer` "
                         "prints it)") from None
    return text


def _holder_key_text(name: str, identity: str, signer: str | None) -> str:
    """An age identity file with the comments a holder needs: who it is for, its public key,
    Steward's signing key, and how to use both without Steward."""
    from datetime import date  # noqa: PLC0415

    from daemon.credentials.escrow import NAMESPACE  # noqa: PLC0415
    from daemon.credentials.sealing import recipient_of  # noqa: PLC0415
    from daemon.credentials.ssh_signatures import allowed_signers_line  # noqa: PLC0415

    lines = [f"# Steward escrow key of {name}, made {date.today().isoformat()}. Keep it offline "
             "(a USB stick in the school safe):", "# whoever holds it can open the school's "
             "escrow bundle. It is a standard age key.",
             f"# public key: {recipient_of(identity)}",
             "# With Steward: steward escrow open --key THIS-FILE --bundle escrow.age (checks "
             "the signature first)."]
    if signer:
        lines += [f"# steward-signing-key: {signer}",
                  "# Without Steward, first check the bundle is genuine: save the next line "
                  "(without '# ') as steward.allowed_signers,",
                  f"# {allowed_signers_line(signer, NAMESPACE)}",
                  f"#   then: ssh-keygen -Y verify -f steward.allowed_signers -I steward -n "
                  f"{NAMESPACE} -s escrow.age.sig < escrow.age"]
    lines.append("# Then open it with the standard age tool: age -d -i THIS-FILE escrow.age")
    return "\n".join(lines + [identity]) + "\n"


def _write_private(path: Path, text: str) -> bool:
    """Write a new file readable by its owner only; False if it exists."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


SIGNER_ADVICE = (
    "Steward's signing key is not on this machine, so it is not in the key file. Ask the "
    "administrator, in person or on paper, for the output of `steward escrow signer`, and "
    "keep it with this key: `steward escrow open` needs it (--signer) to tell a genuine bundle "
    "from a forged one.")


def command_escrow_keygen(arguments: argparse.Namespace) -> int:
    from daemon.credentials.sealing import new_identity  # noqa: PLC0415

    slug = "".join(ch if ch.isalnum() else "-" for ch in arguments.name.lower()).strip("-")
    path = Path(arguments.out or f"{slug}.age-key")
    try:
        signer = _steward_signing_key(arguments)
    except (ValueError, OSError) as error:
        print(f"steward escrow: {error}", file=sys.stderr)
        return EXIT_USAGE
    identity, recipient = new_identity()
    if not _write_private(path, _holder_key_text(arguments.name, identity, signer)):
        print(f"steward escrow: {path} exists; choose another --out", file=sys.stderr)
        return EXIT_USAGE
    print(f"Wrote {arguments.name}'s escrow key to {path} (a standard age key; only you can "
          "read it): keep it offline (a USB stick in the school safe).")
    print("With it, they open the bundle with `steward escrow open --key "
          f"{path}` or, without Steward, `age -d -i {path} escrow.age`."
          if signer else SIGNER_ADVICE)
    print("\nAdd this to the configuration:\n\n[[escrow.recipients]]\n"
          f"name = {json.dumps(arguments.name)}\nrole = \"other\"   # or \"head teacher\", "
          f"\"chair of governors\", \"administrator\"\npublic_key = \"{recipient}\"")
    return EXIT_OK


def command_escrow_convert_key(arguments: argparse.Namespace) -> int:
    """A holder's key file from before age (JSON) as an age identity file, losslessly."""
    from daemon.credentials.sealing import SealError, legacy_identity, recipient_of, unb64  # noqa: PLC0415

    source = Path(arguments.old)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        identity = legacy_identity(unb64(data["private_key"]))
        name = str(data.get("name") or source.stem)
        signer = _steward_signing_key(arguments)
    except (OSError, ValueError, KeyError, TypeError, SealError) as error:
        print(f"steward escrow convert-key: {source} is not a Steward escrow key file of the "
              f"old format ({error.__class__.__name__})", file=sys.stderr)
        return EXIT_USAGE
    target = Path(arguments.out or source.with_suffix(".age-key"))
    if not _write_private(target, _holder_key_text(name, identity, signer)):
        print(f"steward escrow convert-key: {target} exists; choose another --out",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"Wrote {name}'s key as an age key to {target}; it is the same key, so bundles made "
          f"for the old one open with it. Delete {source} once you have checked it works.")
    if not signer:
        print(SIGNER_ADVICE)
    print(f"In the configuration, their public key can now be written as:\n  public_key = "
          f"\"{recipient_of(identity)}\"")
    return EXIT_OK


def command_escrow_signer(arguments: argparse.Namespace) -> int:
    """Steward's public signing key in the forms a holder needs, to be handed over in person."""
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415

    from daemon.credentials.escrow import NAMESPACE  # noqa: PLC0415
    from daemon.credentials.ssh_signatures import allowed_signers_line, openssh_public_key  # noqa: PLC0415
    from daemon.runtime.keys import audit_signing_key, public_key_text  # noqa: PLC0415

    settings = _settings(arguments)
    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    public = public_key_text(audit_signing_key(settings.paths.state_dir))
    blob = base64.b64decode(openssh_public_key(public).split()[1])
    fingerprint = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    print("Steward's public signing key. Give it to each escrow holder with their key, in "
          "person or on paper (not by e-mail alone): it is how they tell a genuine bundle from "
          "a forged one.\n")
    print(f"  for `steward escrow open --signer`:  {public}")
    print(f"  for ssh-keygen (allowed_signers):    {allowed_signers_line(public, NAMESPACE)}")
    print(f"  fingerprint (to read aloud):         SHA256:{fingerprint}")
    return EXIT_OK


def command_escrow_add_secret(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    value = _read_secret(f"{arguments.label}: ")
    if not _store_and_escrow(settings, "escrow", f"person:{arguments.label}", value, "person"):
        return EXIT_REFUSED
    print(f"'{arguments.label}' stored and escrowed")
    return EXIT_OK


def _holder_identities(key_file: Path) -> tuple[list[str], str | None, list[str]]:
    """(age identities, the Steward signing key the file records, notes) from a holder's key
    file: an age identity file, or a key file from before age (converted in memory)."""
    from daemon.credentials.sealing import identities_in, legacy_identity, unb64  # noqa: PLC0415

    if os.stat(key_file).st_mode & 0o077:
        raise ValueError(f"{key_file}: other users can read this key; chmod 600 it")
    text = key_file.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
            identity = legacy_identity(unb64(data["private_key"]))
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{key_file}: not an escrow key file") from None
        return [identity], None, [
            f"{key_file} is a key file of Steward's old format; make it an age key with "
            f"`steward escrow convert-key {key_file}`, so that plain `age` opens bundles too"]
    signer = None
    for line in text.splitlines():
        if line.startswith("# steward-signing-key:"):
            signer = line.split(":", 1)[1].strip()
    return identities_in(text), signer, []


def command_escrow_open(arguments: argparse.Namespace) -> int:
    from daemon.credentials.escrow import EscrowError, bundle_path, open_bundle  # noqa: PLC0415
    from daemon.credentials.sealing import SealError  # noqa: PLC0415

    try:
        identities, recorded, notes = _holder_identities(Path(arguments.key))
        signer = _signer_text(arguments.signer) if arguments.signer else recorded
    except (SealError, OSError, ValueError, UnicodeDecodeError) as error:
        print(f"steward escrow: {error}", file=sys.stderr)
        return EXIT_REFUSED
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if signer is None:
        print("steward escrow: Steward's signing key is needed to check that the bundle is "
              "genuine before opening it, and your key file does not record it. Pass it with "
              "--signer KEY: the key you were given with your escrow key (the administrator "
              "prints it with `steward escrow signer`; compare its fingerprint with what you "
              "were told).", file=sys.stderr)
        return EXIT_USAGE
    try:
        bundle = Path(arguments.bundle) if arguments.bundle else bundle_path(_settings(arguments))
        contents = open_bundle(bundle, identities, signer)
    except EscrowError as error:
        print(f"steward escrow: {error}", file=sys.stderr)
        return EXIT_REFUSED
    text = json.dumps(contents, indent=2)
    if arguments.output:
        if not _write_private(Path(arguments.output), text + "\n"):
            print(f"steward escrow: {arguments.output} exists; choose another --output",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"signature checked; written to {arguments.output} (readable by you only)")
    else:
        print("Signature checked: this bundle was made by Steward. WARNING: the school's account "
              "secrets follow; clear the screen afterwards.", file=sys.stderr)
        print(text)
    return EXIT_OK


def _credential_warnings(settings, store, vault) -> tuple[list[str], list[str]]:
    """(problems, notes) about the credentials beyond the bundle itself: handover items nobody
    has confirmed (problems), keys in old formats or in the wrong place (notes)."""
    from daemon.credentials.escrow import key_format_notes  # noqa: PLC0415
    from daemon.credentials.handover import outstanding  # noqa: PLC0415

    problems = outstanding(store, vault)
    notes = key_format_notes(settings)
    pending = settings.paths.state_dir / "master.key.next"
    if pending.exists():
        problems.append(f"a new master key from a rotation is still in {pending}, beside the "
                        "vault: install it as the systemd credential (the command was printed "
                        "by the handover), restart Steward, then delete it")
    return problems, notes


def command_escrow_verify(arguments: argparse.Namespace) -> int:
    from daemon.credentials.escrow import verify  # noqa: PLC0415
    from daemon.credentials.handover import inactive_administrators  # noqa: PLC0415
    from daemon.credentials.vault import VaultError  # noqa: PLC0415

    settings = _settings(arguments)
    try:
        vault, audit = _vault_and_escrow(settings)
    except VaultError as error:
        print(f"steward escrow: {error}", file=sys.stderr)
        return EXIT_REFUSED
    store = _store(settings)
    try:
        problems = verify(settings, vault, inactive_administrators(store))
        outstanding, notes = _credential_warnings(settings, store, vault)
    finally:
        store.close()
    audit.record("escrow.verified" if not problems + outstanding else "escrow.verify_failed",
                 level="info" if not problems + outstanding else "error",
                 problems=problems + outstanding)
    audit.close()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if not problems:
        print("the bundle is Steward's, unaltered and current, and encrypted to every current "
              "recipient and nobody else")
    for line in outstanding:
        print(line)
    if outstanding:
        print("\nNOT ALL OK: an outgoing administrator may keep a copy of an older bundle; its "
              "secrets work until each item above is done and confirmed.")
    for note in notes:
        print(f"note: {note}")
    return EXIT_OK if not problems + outstanding else EXIT_REFUSED


def command_escrow_rebuild(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    vault, audit = _vault_and_escrow(settings, create=True)
    _rebuild_escrow(settings, vault, audit)
    audit.close()
    return EXIT_OK


def command_escrow_request(arguments: argparse.Namespace) -> int:
    import getpass  # noqa: PLC0415

    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.runtime.mail import Mailer, MailError  # noqa: PLC0415

    settings = _settings(arguments)
    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    audit = AuditLog(settings.paths.state_dir / "audit.jsonl")
    audit.record("escrow.access_requested", clause="wightwick.accounts-belong-to-school",
                 by=arguments.by, recorded_by=getpass.getuser())
    audit.close()
    recipients = [r.email for r in settings.escrow.recipients if r.email]
    try:
        Mailer(settings.mail, settings.paths.state_dir / "outbox").send(
            recipients, "[Steward] The employer has requested access to the accounts",
            f"{arguments.by} has requested full access to {settings.school.name}'s social media "
            "accounts. Escrow recipients can open the bundle (escrow.age, with escrow.age.sig "
            "beside it) with `steward escrow open --key THEIR-KEY --bundle escrow.age`, or "
            "without Steward with `age -d -i THEIR-KEY escrow.age` after checking the signature "
            "(the commands are in their key file).")
    except MailError as error:
        print(f"note: {error}", file=sys.stderr)
    print(f"request by {arguments.by} recorded in the audit log; escrow recipients told")
    return EXIT_OK


def command_handover(arguments: argparse.Namespace) -> int:
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415
    from daemon.credentials.handover import Handover, HandoverError  # noqa: PLC0415
    from daemon.credentials.vault import VaultError, with_vault_secrets  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415

    missing = [flag for flag, value in (("--from", arguments.old), ("--to", arguments.new),
                                        ("--reason", arguments.reason)) if not value]
    if missing:
        print(f"steward handover: {', '.join(missing)} needed (or `steward handover confirm "
              "KEY` to confirm an item done)", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(arguments)
    store = _store(settings)
    audit, _ = _reconciler(settings, store)
    try:
        report = Handover(settings, store, audit, Clock(),
                          Mailer(settings.mail, settings.paths.state_dir / "outbox"),
                          lambda: connectors_for_command(with_vault_secrets(settings))).run(
            arguments.old, arguments.new, arguments.reason)
    except (HandoverError, VaultError) as error:
        print(f"steward handover: {error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
        audit.close()
    print(f"Handover {report['id']} from {arguments.old} to {arguments.new} complete.")
    for note in report["notes"]:
        print(f"  {note}")
    print("\nA person must now do each of these, then confirm it (until then `steward escrow "
          "verify` and the daily check report it, since the outgoing administrator's copy of "
          "an older bundle holds secrets that still work):")
    for item, key in zip(report.get("checklist", []), report.get("checklist_keys", []),
                         strict=False):
        print(f"  - {item}\n    confirm: steward handover confirm {key}")
    if report.get("receipt"):
        print(f"\nSigned receipt: {report['receipt']} (+ .sig; check with `steward audit pubkey`)")
    return EXIT_OK


def command_handover_confirm(arguments: argparse.Namespace) -> int:
    """A person confirms a handover item is done (also reached by `reconcile --confirm`)."""
    import getpass  # noqa: PLC0415

    from daemon.credentials.handover import HandoverError, confirm  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    key = getattr(arguments, "item", None) or arguments.confirm
    settings = _settings(arguments)
    store = _store(settings)
    audit, _ = _reconciler(settings, store)
    try:
        said = confirm(store, audit, Clock(), _vault_if_any(settings), key, getpass.getuser())
    except HandoverError as error:
        print(f"steward handover: {error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
        audit.close()
    print(said)
    return EXIT_OK


def command_audit_pubkey(arguments: argparse.Namespace) -> int:
    from daemon.runtime.keys import audit_signing_key, public_key_text  # noqa: PLC0415

    settings = _settings(arguments)
    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    print(public_key_text(audit_signing_key(settings.paths.state_dir)))
    return EXIT_OK


# -- status and audit --------------------------------------------------------------------------

def command_status(arguments: argparse.Namespace) -> int:
    from daemon.cli.status import print_status  # noqa: PLC0415

    return print_status(_settings(arguments))


def _auditor_keys(arguments: argparse.Namespace, settings) -> tuple[list[str], str | None]:
    """The public keys to check signatures with: those given with --key (base64, or a file
    holding it), else this machine's own key, with a note saying so."""
    from daemon.audit.chain import load_signing_key  # noqa: PLC0415
    from daemon.runtime.keys import public_key_text  # noqa: PLC0415

    keys = []
    for given in arguments.key or []:
        path = Path(given)
        keys.append(path.read_text(encoding="ascii").strip() if path.is_file() else given)
    if keys:
        return keys, None
    own = settings.paths.state_dir / "audit-signing.key"
    if own.exists():
        key = load_signing_key(settings.paths.state_dir)
        if key is not None:
            return [public_key_text(key)], (
                "checked against this machine's own key; an auditor should pass the key "
                "handed over earlier with --key, so a replaced key is noticed")
    return [], None


def command_audit_verify(arguments: argparse.Namespace) -> int:
    from daemon.audit.verification import verify_chain  # noqa: PLC0415

    settings = _settings(arguments)
    paths = [Path(name) for name in arguments.files] or [settings.paths.state_dir]
    for path in paths:
        if not path.exists():
            print(f"steward audit: {path}: no such file or folder", file=sys.stderr)
            return EXIT_USAGE
    keys, note = _auditor_keys(arguments, settings)
    record = _state_record(paths)
    report = verify_chain(paths, keys, open_tail=arguments.open_tail, anchor=record.anchor,
                          earlier_activity=record.activity)
    if note:
        report.notes.append(note)
    print(report.describe())
    return EXIT_OK if report.intact else EXIT_REFUSED


def _state_record(paths: list[Path]):
    """The database's record of the log (its anchor) when a state directory is verified;
    an empty record for files an auditor was given."""
    from daemon.audit.anchor import DATABASE_NAME, StateRecord, read_state_record  # noqa: PLC0415

    for path in paths:
        if path.is_dir() and (path / DATABASE_NAME).is_file():
            return read_state_record(path)
    return StateRecord(None, None)


def command_audit_retire(arguments: argparse.Namespace) -> int:
    from datetime import date  # noqa: PLC0415

    from daemon.audit.chain import AuditLog, load_signing_key  # noqa: PLC0415
    from daemon.audit.retirement import RetirementError, retire  # noqa: PLC0415
    from daemon.runtime.keys import public_key_text  # noqa: PLC0415

    settings = _settings(arguments)
    state = settings.paths.state_dir
    try:
        before = date.fromisoformat(arguments.before)
    except ValueError:
        print("steward audit retire: --before takes a date, e.g. 2025-09-01", file=sys.stderr)
        return EXIT_USAGE
    if not (state / "audit.jsonl").exists():
        print(f"steward audit retire: no audit log in {state}", file=sys.stderr)
        return EXIT_USAGE
    key = load_signing_key(state)
    audit = AuditLog(state / "audit.jsonl", signing_key=key)
    try:
        done = retire(state, before, Path(arguments.to), audit,
                      public_key_text(key) if key is not None else "",
                      dry_run=arguments.dry_run)
    except RetirementError as error:
        print(f"steward audit retire: {error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        audit.close()
    if not done.files:
        print(f"nothing to retire: no archived file holds only events before {before}")
        return EXIT_OK
    verb = "would retire" if arguments.dry_run else "retired"
    print(f"{verb} events #0 to #{done.up_to_seq} ({len(done.files)} file(s)) to "
          f"{done.destination}:")
    for described in done.files:
        print(f"  {described['name']}  #{described['first_seq']}-#{described['last_seq']}"
              + (f"  sha256 {described['sha256']}" if "sha256" in described else ""))
    if not arguments.dry_run:
        print("recorded and signed as audit.retired; verify the copies there with "
              f"`steward audit verify --key PUB {done.destination}`")
    return EXIT_OK


def command_audit_reset_anchor(arguments: argparse.Namespace) -> int:
    from daemon.audit.anchor import AnchorResetRefused, reset_anchor  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415

    settings = _settings(arguments)
    state = settings.paths.state_dir
    try:
        done = reset_anchor(state, arguments.reason,
                            mailer=Mailer(settings.mail, state / "outbox"))
    except AnchorResetRefused as error:
        print(f"steward audit reset-anchor: {error}", file=sys.stderr)
        return EXIT_REFUSED
    given_up = done.previous.describe() if done.previous else "none"
    print(f"reset: the record of the last checkpoint was {given_up}; it is now "
          f"{done.anchor.describe() if done.anchor else 'none'}, after event "
          f"#{done.event['seq']} (audit.anchor_reset) recording who did this and why. "
          "The administrators were told. Start Steward again.")
    return EXIT_OK


def _audit_selection(arguments: argparse.Namespace):
    """(settings, zone, files in chain order, filter) for the reading commands."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.reading import EventFilter, parse_when  # noqa: PLC0415
    from daemon.audit.verification import ordered_files  # noqa: PLC0415

    settings = _settings(arguments)
    zone = ZoneInfo(settings.school.time_zone)
    paths = [Path(name) for name in getattr(arguments, "files", None) or []] or \
        [settings.paths.state_dir]
    for path in paths:
        if not path.exists():
            raise ValueError(f"{path}: no such file or folder")
    try:
        selection = EventFilter(
            since=parse_when(arguments.since, zone) if arguments.since else None,
            until=parse_when(arguments.until, zone, end_of_day=True) if arguments.until
            else None,
            types=tuple(getattr(arguments, "type", None) or ()),
            platform=getattr(arguments, "platform", None))
    except ValueError:
        raise ValueError("--since and --until take a date (2026-09-01) or a date and time "
                         "(2026-09-01T08:30)") from None
    return settings, zone, ordered_files(paths), selection


def command_audit_show(arguments: argparse.Namespace) -> int:
    from daemon.audit.reading import plain_line, read_events  # noqa: PLC0415

    try:
        _, zone, files, selection = _audit_selection(arguments)
    except ValueError as error:
        print(f"steward audit: {error}", file=sys.stderr)
        return EXIT_USAGE
    shown = 0
    for entry in read_events(files):
        if selection.admits(entry):
            print(plain_line(entry, zone))
            shown += 1
    print(f"({shown} events)", file=sys.stderr)
    return EXIT_OK


def command_audit_export(arguments: argparse.Namespace) -> int:
    from daemon.audit.reading import read_events, write_csv  # noqa: PLC0415

    try:
        _, zone, files, selection = _audit_selection(arguments)
    except ValueError as error:
        print(f"steward audit: {error}", file=sys.stderr)
        return EXIT_USAGE
    write_csv((entry for entry in read_events(files) if selection.admits(entry)), zone,
              sys.stdout)
    return EXIT_OK


def command_audit_report(arguments: argparse.Namespace) -> int:
    from daemon.audit.reading import read_events  # noqa: PLC0415
    from daemon.audit.report import render_report  # noqa: PLC0415
    from daemon.audit.verification import verify_chain  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    try:
        settings, zone, files, selection = _audit_selection(arguments)
    except ValueError as error:
        print(f"steward audit: {error}", file=sys.stderr)
        return EXIT_USAGE
    keys, note = _auditor_keys(arguments, settings)
    record = _state_record([Path(name) for name in arguments.files or []]
                           or [settings.paths.state_dir])
    verification = verify_chain(files, keys, open_tail=arguments.open_tail,
                                anchor=record.anchor, earlier_activity=record.activity)
    if note:
        verification.notes.append(note)
    page = render_report((entry for entry in read_events(files) if selection.admits(entry)),
                         verification, school=settings.school.name, zone=zone,
                         generated=Clock().now(), since=selection.since, until=selection.until)
    out = Path(arguments.html)
    out.write_text(page, encoding="utf-8")
    print(f"wrote {out} ({len(page) // 1024 + 1} KB); {verification.headline()}")
    return EXIT_OK if verification.intact else EXIT_REFUSED


# -- config ------------------------------------------------------------------------------------

def command_config_validate(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    print(f"configuration OK ({arguments.config or 'defaults'}): mode {settings.mode}, "
          f"platforms {', '.join(settings.enabled_platforms()) or 'none'}, "
          f"{len(settings.approval.signers)} signer(s)")
    return EXIT_OK


def command_config_show(arguments: argparse.Namespace) -> int:
    print(render_settings(_settings(arguments)), end="")
    return EXIT_OK


def command_config_generate(arguments: argparse.Namespace) -> int:
    text = generate_example()
    if arguments.write:
        EXAMPLE_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {EXAMPLE_FILE}")
    else:
        print(text, end="")
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steward", description="Runs a school's social media accounts by its policy.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, function, help_text: str, parent=commands, config: bool = True):
        command = parent.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(function=function)
        if config:
            command.add_argument("--config", metavar="FILE",
                                 help="configuration file (default /etc/steward/steward.toml)")
            command.add_argument("--state-dir", metavar="DIR",
                                 help="use this state directory instead of the configured one")
        return command

    add("run", command_run, "run the daemon in the foreground (systemd Type=notify)")
    demo = add("demo", command_demo, "show Steward working end to end on the sandbox",
               config=False)
    demo.add_argument("--state-dir", metavar="DIR", help="keep everything in DIR")
    demo.add_argument("--keep-running", action="store_true",
                      help="leave the daemon and sandbox running afterwards")

    sandbox = commands.add_parser("sandbox", help="the local stand-in for X and Facebook")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = add("serve", command_sandbox_serve, "serve the sandbox on loopback",
                sandbox_commands, config=False)
    serve.add_argument("--port", type=int, default=8099)
    serve.add_argument("--state", metavar="FILE", help="persist the sandbox's state here")
    serve.add_argument("--scenario", metavar="FILE", help="apply this scenario (TOML)")

    keys = commands.add_parser("keys", help="approval keys for SLT members")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    new = add("new", command_keys_new, "make an approval key for an SLT member", keys_commands,
              config=False)
    new.add_argument("name", help="the signer's name, e.g. 'Deputy Head'")
    new.add_argument("--out", metavar="FILE", help="where to write the key (default NAME.key)")

    for parent in (commands, keys_commands):  # `steward sign` and DESIGN.md's `keys sign`
        sign = add("sign", command_sign, "approve a post by signing it", parent)
        sign.add_argument("post", metavar="POST", help="post folder (or single .md file)")
        sign.add_argument("--key", action="append", required=True, metavar="FILE")

    submit = add("submit", command_submit, "sign (optionally) and drop a post into the inbox")
    submit.add_argument("post", metavar="POST")
    submit.add_argument("--sign", action="append", metavar="KEY")
    submit.add_argument("--inbox", metavar="DIR", help="the inbox (default: from configuration)")

    check = add("check", command_check, "run every policy on a draft: exit 0 ok, 1 refused")
    check.add_argument("post", metavar="POST")
    check.add_argument("--json", action="store_true")

    media = commands.add_parser("media", help="pictures")
    media_commands = media.add_subparsers(dest="media_command", required=True)
    clean = add("clean", command_media_clean, "remove location and identifying metadata "
                "losslessly: exit 0 cleaned, 1 refused", media_commands, config=False)
    clean.add_argument("files", nargs="+", metavar="IN")
    clean.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="output file (one input) or folder (several)")

    moderate = commands.add_parser("moderate", help="replies and comments on the school's posts")
    moderate_commands = moderate.add_subparsers(dest="moderate_command", required=True)
    classify = add("classify", command_moderate_classify, "classify texts read from standard "
                   "input, one per line; print one verdict per line, in order", moderate_commands)
    classify.add_argument("--jsonl", action="store_true",
                          help='print {"verdict", "score", "reasons"} JSON per line')
    classify.add_argument("--school-model", action="store_true",
                          help="add the school's own model (`moderate train`) as the daemon "
                          "does; refused, saying why, when it cannot be used")
    decide = add("decide", command_moderate_decide, "decide a reply sent for review",
                 moderate_commands)
    decide.add_argument("reply", metavar="ID", help="the reply's reference, e.g. R12")
    decide.add_argument("decision", choices=["act", "allow"])
    train = add("train", command_moderate_train, "fit the school's own moderation model on "
                "moderators' decisions and labelled CSV/TSV files (needs the [train] extra)",
                moderate_commands)
    train.add_argument("files", nargs="*", metavar="CSV")
    train.add_argument("--text-column", default="text")
    train.add_argument("--label-column", default="label")
    restore = add("restore", command_moderate_restore, "undo the hide and sanctions of a "
                  "wrongly flagged reply", moderate_commands)
    restore.add_argument("reply", metavar="ID")

    incidents = commands.add_parser("incidents", help="the eSafety incident log")
    incidents_commands = incidents.add_subparsers(dest="incidents_command", required=True)
    export = add("export", command_incidents_export, "print the incident log as CSV",
                 incidents_commands)
    export.add_argument("--csv", action="store_true", required=True)

    reconcile = add("reconcile", command_reconcile, "run the reconcilers once: followers, "
                    "following, settings, direct messages", commands)
    reconcile.add_argument("--dry-run", action="store_true", help="plan only; change nothing")
    reconcile.add_argument("--json", action="store_true")
    reconcile.add_argument("--confirm", metavar="KEY", help="a person confirms a checklist item")

    followers = commands.add_parser("followers", help="the verified parents and followers")
    followers_commands = followers.add_subparsers(dest="followers_command", required=True)
    import_list = add("import-list", command_followers_import_list, "load the school office's "
                      "verified e-mail list (replaces the previous one)", followers_commands)
    import_list.add_argument("csv", metavar="CSV")
    import_list.add_argument("--email-column", help="default: followers.email_column")
    invite = add("invite", command_followers_invite, "e-mail a one-time link code to an "
                 "address on the list", followers_commands)
    invite.add_argument("email", metavar="EMAIL")
    invite.add_argument("--account", help="the school's X handle, for the message")
    add("report", command_followers_report, "followers by status, and the checklist",
        followers_commands)

    credentials = commands.add_parser("credentials", help="the encrypted vault of credentials")
    credentials_commands = credentials.add_subparsers(dest="credentials_command", required=True)
    set_command = add("set", command_credentials_set, "store a credential (read without echo, "
                      "or from standard input; never from the command line)",
                      credentials_commands)
    set_command.add_argument("name", help="e.g. x.access_token, facebook.page_access_token")
    add("list", command_credentials_list, "names and ages, never values", credentials_commands)
    add("check", command_credentials_check, "check each platform's credentials and their "
        "expiry", credentials_commands)

    escrow = commands.add_parser("escrow", help="the accounts' credentials escrowed to leaders")
    escrow_commands = escrow.add_subparsers(dest="escrow_command", required=True)
    keygen = add("keygen", command_escrow_keygen, "make an age key for an escrow holder (it "
                 "records Steward's signing key when this machine has it)", escrow_commands)
    keygen.add_argument("name")
    keygen.add_argument("--out", metavar="FILE", help="default: NAME.age-key")
    keygen.add_argument("--signer", metavar="KEY", help="Steward's public signing key to record "
                        "in the key file (`steward escrow signer` prints it)")
    convert = add("convert-key", command_escrow_convert_key, "turn a holder's escrow key of the "
                  "old format into an age key (the same key: nothing to re-encrypt)",
                  escrow_commands)
    convert.add_argument("old", metavar="OLD-KEY-FILE")
    convert.add_argument("--out", metavar="FILE", help="default: OLD-KEY-FILE.age-key")
    convert.add_argument("--signer", metavar="KEY", help="as for keygen")
    add("signer", command_escrow_signer, "print Steward's public signing key, for holders to "
        "check bundles with", escrow_commands)
    add_secret = add("add-secret", command_escrow_add_secret, "escrow what only a person knows "
                     "(a password, 2FA recovery codes)", escrow_commands)
    add_secret.add_argument("label", help="e.g. 'x.password', 'x.recovery-codes'")
    open_command = add("open", command_escrow_open, "check the bundle's signature, then open it "
                       "with a holder's key", escrow_commands)
    open_command.add_argument("--key", required=True, metavar="FILE", help="the holder's age key "
                              "file (or one of the old format)")
    open_command.add_argument("--signer", metavar="KEY", help="Steward's public signing key, as "
                              "handed to the holder (default: the one their key file records)")
    open_command.add_argument("--output", metavar="FILE", help="write here (0600) instead of "
                              "the terminal")
    open_command.add_argument("--bundle", metavar="FILE", help="default: <state_dir>/escrow.age "
                              "(its signature is the .sig beside it)")
    add("verify", command_escrow_verify, "check the bundle is Steward's, current and for exactly "
        "the current recipients, and that no handover item is outstanding", escrow_commands)
    add("rebuild", command_escrow_rebuild, "rebuild the bundle now", escrow_commands)
    request = add("request", command_escrow_request, "record the employer's request for access",
                  escrow_commands)
    request.add_argument("--by", required=True, metavar="NAME")

    handover = add("handover", command_handover, "hand the accounts over from one "
                   "administrator to another", commands)
    handover.add_argument("--from", dest="old", metavar="OLD")
    handover.add_argument("--to", dest="new", metavar="NEW")
    handover.add_argument("--reason", metavar="TEXT")
    handover_commands = handover.add_subparsers(dest="handover_command", metavar="confirm")
    handover_confirm = handover_commands.add_parser(
        "confirm", help="confirm a handover item is done (checked, and audited)",
        description="confirm a handover item is done (checked, and audited)")
    handover_confirm.set_defaults(function=command_handover_confirm)
    handover_confirm.add_argument("item", metavar="KEY", help="e.g. handover:3:x-app-keys")
    for option, text in (("--config", "configuration file"), ("--state-dir", "state directory")):
        handover_confirm.add_argument(option, metavar="FILE" if option == "--config" else "DIR",
                                      default=argparse.SUPPRESS, help=text)

    add("status", command_status, "queue, next posts, platform health, last events")

    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = add("verify", command_audit_verify, "check the chain, the numbering and the "
                 "signed checkpoints: exit 0 verified, 1 not", audit_commands)
    verify.add_argument("files", nargs="*", metavar="FILE", help="log files or folders of "
                        "rotated files (default: the state directory's)")
    verify.add_argument("--key", action="append", metavar="PUB", help="Steward's public key, "
                        "as printed by `steward audit pubkey` (or a file holding it); repeat "
                        "for a log signed by an earlier key too")
    verify.add_argument("--open-tail", action="store_true", help="the log is live (Steward is "
                        "running): events after the last checkpoint are expected")
    add("pubkey", command_audit_pubkey, "print Steward's public signing key (for auditors)",
        audit_commands)
    retire_command = add("retire", command_audit_retire, "move archived files older than a "
                         "date to another folder, on the record (retention)", audit_commands)
    retire_command.add_argument("--before", required=True, metavar="DATE", help="retire "
                                "archived files whose every event is older than this (UTC)")
    retire_command.add_argument("--to", required=True, metavar="FOLDER", help="where the files "
                                "go: a backup disk or share outside the state directory")
    retire_command.add_argument("--dry-run", action="store_true", help="say what would be "
                                "retired; change nothing")
    reset_anchor_command = add(
        "reset-anchor", command_audit_reset_anchor, "after Steward refused a log that lost "
        "its last checkpoint: carry on with the log as it is now (restored, or begun anew), "
        "recording who decided and why", audit_commands)
    reset_anchor_command.add_argument("--reason", required=True, metavar="TEXT", help="what "
                                      "happened and what you did; kept in the log")

    def reading(name, function, help_text):
        command = add(name, function, help_text, audit_commands)
        command.add_argument("files", nargs="*", metavar="FILE", help="log files or folders "
                             "(default: the state directory's)")
        command.add_argument("--since", metavar="WHEN", help="from this date or time "
                             "(school time zone)")
        command.add_argument("--until", metavar="WHEN", help="up to the end of this date, or "
                             "this time")
        return command

    show = reading("show", command_audit_show, "print events as plain lines")
    export_csv = reading("export", command_audit_export, "print events as CSV")
    for command in (show, export_csv):
        command.add_argument("--type", action="append", metavar="EVENT", help="e.g. "
                             "post.published, or 'post' for every post event, or '*.failed'")
        command.add_argument("--platform", choices=["x", "facebook"])
    export_csv.add_argument("--csv", action="store_true", required=True)
    report = reading("report", command_audit_report, "write a self-contained HTML report "
                     "for governors and auditors")
    report.add_argument("--html", required=True, metavar="OUT")
    report.add_argument("--key", action="append", metavar="PUB", help="as for verify")
    report.add_argument("--open-tail", action="store_true", help="as for verify")

    config = commands.add_parser("config", help="the configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    add("validate", command_config_validate, "check the configuration", config_commands)
    add("show", command_config_show, "print the effective configuration, secrets redacted",
        config_commands)
    generate = add("generate", command_config_generate, "print the commented example "
                   "configuration", config_commands, config=False)
    generate.add_argument("--write", action="store_true", help="write config/example.toml")
    return parser


def no_core_dumps() -> None:
    """A core dump would hold decrypted credentials: forbid them for this process."""
    import resource  # noqa: PLC0415

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    no_core_dumps()
    parser = build_parser()
    arguments = parser.parse_args(argv)
    from daemon.runtime.logs import configure_logging  # noqa: PLC0415

    # One-off commands keep standard output for their results (`--json`, CSV): log lines go to
    # standard error, warnings and worse only. `run` and `demo` set up their own.
    configure_logging(stream=sys.stderr, level=logging.WARNING)
    try:
        return arguments.function(arguments)
    except ConfigurationError as error:
        print(f"steward: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `steward audit show | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
