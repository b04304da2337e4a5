"""`steward submit` (and `cancel`, `unpublish`): check, hand in, and tell the submitter what
happened, so an SLT member learns the daemon's answer without looking for it (issue 18).

1. The post is signed (with --sign) in a private copy and checked there exactly as `steward
   check` would: refused, nothing reaches the inbox.
2. When (school time) and where it will go out is printed, and the copy is handed in the way
   `daemon.posts.submitting` does (renamed into the inbox).
3. The daemon's answer is awaited (daemon.posts.verdicts), up to a deadline: accepted, its ID
   and when and where; refused, its reasons, also written to REFUSED.txt beside the draft.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from config.settings import StewardSettings
from daemon.posts.approval import sign_submission
from daemon.posts.notices import accepted_folder
from daemon.posts.reading import read_submission
from daemon.posts.refused_beside import NotWritten, clear_refused_beside, write_refused_beside
from daemon.posts.submitting import SubmitError, submit
from daemon.posts.verdicts import notices_now, wait_for_verdict
from daemon.runtime.clock import Clock
from daemon.runtime.keys import ApprovalKey

EXIT_OK, EXIT_REFUSED, EXIT_NO_ANSWER = 0, 1, 3


def submit_checked(draft: Path, settings: StewardSettings, *, keys: Sequence[ApprovalKey],
                   inbox: Path | None, wait_seconds: float, pupils_on_server: bool,
                   waits: bool = True) -> int:
    """Check, hand in and await the answer; return the exit code (0 accepted, 1 refused,
    3 no answer in time). Raise SubmitError when the post cannot be handed in at all."""
    from daemon.posts.assessment import assess  # noqa: PLC0415

    draft = Path(draft)
    if draft.is_symlink() or not draft.exists():
        raise SubmitError(f"{draft}: not found (or a symbolic link)")
    name = draft.name
    with tempfile.TemporaryDirectory(prefix="steward-submit-") as private:
        copy = Path(private) / name
        if draft.is_dir():
            shutil.copytree(draft, copy, symlinks=True)
        else:
            shutil.copy2(draft, copy)
        for key in keys:
            submission = read_submission(copy, settings.school.time_zone,
                                         settings.intake.max_text_bytes, name=name,
                                         max_media_bytes=settings.intake.max_media_bytes,
                                         max_video_bytes=settings.intake.max_video_bytes)
            try:
                sign_submission(submission, key, settings.intake.max_media_bytes)
            except ValueError as error:
                raise SubmitError(f"{draft}: cannot be signed: {error}") from None
        result = assess(copy, settings, Clock().now(), name=name,
                        pupils_on_server=pupils_on_server)
        for warning in result.warnings:
            print(f"Warning: {warning}")
        if not result.accepted:
            print(f"{draft}: would be REFUSED, so it was not handed in:")
            for finding in result.findings:
                print(finding.explain())
            return EXIT_REFUSED
        for note_text in result.notes:
            print(f"Note: {note_text}")
        print(when_and_where(result.submission.publish_at, result.platforms, settings))
        before = notices_now(settings, name)
        target = submit(copy, inbox or settings.paths.resolved("inbox"),
                        time_zone=settings.school.time_zone,
                        max_text_bytes=settings.intake.max_text_bytes,
                        max_media_bytes=settings.intake.max_media_bytes,
                        max_video_bytes=settings.intake.max_video_bytes)
    print(f"Handed in: {target}")
    rejected = settings.paths.resolved("rejected")
    where = (f"{accepted_folder(settings) / (name + '.accepted.txt')} or "
             f"{rejected / (name + '.rejected.txt')}")
    if not waits:
        print(f"Steward's answer will appear in {where}.")
        return EXIT_OK
    print(f"Waiting up to {wait_seconds:g} seconds for Steward's answer...")
    verdict = wait_for_verdict(settings, name, before, wait_seconds)
    if verdict is None:
        print(f"Steward has not answered within {wait_seconds:g} seconds: the daemon may not be "
              "running (`steward status` says; if it is not, ask IT). The post is in the "
              f"inbox, and the answer will appear in {where}.")
        return EXIT_NO_ANSWER
    if verdict.kind == "accepted":
        clear_refused_beside(draft)
        print(verdict.text.rstrip())
        return EXIT_OK
    print(verdict.text.rstrip())
    try:
        written = write_refused_beside(draft, verdict.text)
    except NotWritten as why:
        print(f"No REFUSED.txt was written beside the post: {why}. The reasons are above, and "
              f"in {verdict.path}.")
    else:
        print(f"The reasons are also in {written}.")
    return EXIT_REFUSED


def when_and_where(publish_at, platforms: Sequence[str], settings: StewardSettings) -> str:
    """'It will go out on Monday 23 November 2026 at 09:00 GMT (school time) on x, facebook.'"""
    where = ", ".join(platforms) or "no platform"
    if publish_at is None:
        return f"It will go out as soon as Steward accepts it, on {where}."
    local = publish_at.astimezone(ZoneInfo(settings.school.time_zone))
    return f"It will go out on {local:%A %d %B %Y at %H:%M %Z} (school time) on {where}."



def hand_in_request(kind: str, target: str, settings: StewardSettings, *,
                    keys: Sequence[ApprovalKey], inbox: Path | None, wait_seconds: float,
                    waits: bool = True) -> int:
    """Write a signed request (`cancel = "ID"` or `unpublish = "ID"`), hand it in the way a
    post is, and await the daemon's answer; return the exit code (0 done, 1 refused, 3 no
    answer in time)."""
    from daemon.posts.approval import verify_approvals  # noqa: PLC0415

    name = f"{kind}-{_safe(target)}"
    with tempfile.TemporaryDirectory(prefix="steward-request-") as private:
        folder = Path(private) / name
        folder.mkdir()
        (folder / "post.md").write_text(f"+++\n{kind} = {_toml_string(target)}\n+++\n",
                                        encoding="utf-8")
        for key in keys:
            submission = read_submission(folder, settings.school.time_zone,
                                         settings.intake.max_text_bytes, name=name,
                                         max_media_bytes=settings.intake.max_media_bytes,
                                         max_video_bytes=settings.intake.max_video_bytes)
            sign_submission(submission, key, settings.intake.max_media_bytes)
        submission = read_submission(folder, settings.school.time_zone,
                                     settings.intake.max_text_bytes, name=name,
                                     max_media_bytes=settings.intake.max_media_bytes,
                                     max_video_bytes=settings.intake.max_video_bytes)
        if submission.problems:
            print(f"Cannot ask to {kind} '{target}':")
            for problem in submission.problems:
                print(f"- {problem.problem}\n  What to do: {problem.fix}")
            return EXIT_REFUSED
        evidence = verify_approvals(submission, {signer.name: signer.public_key
                                                 for signer in settings.approval.signers})
        need = 1 if kind == "cancel" else settings.approval.approvals_required
        if len(evidence.valid_signers) < need:
            print(f"Cannot ask to {kind} '{target}': it needs {need} signature(s) of configured "
                  f"SLT signers and has {len(evidence.valid_signers)}"
                  + "".join(f"\n- {note}" for note in evidence.ignored + evidence.problems))
            return EXIT_REFUSED
        before = notices_now(settings, name)
        handed = submit(folder, inbox or settings.paths.resolved("inbox"),
                        time_zone=settings.school.time_zone,
                        max_text_bytes=settings.intake.max_text_bytes,
                        max_media_bytes=settings.intake.max_media_bytes,
                        max_video_bytes=settings.intake.max_video_bytes)
    print(f"Asked Steward to {kind} '{target}' ({handed}).")
    where = (f"{accepted_folder(settings) / (name + '.accepted.txt')} or "
             f"{settings.paths.resolved('rejected') / (name + '.rejected.txt')}")
    if not waits:
        print(f"Steward's answer will appear in {where}.")
        return EXIT_OK
    verdict = wait_for_verdict(settings, name, before, wait_seconds)
    if verdict is None:
        print(f"Steward has not answered within {wait_seconds:g} seconds: the daemon may not be "
              f"running (`steward status` says; if it is not, ask IT). The answer will appear "
              f"in {where}.")
        return EXIT_NO_ANSWER
    print(verdict.text.rstrip())
    return EXIT_OK if verdict.kind == "accepted" else EXIT_REFUSED


def would_unpublish(target: str, settings: StewardSettings) -> int:
    """`unpublish --dry-run`: what would be deleted, from the receipts in the archive (which
    the SLT may read); nothing is changed and nothing is handed in."""
    archive = settings.paths.resolved("archive")
    try:
        receipts = sorted(archive.glob("*.receipt.txt"))
    except OSError:
        receipts = []
    for receipt in receipts:
        try:
            lines = receipt.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        if not lines or not (lines[0].endswith(f"({target})") or
                             lines[0].startswith(f"Receipt for '{target}' (")):
            continue
        published = [line.split(": published ", 1) for line in lines
                     if ": published " in line]
        print(f"Dry run: nothing is changed. {lines[0]}:")
        for platform, url in published:
            print(f"  would delete on {platform}: {url}")
        if not published:
            print("  it is on no platform: nothing would be deleted")
        print(f"To delete it: steward unpublish {target} --sign ~/YOUR.key"
              + (" --sign ~/SECOND.key" if settings.approval.approvals_required > 1 else ""))
        return EXIT_OK
    print(f"Dry run: no receipt of a published post '{target}' in {archive}, so nothing would "
          "be deleted. Use the ID or the name from the receipt (NAME.receipt.txt).")
    return EXIT_REFUSED


def _safe(text: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_"
                   for ch in text)[:80] or "post"


def _toml_string(text: str) -> str:
    import json  # noqa: PLC0415 - a JSON string is a valid TOML basic string

    return json.dumps(text, ensure_ascii=True)
