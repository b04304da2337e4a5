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

    POST is a post folder, or a single .md file.

    \b
    Example:
      steward sign my-post --key ~/deputy-head.key
    """
    from daemon.posts.approval import sign_submission  # noqa: PLC0415
    from daemon.posts.reading import read_submission  # noqa: PLC0415

    settings = source.load_for_slt().settings
    for key in load_keys(key_files):
        submission = read_submission(Path(post), settings.school.time_zone,
                                     settings.intake.max_text_bytes,
                                     max_media_bytes=settings.intake.max_media_bytes)
        if submission.problems:
            raise Refused("\n".join([f"{post} cannot be signed:"] + [
                f"  - {problem.problem}" for problem in submission.problems]))
        try:
            sign_submission(submission, key, settings.intake.max_media_bytes)
        except ValueError as error:
            raise Refused(str(error)) from None
        print(f"signed {post} as {key.name}")
    return EXIT_OK


@click.command(cls=StewardCommand)
@click.argument("post", metavar="POST")
@click.option("--sign", "key_files", multiple=True, metavar="KEY",
              help="sign with this approval key first; repeat for a second signer")
@click.option("--inbox", metavar="DIR", help="the inbox (default: from configuration)")
@settings_options
def submit(post: str, key_files: tuple[str, ...], inbox: str | None,
           source: SettingsSource) -> int:
    """Sign (optionally) and drop a post into the inbox.

    A copy is written beside the inbox and renamed into it, so Steward never sees half a post.

    \b
    Example:
      steward submit my-post --sign ~/deputy-head.key
    """
    from daemon.posts.submitting import submit as submit_post  # noqa: PLC0415

    settings = source.load_for_slt().settings
    target = submit_post(Path(post), Path(inbox) if inbox else settings.paths.resolved("inbox"),
                         keys=load_keys(key_files), time_zone=settings.school.time_zone,
                         max_text_bytes=settings.intake.max_text_bytes,
                         max_media_bytes=settings.intake.max_media_bytes)
    print(f"submitted {target}")
    return EXIT_OK


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
    for command in (keys, sign, submit, check, media):
        group.add_command(command)
