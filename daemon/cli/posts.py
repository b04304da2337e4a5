"""Commands for posts and the people who approve them: `keys new`, `sign`, `submit`, `check`
and `media clean`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from daemon.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    Refused,
    SettingsSource,
    StewardCommand,
    StewardGroup,
    UsageProblem,
    settings_options,
)


@click.group(cls=StewardGroup)
def keys() -> None:
    """Approval keys for SLT members.

    A post is published only with their signatures.

    A member signs a post with `steward sign POST --key FILE`.

    \b
    Example:
      steward keys new "Deputy Head" --out deputy-head.key
    """


@keys.command("new")
@click.argument("name")
@click.option("--out", metavar="FILE", help="where to write the key (default NAME.key)")
def keys_new(name: str, out: str | None) -> int:
    """Make an approval key for an SLT member.

    NAME is their name, e.g. 'Deputy Head'. Prints the lines to add to the configuration so
    that their signatures count.

    \b
    Example:
      steward keys new "Deputy Head" --out deputy-head.key
    """
    from daemon.runtime.keys import new_key  # noqa: PLC0415
    from policies.displayed_text import visible  # noqa: PLC0415

    if not name.strip() or visible(name.replace("\\", "")) != name.replace("\\", ""):
        raise UsageProblem(f"the name '{visible(name)}' holds characters that do not show (a "
                           "control or invisible character, as written here): a signer's "
                           "name is printed in every answer. Type it again as plain text, "
                           'e.g. steward keys new "Deputy Head"')
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    path = Path(out or f"{slug}.key")
    try:
        key = new_key(name, path)
    except FileExistsError:
        raise UsageProblem(f"{path} exists; choose another --out") from None
    print(f"Wrote the private key for {name} to {path} (only you can read it).\n"
          "Add this to the configuration so that their signatures count:\n\n"
          "[[approval.signers]]\n"
          f"name = {json.dumps(name)}\n"
          f"public_key = \"{key.public_key_base64()}\"")
    return EXIT_OK


def load_keys(paths: tuple[str, ...]) -> list:
    """The approval keys in these files; ApprovalKeyError (exit 2) for one that cannot be
    used, e.g. because others can read it."""
    from daemon.runtime.keys import load_key  # noqa: PLC0415

    return [load_key(Path(path)) for path in paths]


@click.command(cls=StewardCommand)
@click.argument("post", metavar="POST")
@click.option("--key", "key_files", multiple=True, required=True, metavar="FILE",
              help="an SLT member's approval key; repeat for a second signer")
@settings_options
def sign(post: str, key_files: tuple[str, ...], source: SettingsSource) -> int:
    """Approve a post by signing it.

    POST is a post folder, or a single .md file. Signing again (after an edit) replaces the
    signer's earlier signature.

    \b
    Example:
      steward sign my-post --key ~/deputy-head.key
    """
    from daemon.posts.approval import sign_submission  # noqa: PLC0415
    from daemon.posts.reading import read_submission  # noqa: PLC0415
    from policies.displayed_text import visible  # noqa: PLC0415

    settings = source.load_for_slt().settings
    for key in load_keys(key_files):
        submission = read_submission(Path(post), settings.school.time_zone,
                                     settings.intake.max_text_bytes,
                                     max_media_bytes=settings.intake.max_media_bytes,
                                     max_video_bytes=settings.intake.max_video_bytes)
        if submission.problems:
            raise Refused("\n".join([f"{visible(post)} cannot be signed:"] + [
                f"  - {problem.problem}" for problem in submission.problems]))
        try:
            replaced = sign_submission(submission, key, settings.intake.max_media_bytes)
        except ValueError as error:
            raise Refused(str(error)) from None
        print(f"signed {visible(post)} as {visible(key.name)}"
              + (" (this replaces their earlier signature)" if replaced else ""))
    return EXIT_OK


@click.command(cls=StewardCommand)
@click.argument("post", metavar="POST")
@click.option("--sign", "key_files", multiple=True, metavar="KEY",
              help="sign with this approval key first; repeat for a second signer")
@click.option("--inbox", metavar="DIR", help="the inbox (default: from configuration)")
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=120,
              show_default=True, metavar="SECONDS", help="how long to wait for Steward's answer")
@click.option("--no-wait", is_flag=True, help="hand the post in and return at once")
@settings_options
def submit(post: str, key_files: tuple[str, ...], inbox: str | None, wait_seconds: float,
           no_wait: bool, source: SettingsSource) -> int:
    """Check, sign (optionally) and hand a post in, then wait for Steward's answer.

    The post is checked first, as `steward check` does: if it would be refused, nothing is
    handed in (exit 1). Otherwise it says when (school time) and where it will go out, puts a
    copy in the inbox (written beside it and renamed in, so Steward never sees half a post),
    and waits for the daemon's answer. Exit 0: accepted (its ID is printed). Exit 1: refused;
    the reasons are printed and written to REFUSED.txt in the post's folder. Exit 3: no
    answer in time (is the daemon running?); the answer will still appear in the accepted or
    rejected folder, which the message names.

    \b
    Example:
      steward submit my-post --sign ~/deputy-head.key
    """
    from daemon.cli.handing_in import submit_checked  # noqa: PLC0415

    loaded = source.load_for_slt()
    return submit_checked(Path(post), loaded.settings, keys=load_keys(key_files),
                          inbox=Path(inbox) if inbox else None,
                          wait_seconds=0 if no_wait else wait_seconds,
                          pupils_on_server=loaded.view is not None, waits=not no_wait)


@click.command(cls=StewardCommand)
@click.argument("target", metavar="ID_OR_NAME")
@click.option("--sign", "key_files", multiple=True, required=True, metavar="KEY",
              help="your approval key (one SLT signature is enough to cancel)")
@click.option("--inbox", metavar="DIR", help="the inbox (default: from configuration)")
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=120,
              show_default=True, metavar="SECONDS", help="how long to wait for Steward's answer")
@click.option("--no-wait", is_flag=True, help="hand the request in and return at once")
@settings_options
def cancel(target: str, key_files: tuple[str, ...], inbox: str | None, wait_seconds: float,
           no_wait: bool, source: SettingsSource) -> int:
    """Stop a scheduled post before it goes out.

    ID_OR_NAME is the ID in its acceptance notice (accepted/NAME.accepted.txt) or the name
    it was submitted under. A signed request goes into the inbox; the daemon checks the
    signature, cancels the post, and answers. A post that has already gone out cannot be
    cancelled (the request is refused): use `steward unpublish ID` to delete it. Exit 0
    cancelled, 1 refused, 3 no answer in time.

    \b
    Example:
      steward cancel 20261123-0900-0123456789ab --sign ~/deputy-head.key
    """
    from daemon.cli.handing_in import hand_in_request  # noqa: PLC0415

    return hand_in_request("cancel", target, source.load_for_slt().settings,
                           keys=load_keys(key_files), inbox=Path(inbox) if inbox else None,
                           wait_seconds=wait_seconds, waits=not no_wait)


@click.command(cls=StewardCommand)
@click.argument("target", metavar="ID")
@click.option("--sign", "key_files", multiple=True, metavar="KEY",
              help="an SLT member's approval key; as many as a post needs")
@click.option("--dry-run", is_flag=True, help="say what would be deleted; change nothing")
@click.option("--inbox", metavar="DIR", help="the inbox (default: from configuration)")
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=120,
              show_default=True, metavar="SECONDS", help="how long to wait for Steward's answer")
@settings_options
def unpublish(target: str, key_files: tuple[str, ...], dry_run: bool, inbox: str | None,
              wait_seconds: float, source: SettingsSource) -> int:
    """Delete a published post on every platform where it went out.

    ID is the post's ID (or name) in its receipt in the archive. It needs as many SLT
    signatures as a post. Exit 0 deleted everywhere, 1 refused or not deleted everywhere
    (each platform's outcome is printed), 3 no answer in time.

    \b
    Example:
      steward unpublish 20261123-0900-0123456789ab --sign ~/deputy-head.key --dry-run
    """
    from daemon.cli.handing_in import hand_in_request, would_unpublish  # noqa: PLC0415

    settings = source.load_for_slt().settings
    if dry_run:
        return would_unpublish(target, settings)
    if not key_files:
        raise UsageProblem("unpublish needs --sign KEY (as many as a post needs)")
    return hand_in_request("unpublish", target, settings, keys=load_keys(key_files),
                           inbox=Path(inbox) if inbox else None, wait_seconds=wait_seconds)


@click.command(cls=StewardCommand)
@click.argument("post", metavar="POST")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@settings_options
def check(post: str, as_json: bool, source: SettingsSource) -> int:
    """Run every policy on a draft: exit 0 ok, 1 refused.

    POST is judged as the daemon will judge it. An SLT member who may not read the
    configuration gets the settings the daemon writes for SLT (/srv/steward/slt-settings.toml,
    or $STEWARD_SLT_SETTINGS): every rule runs except pupils' names and consent, which Steward
    checks on the server after submission.

    \b
    Example:
      steward check my-post --config /etc/steward/steward.toml
    """
    from daemon.posts.assessment import assess  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    loaded = source.load_for_slt()
    result = assess(Path(post), loaded.settings, Clock().now(),
                    pupils_on_server=loaded.view is not None)
    if as_json:
        print(json.dumps({
            "accepted": result.accepted, "platforms": list(result.platforms),
            "notes": list(result.notes), "warnings": list(result.warnings),
            "approved_by": list(result.signers),
            "findings": [{"rule": f.rule, "clause": f.clause_id, "problem": f.problem,
                          "fix": f.fix} for f in result.findings]}, indent=2))
    elif result.accepted:
        print(f"{post}: OK, would be published on {', '.join(result.platforms)}")
    else:
        print(f"{post}: would be REFUSED:")
        for finding in result.findings:
            print(finding.explain())
    if not as_json:
        for warning in result.warnings:
            print(f"Warning: {warning}")
        for note_text in result.notes:
            print(f"Note: {note_text}")
    return EXIT_OK if result.accepted else EXIT_REFUSED


@click.group(cls=StewardGroup)
def media() -> None:
    """Pictures: clean them before they are posted.

    \b
    Example:
      steward media clean IMG_0042.jpg -o clean.jpg
    """


@media.command("clean")
@click.argument("files", nargs=-1, required=True, metavar="IN...")
@click.option("-o", "--output", required=True, metavar="OUT",
              help="output file (one input) or folder (several)")
def media_clean(files: tuple[str, ...], output: str) -> int:
    """Remove location and identifying metadata from pictures.

    Losslessly: exit 0 cleaned, 1 refused. Each file gets one line: what was removed, or why
    it was refused (on standard error).

    \b
    Example:
      steward media clean IMG_0042.jpg IMG_0043.heic -o cleaned/
    """
    from daemon.cli.pictures import clean_pictures  # noqa: PLC0415

    return clean_pictures(files, output)


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    for command in (keys, sign, submit, check, cancel, unpublish, media):
        group.add_command(command)
