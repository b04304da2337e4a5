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
from daemon.posts.submitting import SubmitError, submit
from daemon.posts.verdicts import (
    clear_refused_beside,
    notices_now,
    wait_for_verdict,
    write_refused_beside,
)
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
                                         max_media_bytes=settings.intake.max_media_bytes)
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
                        max_media_bytes=settings.intake.max_media_bytes)
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
        written = write_refused_beside(draft, verdict)
    except OSError as error:
        print(f"(The reasons could not be written beside the post: {error.strerror}.)")
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

