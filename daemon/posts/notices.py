"""The daemon's answers to SLT members, as files they can read without access to its state.

Every post handed in gets one answer, in a folder of the SLT's group beside the inbox:
- refused: `<rejected>/NAME.rejected.txt` (with Steward's copy of the post beside it);
- accepted: `<parent of the inbox>/accepted/NAME.accepted.txt`, giving the post's id and when
  and where it will go out (a re-submission under the same name replaces it);
- held: `<rejected>/NAME.held.txt`; published: `<archive>/NAME.receipt.txt`.

`steward submit` waits for the first two (daemon.posts.verdicts), `steward status` lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from config.settings import StewardSettings

ACCEPTED_FOLDER = "accepted"
ACCEPTED_SUFFIX = ".accepted.txt"
REJECTED_SUFFIX = ".rejected.txt"
HELD_SUFFIX = ".held.txt"
RECEIPT_SUFFIX = ".receipt.txt"
CANCELLED_SUFFIX = ".cancelled.txt"


def accepted_folder(settings: StewardSettings) -> Path:
    """Where acceptance notices go: `accepted/` beside the inbox."""
    return settings.paths.resolved("inbox").absolute().parent / ACCEPTED_FOLDER


def prepare_accepted_folder(settings: StewardSettings) -> Path:
    """Make the acceptance folder (2750, in the group of the inbox's parent: steward-slt in the
    documented layout) if it is not there; return it."""
    folder = accepted_folder(settings)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.chown(folder, -1, folder.parent.stat().st_gid)
        except PermissionError:
            pass  # not a member of that group: the folder keeps the daemon's own
        os.chmod(folder, 0o2750)  # noqa: S103 - the group is the SLT, who read the answers
    return folder


def share(path: Path) -> None:
    """Make a notice readable by its folder's group (0640): the SLT, not everyone."""
    try:
        os.chown(path, -1, path.parent.stat().st_gid)
    except PermissionError:
        pass
    os.chmod(path, 0o640)


@dataclass(frozen=True)
class Answer:
    """One answer the daemon left: which post, what it says, when it was written."""

    kind: str  # "accepted", "refused", "held", "published", "cancelled"
    name: str
    path: Path
    written: datetime
    first_line: str


KINDS = ((ACCEPTED_SUFFIX, "accepted"), (REJECTED_SUFFIX, "refused"), (HELD_SUFFIX, "held"),
         (RECEIPT_SUFFIX, "published"), (CANCELLED_SUFFIX, "cancelled"))


def recent_answers(settings: StewardSettings, count: int = 15) -> list[Answer]:
    """The latest answers in the folders this user can read, newest first."""
    folders = {accepted_folder(settings), settings.paths.resolved("rejected"),
               settings.paths.resolved("archive")}
    found: list[Answer] = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            kind = next((label for suffix, label in KINDS if entry.name.endswith(suffix)), None)
            if kind is None or entry.name.startswith(".") or not entry.is_file():
                continue
            try:
                written = datetime.fromtimestamp(entry.stat().st_mtime).astimezone()
                with open(entry.path, encoding="utf-8", errors="replace") as handle:
                    first = handle.readline().strip()
            except OSError:
                continue
            name = entry.name.removesuffix(next(s for s, label in KINDS if label == kind))
            found.append(Answer(kind, name, Path(entry.path), written, first))
    found.sort(key=lambda answer: answer.written, reverse=True)
    return found[:count]


def write_answer(settings: StewardSettings, name: str, text: str) -> Path:
    """Leave `accepted/NAME.accepted.txt` saying `text` (the answer to a request)."""
    from daemon.posts.publishing import write_notice  # noqa: PLC0415

    path = prepare_accepted_folder(settings) / f"{name}{ACCEPTED_SUFFIX}"
    write_notice(path, text)
    share(path)
    return path


def write_accepted(settings: StewardSettings, name: str, submission_id: str,
                   publish_at: datetime, platforms: list[str], signers: list[str],
                   replaced: list[str] | None = None) -> Path:
    """Leave `accepted/NAME.accepted.txt` for the SLT: the post's id, and when (school time)
    and where it will go out. A later acceptance under the same name replaces it."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.posts.publishing import write_notice  # noqa: PLC0415
    from policies.displayed_text import visible  # noqa: PLC0415

    folder = prepare_accepted_folder(settings)
    local = publish_at.astimezone(ZoneInfo(settings.school.time_zone))
    text = (f"Steward accepted '{visible(name)}'.\n\n"
            f"ID: {submission_id}\n"
            f"When: {local:%A %d %B %Y at %H:%M %Z} (school time)\n"
            f"Where: {', '.join(platforms)}\n"
            f"Approved by: {', '.join(visible(signer) for signer in signers)}\n"
            + "".join(f"It replaces the earlier post of that name, {earlier}, which is "
                      "cancelled.\n" for earlier in replaced or ()) + "\n"
            "To stop it before it goes out: steward cancel "
            f"{submission_id} --sign ~/YOUR.key\n"
            "To change it: edit the post, sign it again and submit it under the same name; "
            "the new one replaces this one once it is accepted.\n")
    path = folder / f"{name}{ACCEPTED_SUFFIX}"
    write_notice(path, text)
    share(path)
    return path
