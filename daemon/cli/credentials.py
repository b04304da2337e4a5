"""Commands for the accounts' credentials: the encrypted vault (`credentials set|list|check`),
the escrow bundle for the school's leaders (`escrow ...`), and the hand-over from one
administrator to another (`handover`, `handover confirm`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from daemon.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    Refused,
    SettingsSource,
    StewardGroup,
    UsageProblem,
    begin_command,
    note,
    open_audit_log,
    open_store,
    plain_message,
    settings_options,
)

SIGNER_ADVICE = (
    "Steward's signing key is not on this machine, so it is not in the key file. Ask the "
    "administrator, in person or on paper, for the output of `steward escrow signer`, and "
    "keep it with this key: `steward escrow open` needs it (--signer) to tell a genuine bundle "
    "from a forged one.")


# -- the vault -----------------------------------------------------------------------------------

def read_secret(prompt: str) -> str:
    """A secret from the terminal (not echoed) or from standard input; never an argument."""
    import getpass  # noqa: PLC0415

    from policies.displayed_text import visible  # noqa: PLC0415

    if sys.stdin.isatty():
        return getpass.getpass(visible(prompt))  # the name as typed, escaped
    return sys.stdin.readline().rstrip("\n")


def open_vault(settings, create: bool = False):
    """(the vault, the audit log), the vault's warnings said; VaultError (exit 1) if the vault
    cannot be opened."""
    from daemon.credentials.vault import Vault  # noqa: PLC0415

    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    vault = Vault(settings, create=create)
    for warning in vault.warnings:
        note(warning)
    return vault, open_audit_log(settings)


def vault_if_any(settings):
    """The vault, its warnings said, or None when there is none (secrets only in the
    configuration) or it cannot be opened (said too)."""
    from daemon.credentials.vault import Vault, VaultError  # noqa: PLC0415

    if not (settings.paths.state_dir / "vault.json").exists():
        return None
    try:
        vault = Vault(settings)
    except VaultError as error:
        note(str(error))
        return None
    for warning in vault.warnings:
        note(warning)
    return vault


def rebuild_escrow(settings, vault, audit) -> bool:
    """Rebuild the escrow bundle for the configured recipients and record it; False (having
    said why) if there are none or it could not be rebuilt."""
    from daemon.credentials.escrow import EscrowError, rebuild  # noqa: PLC0415
    from daemon.credentials.handover import inactive_administrators  # noqa: PLC0415

    if not settings.escrow.recipients:
        note("no escrow recipients configured; the credentials are not escrowed yet")
        return False
    store = open_store(settings)
    try:
        rebuild(settings, vault, inactive_administrators(store))
    except EscrowError as error:
        note(f"the escrow bundle was not rebuilt: {error}")
        return False
    finally:
        store.close()
    audit.record("escrow.rebuilt", clause=settings.policy.clause_id("credentials"),
                 recipients=[r.name for r in settings.escrow.recipients])
    return True


def store_and_escrow(settings, name: str, value: str, kind: str) -> None:
    """Put one secret in the vault, record it, and rebuild the escrow bundle; VaultError
    (exit 1) if the vault refused it."""
    vault, audit = open_vault(settings, create=True)
    try:
        vault.set(name, value, kind=kind)
        audit.record("credentials.changed", name=name)
        rebuild_escrow(settings, vault, audit)
    finally:
        audit.close()


@click.group(cls=StewardGroup)
def credentials() -> None:
    """The encrypted vault of the platforms' credentials.

    \b
    Example:
      steward credentials set x.access_token
    """


@credentials.command("set")
@click.argument("name")
@settings_options
def credentials_set(name: str, source: SettingsSource) -> int:
    """Store a credential in the vault.

    NAME is e.g. x.access_token or facebook.page_access_token. The value is read without
    echo, or from standard input: never from the command line, where other users could see
    it.

    \b
    Example:
      steward credentials set facebook.page_access_token < token.txt
    """
    settings = source.load()
    value = read_secret(f"{name}: ")
    if not value:
        raise Refused("empty value; nothing changed")
    store_and_escrow(settings, name, value, "platform")
    from policies.displayed_text import visible  # noqa: PLC0415

    print(f"{visible(name)} stored in the vault (encrypted); restart or reload Steward to use "
          "it")
    return EXIT_OK


@credentials.command("list")
@settings_options
def credentials_list(source: SettingsSource) -> int:
    """The vault's credentials: names and ages, never values.

    \b
    Example:
      steward credentials list
    """
    from datetime import datetime  # noqa: PLC0415

    from daemon.runtime.clock import Clock  # noqa: PLC0415

    settings = source.load()
    vault, audit = open_vault(settings)
    entries = vault.entries()
    audit.close()
    now = Clock().now()
    for name, entry in sorted(entries.items()):
        age = (now - datetime.fromisoformat(entry["set_at"])).days
        print(f"{name:<32} {entry['kind']:<9} set {entry['set_at'][:19]} ({age} days ago)")
    if not entries:
        print("the vault is empty")
    return EXIT_OK


def credential_warnings(settings, store, vault) -> tuple[list[str], list[str]]:
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


@credentials.command("check")
@settings_options
def credentials_check(source: SettingsSource) -> int:
    """Check each platform's credentials and their expiry.

    Exit 0 all working, 1 not. Also fails while a handover item is outstanding (the
    outgoing administrator's secrets still work). An OAuth 2.0 token is refreshed on the way.

    \b
    Example:
      steward credentials check --config /etc/steward/steward.toml
    """
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from connectors.errors import ConnectorError  # noqa: PLC0415
    from connectors.protocol import RefreshesTokens  # noqa: PLC0415
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415
    from daemon.credentials.escrow import rebuild_if_configured  # noqa: PLC0415
    from daemon.credentials.vault import with_vault_secrets  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    settings = with_vault_secrets(source.load())
    failed = False
    store = open_store(settings)
    try:
        outstanding, notes = credential_warnings(settings, store, vault_if_any(settings))
    finally:
        store.close()
    with connectors_for_command(settings) as connectors:
        for name, connector in sorted(connectors.items()):
            try:
                account = connector.check()
                line = f"{name}: OK, acting as {account.handle}"
                if isinstance(connector, RefreshesTokens) and connector.user_auth is False:
                    expires_at = connector.refresh()
                    store = open_store(settings)
                    try:
                        rebuild_if_configured(settings, store)
                    finally:
                        store.close()
                    line += (f"; OAuth 2.0 token refreshed (new pair saved first), valid until "
                             f"{datetime.fromtimestamp(expires_at, UTC):%Y-%m-%d %H:%M} UTC")
                if hasattr(connector, "token_expiry"):
                    expiry = connector.token_expiry()
                    if expiry is None:
                        line += "; the token does not expire"
                    elif expiry - Clock().now() < timedelta(days=settings.credentials.warn_days):
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
    for note_text in notes:  # part of the report: standard output, as the lines above
        print(f"note: {note_text}")
    return EXIT_REFUSED if failed or outstanding else EXIT_OK


# -- the escrow bundle ---------------------------------------------------------------------------

def signer_text(given: str) -> str:
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


def steward_signing_key(signer: str | None, source: SettingsSource) -> str | None:
    """Steward's public signing key (base64) for a holder's key file: --signer (the key, an
    OpenSSH form of it, or a file holding either), else this machine's Steward's own, else None.
    Never creates a key."""
    from config.loading import ConfigurationError  # noqa: PLC0415
    from daemon.audit.chain import load_signing_key  # noqa: PLC0415
    from daemon.runtime.keys import public_key_text  # noqa: PLC0415

    if signer:
        return signer_text(signer)
    try:
        settings = source.load()
    except ConfigurationError:
        return None
    if not (settings.paths.state_dir / "audit-signing.key").exists():
        return None
    key = load_signing_key(settings.paths.state_dir)
    return public_key_text(key) if key is not None else None


def holder_key_text(name: str, identity: str, signer: str | None) -> str:
    """An age identity file with the comments a holder needs: who it is for, its public key,
    Steward's signing key, and how to use both without Steward."""
    from daemon.credentials.escrow import NAMESPACE  # noqa: PLC0415
    from daemon.credentials.sealing import recipient_of  # noqa: PLC0415
    from daemon.credentials.ssh_signatures import allowed_signers_line  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    made = Clock().now().astimezone().date()  # the holder's own calendar day
    lines = [f"# Steward escrow key of {name}, made {made.isoformat()}. Keep it offline "
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


def write_private(path: Path, text: str) -> bool:
    """Write a new file readable by its owner only; False if it exists."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def holder_identities(key_file: Path) -> tuple[list[str], str | None, list[str]]:
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


@click.group(cls=StewardGroup)
def escrow() -> None:
    """The credentials escrowed to the school's leaders.

    A signed bundle in the standard age format, which holders can open without Steward.

    \b
    Example:
      steward escrow keygen "Head Teacher" --out head-teacher.age-key
    """


@escrow.command("keygen")
@click.argument("name")
@click.option("--out", metavar="FILE", help="default: NAME.age-key")
@click.option("--signer", metavar="KEY", help="Steward's public signing key to record in the "
              "key file (`steward escrow signer` prints it)")
@settings_options
def escrow_keygen(name: str, out: str | None, signer: str | None, source: SettingsSource) -> int:
    """Make an age key for an escrow holder.

    It records Steward's signing key when this machine has it (or --signer gives it), so
    that the holder can tell a genuine bundle from a forged one.

    \b
    Example:
      steward escrow keygen "Head Teacher" --out head-teacher.age-key
    """
    from daemon.credentials.sealing import new_identity  # noqa: PLC0415

    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    path = Path(out or f"{slug}.age-key")
    try:
        signer_key = steward_signing_key(signer, source)
    except (ValueError, OSError) as error:
        raise UsageProblem(plain_message(error)) from None
    identity, recipient = new_identity()
    if not write_private(path, holder_key_text(name, identity, signer_key)):
        raise UsageProblem(f"{path} exists; choose another --out")
    print(f"Wrote {name}'s escrow key to {path} (a standard age key; only you can "
          "read it): keep it offline (a USB stick in the school safe).")
    print("With it, they open the bundle with `steward escrow open --key "
          f"{path}` or, without Steward, `age -d -i {path} escrow.age`."
          if signer_key else SIGNER_ADVICE)
    print("\nAdd this to the configuration:\n\n[[escrow.recipients]]\n"
          f"name = {json.dumps(name)}\nrole = \"other\"   # or \"head teacher\", "
          f"\"chair of governors\", \"administrator\"\npublic_key = \"{recipient}\"")
    return EXIT_OK


@escrow.command("convert-key")
@click.argument("old", metavar="OLD-KEY-FILE")
@click.option("--out", metavar="FILE", help="default: OLD-KEY-FILE.age-key")
@click.option("--signer", metavar="KEY", help="as for keygen")
@settings_options
def escrow_convert_key(old: str, out: str | None, signer: str | None,
                       source: SettingsSource) -> int:
    """Turn a holder's escrow key of the old format into an age key.

    It is the same key, so nothing needs re-encrypting.

    \b
    Example:
      steward escrow convert-key head-teacher.key --out head-teacher.age-key
    """
    from daemon.credentials.sealing import SealError, legacy_identity, recipient_of, unb64  # noqa: PLC0415

    old_path = Path(old)
    try:
        data = json.loads(old_path.read_text(encoding="utf-8"))
        identity = legacy_identity(unb64(data["private_key"]))
        name = str(data.get("name") or old_path.stem)
        signer_key = steward_signing_key(signer, source)
    except (OSError, ValueError, KeyError, TypeError, SealError) as error:
        raise UsageProblem(f"{old_path} is not a Steward escrow key file of the old format "
                           f"({error.__class__.__name__})") from None
    target = Path(out or old_path.with_suffix(".age-key"))
    if not write_private(target, holder_key_text(name, identity, signer_key)):
        raise UsageProblem(f"{target} exists; choose another --out")
    print(f"Wrote {name}'s key as an age key to {target}; it is the same key, so bundles made "
          f"for the old one open with it. Delete {old_path} once you have checked it works.")
    if not signer_key:
        print(SIGNER_ADVICE)
    print(f"In the configuration, their public key can now be written as:\n  public_key = "
          f"\"{recipient_of(identity)}\"")
    return EXIT_OK


@escrow.command("signer")
@settings_options
def escrow_signer(source: SettingsSource) -> int:
    """Print Steward's public signing key, for holders.

    Hand it over in person or on paper, with its fingerprint read aloud.

    \b
    Example:
      steward escrow signer
    """
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415

    from daemon.credentials.escrow import NAMESPACE  # noqa: PLC0415
    from daemon.credentials.ssh_signatures import allowed_signers_line, openssh_public_key  # noqa: PLC0415
    from daemon.runtime.keys import audit_signing_key, public_key_text  # noqa: PLC0415

    settings = source.load()
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


@escrow.command("add-secret")
@click.argument("label")
@settings_options
def escrow_add_secret(label: str, source: SettingsSource) -> int:
    """Escrow what only a person knows.

    A password or 2FA recovery codes, under LABEL.

    The value is read without echo, or from standard input.

    \b
    Example:
      steward escrow add-secret x.recovery-codes < recovery-codes.txt
    """
    settings = source.load()
    value = read_secret(f"{label}: ")
    store_and_escrow(settings, f"person:{label}", value, "person")
    from policies.displayed_text import visible  # noqa: PLC0415

    print(f"'{visible(label)}' stored and escrowed")
    return EXIT_OK


@escrow.command("open")
@click.option("--key", "key_file", required=True, metavar="FILE", help="the holder's age key "
              "file (or one of the old format)")
@click.option("--signer", metavar="KEY", help="Steward's public signing key, as handed to the "
              "holder (default: the one their key file records)")
@click.option("--output", metavar="FILE", help="write here (0600) instead of the terminal")
@click.option("--bundle", metavar="FILE", help="default: <state_dir>/escrow.age (its "
              "signature is the .sig beside it)")
@settings_options
def escrow_open(key_file: str, signer: str | None, output: str | None, bundle: str | None,
                source: SettingsSource) -> int:
    """Check the bundle's signature, then open it.

    It opens with a holder's key.

    \b
    Example:
      steward escrow open --key head-teacher.age-key --bundle escrow.age --output secrets.json
    """
    from daemon.credentials.escrow import bundle_path, open_bundle  # noqa: PLC0415
    from daemon.credentials.sealing import SealError  # noqa: PLC0415

    try:
        identities, recorded, notes = holder_identities(Path(key_file))
        signer_key = signer_text(signer) if signer else recorded
    except (SealError, OSError, ValueError, UnicodeDecodeError) as error:
        raise Refused(plain_message(error)) from None
    for note_text in notes:
        note(note_text)
    if signer_key is None:
        raise UsageProblem(
            "Steward's signing key is needed to check that the bundle is genuine before "
            "opening it, and your key file does not record it. Pass it with --signer KEY: the "
            "key you were given with your escrow key (the administrator prints it with "
            "`steward escrow signer`; compare its fingerprint with what you were told).")
    contents = open_bundle(Path(bundle) if bundle else bundle_path(source.load()), identities,
                           signer_key)
    text = json.dumps(contents, indent=2)
    if output:
        if not write_private(Path(output), text + "\n"):
            raise UsageProblem(f"{output} exists; choose another --output")
        print(f"signature checked; written to {output} (readable by you only)")
    else:
        print("Signature checked: this bundle was made by Steward. WARNING: the school's account "
              "secrets follow; clear the screen afterwards.", file=sys.stderr)
        print(text)
    return EXIT_OK


@escrow.command("verify")
@settings_options
def escrow_verify(source: SettingsSource) -> int:
    """Check the bundle and its recipients.

    Exit 0 when it is Steward's, current, for exactly the current recipients, and no
    handover item is outstanding; 1 otherwise, saying what is wrong.

    \b
    Example:
      steward escrow verify --config /etc/steward/steward.toml
    """
    from daemon.credentials.escrow import verify  # noqa: PLC0415
    from daemon.credentials.handover import inactive_administrators  # noqa: PLC0415

    settings = source.load()
    vault, audit = open_vault(settings)
    store = open_store(settings)
    try:
        problems = verify(settings, vault, inactive_administrators(store))
        outstanding, notes = credential_warnings(settings, store, vault)
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
    for note_text in notes:  # part of the report: standard output, as the lines above
        print(f"note: {note_text}")
    return EXIT_OK if not problems + outstanding else EXIT_REFUSED


@escrow.command("rebuild")
@settings_options
def escrow_rebuild(source: SettingsSource) -> int:
    """Rebuild the bundle now, for the configured recipients.

    \b
    Example:
      steward escrow rebuild --config /etc/steward/steward.toml
    """
    settings = source.load()
    vault, audit = open_vault(settings, create=True)
    try:
        rebuilt = rebuild_escrow(settings, vault, audit)
    finally:
        audit.close()
    if not rebuilt and settings.escrow.recipients:
        raise Refused("the escrow bundle was not rebuilt (see the note above)")
    return EXIT_OK


@escrow.command("request")
@click.option("--by", "requested_by", required=True, metavar="NAME", help="who asked, e.g. "
              "'Chair of Governors'")
@settings_options
def escrow_request(requested_by: str, source: SettingsSource) -> int:
    """Record the employer's request for access.

    The escrow holders are told by e-mail.

    \b
    Example:
      steward escrow request --by "Chair of Governors"
    """
    import getpass  # noqa: PLC0415

    from daemon.runtime.mail import Mailer, MailError  # noqa: PLC0415

    settings = source.load()
    settings.paths.state_dir.mkdir(parents=True, exist_ok=True)
    audit = open_audit_log(settings)
    audit.record("escrow.access_requested", clause=settings.policy.clause_id("credentials"),
                 by=requested_by, recorded_by=getpass.getuser())
    audit.close()
    recipients = [r.email for r in settings.escrow.recipients if r.email]
    try:
        Mailer(settings.mail, settings.paths.state_dir / "outbox").send(
            recipients, "[Steward] The employer has requested access to the accounts",
            f"{requested_by} has requested full access to {settings.school.name}'s social media "
            "accounts. Escrow recipients can open the bundle (escrow.age, with escrow.age.sig "
            "beside it) with `steward escrow open --key THEIR-KEY --bundle escrow.age`, or "
            "without Steward with `age -d -i THEIR-KEY escrow.age` after checking the signature "
            "(the commands are in their key file).")
    except MailError as error:
        note(str(error))
    from policies.displayed_text import visible  # noqa: PLC0415

    print(f"request by {visible(requested_by)} recorded in the audit log; escrow recipients "
          "told")
    return EXIT_OK


# -- the hand-over -------------------------------------------------------------------------------

@click.group(cls=StewardGroup, invoke_without_command=True)
@click.option("--from", "old", metavar="OLD", help="the outgoing administrator")
@click.option("--to", "new", metavar="NEW", help="the incoming administrator")
@click.option("--reason", metavar="TEXT", help="why, for the record")
@settings_options
@click.pass_context
def handover(context: click.Context, old: str | None, new: str | None, reason: str | None,
             source: SettingsSource) -> int | None:
    """Hand the accounts over from one administrator to another.

    Rotates what can be rotated, rebuilds the escrow, and lists what a person must do; each
    item is then confirmed with `steward handover confirm KEY`.

    \b
    Example:
      steward handover --from "A. Admin" --to "B. Admin" --reason "A. Admin left the school"
      steward handover confirm handover:3:x-app-keys
    """
    if context.invoked_subcommand is not None:
        return None
    begin_command(context)
    from daemon.accounts.platforms import connectors_for_command  # noqa: PLC0415
    from daemon.credentials.handover import Handover  # noqa: PLC0415
    from daemon.credentials.vault import with_vault_secrets  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415
    from daemon.runtime.mail import Mailer  # noqa: PLC0415

    if not (old and new and reason):
        missing = [flag for flag, value in (("--from", old), ("--to", new),
                                            ("--reason", reason)) if not value]
        raise UsageProblem(f"{', '.join(missing)} needed (or `steward handover confirm KEY` "
                           "to confirm an item done)")
    settings = source.load()
    store = open_store(settings)
    audit = open_audit_log(settings)
    try:
        report = Handover(settings, store, audit, Clock(),
                          Mailer(settings.mail, settings.paths.state_dir / "outbox"),
                          lambda: connectors_for_command(with_vault_secrets(settings))).run(
            old, new, reason)
    finally:
        store.close()
        audit.close()
    from policies.displayed_text import visible  # noqa: PLC0415

    print(f"Handover {report['id']} from {visible(old)} to {visible(new)} complete.")
    for note_text in report["notes"]:
        print(f"  {note_text}")
    print("\nA person must now do each of these, then confirm it (until then `steward escrow "
          "verify` and the daily check report it, since the outgoing administrator's copy of "
          "an older bundle holds secrets that still work):")
    for item, key in zip(report.get("checklist", []), report.get("checklist_keys", []),
                         strict=False):
        print(f"  - {item}\n    confirm: steward handover confirm {key}")
    if report.get("receipt"):
        print(f"\nSigned receipt: {report['receipt']} (+ .sig; check with `steward audit pubkey`)")
    return EXIT_OK


def confirm_handover_item(source: SettingsSource, key: str) -> int:
    """A person confirms a handover item is done: checked, then recorded (HandoverError,
    exit 1, when the check fails). Also reached by `steward reconcile --confirm handover:...`."""
    import getpass  # noqa: PLC0415

    from daemon.credentials.handover import confirm  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    settings = source.load()
    store = open_store(settings)
    audit = open_audit_log(settings)
    try:
        said = confirm(store, audit, Clock(), vault_if_any(settings), key, getpass.getuser(),
                       settings.policy.catalogue())
    finally:
        store.close()
        audit.close()
    print(said)
    return EXIT_OK


@handover.command("confirm")
@click.argument("item", metavar="KEY")
@settings_options
@click.pass_context
def handover_confirm(context: click.Context, item: str, source: SettingsSource) -> int:
    """Confirm a handover item is done.

    KEY names the item, e.g. handover:3:x-app-keys; it is checked, then audited.

    \b
    Example:
      steward handover confirm handover:3:x-app-keys
    """
    given_to_handover = context.parent.params if context.parent is not None else {}
    return confirm_handover_item(source.or_else(SettingsSource(
        given_to_handover.get("config_file"), given_to_handover.get("state_dir"))), item)


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    for command in (credentials, escrow, handover):
        group.add_command(command)
