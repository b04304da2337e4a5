"""Commands for the accounts themselves: `reconcile` (followers, following, settings, direct
messages, brought back to what the policy wants) and the verified followers, `followers
import-list|invite|confirm|report`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from daemon.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    Refused,
    SettingsSource,
    StewardCommand,
    StewardGroup,
    open_audit_log,
    open_store,
    plain_message,
    settings_options,
)


def reconciler_factory(settings, store, audit):
    """A function of the platforms' connectors giving a Reconciler on this state directory."""
    from daemon.accounts.reconcile import Reconciler  # noqa: PLC0415
    from daemon.moderation.evidence import EvidenceStore  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415

    state = settings.paths.state_dir
    return lambda connectors: Reconciler(
        settings, store, connectors, audit, Clock(), Mailer(settings.mail, state / "outbox"),
        EvidenceStore(state / "evidence"))


@click.command(cls=StewardCommand)
@click.option("--dry-run", is_flag=True, help="plan only; change nothing")
@click.option("--json", "as_json", is_flag=True, help="print the plan or result as JSON")
@click.option("--confirm", "confirm_key", metavar="KEY", help="a person confirms a checklist "
              "item done, e.g. settings:facebook:messaging")
@settings_options
def reconcile(dry_run: bool, as_json: bool, confirm_key: str | None,
              source: SettingsSource) -> int:
    """Run the reconcilers once.

    Followers, following, settings and direct messages are brought back to what the policy
    wants. Exit 1 when an area stopped (credentials refused, a platform down).

    \b
    Example:
      steward reconcile --dry-run
      steward reconcile --confirm settings:facebook:messaging
    """
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415
    from daemon.credentials.vault import with_vault_secrets  # noqa: PLC0415

    if confirm_key and confirm_key.startswith("handover:"):  # checked before it closes
        from daemon.cli.credentials import confirm_handover_item  # noqa: PLC0415

        return confirm_handover_item(source, confirm_key)
    # The platforms see the vault's credentials, as they do from the daemon (daemon.service).
    settings = with_vault_secrets(source.load())
    store = open_store(settings)
    audit = open_audit_log(settings)
    make = reconciler_factory(settings, store, audit)
    try:
        if confirm_key:
            done = make({}).confirm(confirm_key)
            print(f"{confirm_key}: {'confirmed' if done else 'no such checklist item'}")
            return EXIT_OK if done else EXIT_REFUSED
        with connectors_for_command(settings) as connectors:
            reconciler = make(connectors)
            outcomes = reconciler.run(dry_run=True if dry_run else None)
            checklist = reconciler.open_checklist()
    finally:
        store.close()
        audit.close()
    # An area a platform stopped (credentials refused, the platform down) is a failed run.
    stopped = any(note.startswith("stopped:") for outcome in outcomes for note in outcome.notes)
    if as_json:
        from dataclasses import asdict  # noqa: PLC0415

        print(json.dumps({"dry_run": bool(dry_run or settings.reconcile.dry_run),
                          "outcomes": [asdict(outcome) for outcome in outcomes],
                          "checklist": checklist}, indent=2, default=str))
        return EXIT_REFUSED if stopped else EXIT_OK
    print("Plan (nothing changed)" if dry_run else "Reconciled")
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


@click.group(cls=StewardGroup)
def followers() -> None:
    """The verified parents and the accounts' followers.

    \b
    Example:
      steward followers import-list office-list.csv
    """


@followers.command("import-list")
@click.argument("list_file", metavar="CSV")
@click.option("--email-column", help="the column of e-mail addresses (default: "
              "followers.email_column)")
@settings_options
def followers_import_list(list_file: str, email_column: str | None,
                          source: SettingsSource) -> int:
    """Load the school office's verified e-mail list.

    The CSV file replaces the previous list.

    \b
    Example:
      steward followers import-list office-list.csv --email-column "Parent e-mail"
    """
    from daemon.accounts.registry import Registry  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    settings = source.load()
    store = open_store(settings)
    audit = open_audit_log(settings)
    try:
        text = Path(list_file).read_text(encoding="utf-8-sig")
        report = Registry(store, audit, Clock()).import_list(
            text, email_column or settings.followers.email_column)
    except UnicodeDecodeError as error:
        raise Refused(f"{list_file}: not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise Refused(plain_message(error)) from None
    finally:
        store.close()
        audit.close()
    print(f"verified list imported: {report.added} added, {report.removed} removed, "
          f"{report.unchanged} unchanged; {report.unlinked} linked account(s) unlinked")
    return EXIT_OK


@followers.command("invite")
@click.argument("email", metavar="EMAIL")
@click.option("--account", help="the school's X handle, for the message")
@settings_options
def followers_invite(email: str, account: str | None, source: SettingsSource) -> int:
    """E-mail a one-time link code to a parent.

    EMAIL must be an address on the verified list. The e-mail asks the parent to put the
    code in their X bio and tell the office their handle; nothing is posted. Then: `steward
    followers confirm EMAIL @handle`. It also says whether X lets Steward look profiles up.

    \b
    Example:
      steward followers invite a.parent@example.org --account @OurSchool
    """
    from datetime import timedelta  # noqa: PLC0415

    from daemon.accounts.registry import Registry, invitation_text  # noqa: PLC0415
    from daemon.credentials.vault import with_vault_secrets  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415

    settings = with_vault_secrets(source.load())
    store = open_store(settings)
    audit = open_audit_log(settings)
    hours = settings.followers.code_ttl_hours
    handle = (account or "").strip().removeprefix("@") or "the school"
    try:
        code, address = Registry(store, audit, Clock()).invite(email, timedelta(hours=hours))
        channel = Mailer(settings.mail, settings.paths.state_dir / "outbox").send(
            [address], f"Link your X account to {settings.school.name}",
            invitation_text(settings.school.name, handle, code, hours,
                            public_mention=settings.followers.link_by_public_mention))
    finally:
        store.close()
        audit.close()
    print(f"invitation sent ({channel}); the code expires in {hours} hours")
    print(f"When the parent tells you their X handle: steward followers confirm {email} "
          "@THEIR_HANDLE")
    problem = profile_lookup_problem(settings)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    return EXIT_OK


def alternatives(settings) -> str:
    """What a school can do when Steward cannot look a parent's profile up."""
    mention = ("followers.link_by_public_mention is on, so a parent can post the code in a "
               "mention of the school instead (public: everyone sees that they are a parent "
               "at the school)" if settings.followers.link_by_public_mention else
               "or, accepting that it is public (everyone sees that the parent is a parent at "
               "the school), set followers.link_by_public_mention = true and ask parents to "
               "post the code in a mention of the school's account")
    return ("Give the X app an access level that includes user lookup (X's Basic plan or "
            f"above; developer.x.com, Products), {mention}")


def profile_lookup_problem(settings) -> str | None:
    """Why Steward cannot look up a parent's X profile here (None: it can, as far as X says
    now): X not enabled, a connector that cannot, or X refusing this app the lookup."""
    from connectors.errors import AuthenticationFailed, ConnectorError, Rejected  # noqa: PLC0415
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415

    if not settings.x.enabled:
        return "X is not enabled ([x] enabled = false): there is no X account to link to"
    with connectors_for_command(settings) as connectors:
        x = connectors["x"]
        if not x.capabilities.look_up_profiles:
            return (x.capabilities.why_not.get("look_up_profiles", "this X connector cannot "
                    "look up profiles") + ". " + alternatives(settings))
        try:
            me = x.check()
            x.profile(me.handle)
        except (AuthenticationFailed, Rejected) as error:
            if error.status != 403:
                return None  # credentials or the like: `steward credentials check` says
            return (f"X refuses to let this app look up profiles ({error.message}), so "
                    "`steward followers confirm` cannot check the parent's bio. "
                    + alternatives(settings))
        except ConnectorError:
            return None  # X down or slow now: `followers confirm` will say, if it still is
    return None


@followers.command("confirm")
@click.argument("email", metavar="EMAIL")
@click.argument("handle", metavar="@HANDLE")
@settings_options
def followers_confirm(email: str, handle: str, source: SettingsSource) -> int:
    """Link a parent's X account once its bio holds their code.

    Steward looks @HANDLE up on X, checks that its bio holds the code e-mailed to EMAIL
    (unused, unexpired), and links that X account to EMAIL. Nothing is posted.

    \b
    Example:
      steward followers confirm a.parent@example.org @AParent
    """
    from connectors.errors import ConnectorError  # noqa: PLC0415
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415
    from daemon.accounts.registry import Registry  # noqa: PLC0415
    from daemon.credentials.vault import with_vault_secrets  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    settings = with_vault_secrets(source.load())
    if not settings.x.enabled:
        raise Refused("X is not enabled ([x] enabled = false): there is no X account to link")
    username = handle.strip().removeprefix("@")
    with connectors_for_command(settings) as connectors:
        x = connectors["x"]
        if not x.capabilities.look_up_profiles:
            raise Refused(x.capabilities.why_not.get("look_up_profiles", "this X connector "
                          "cannot look up profiles") + ". " + alternatives(settings))
        try:
            profile = x.profile(username)
        except ConnectorError as error:
            if error.status == 403:
                raise Refused(f"X refuses to let this app look up @{username} "
                              f"({error.message}). " + alternatives(settings)) from None
            raise Refused(f"could not look up @{username} on X: {error.message}") from None
    if profile is None:
        raise Refused(f"X has no account @{username} (or shows none: suspended or deleted); "
                      "check the handle with the parent")
    store = open_store(settings)
    audit = open_audit_log(settings)
    try:
        Registry(store, audit, Clock()).link_by_profile("x", email, profile)
    finally:
        store.close()
        audit.close()
    print(f"linked @{profile.handle} (X user {profile.user_id}) to {email}. Tell the parent "
          "they can take the code out of their bio now.")
    return EXIT_OK


@followers.command("report")
@settings_options
def followers_report(source: SettingsSource) -> int:
    """Followers by status, and the checklist.

    The checklist is what only a person can do on the platforms.

    \b
    Example:
      steward followers report
    """
    settings = source.load()
    store = open_store(settings)
    try:
        counts = store.follower_counts()
        items = store.checklist_by_platform()
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
        print(f"  [{item.platform}] {item.text}\n      confirm: steward reconcile "
              f"--confirm {item.key}")
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    for command in (reconcile, followers):
        group.add_command(command)
