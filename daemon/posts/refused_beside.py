"""Copy a refusal into the submitter's own folder (`REFUSED.txt`), without being redirected.

`steward submit` runs as the SLT member, who may be handing in a draft from a folder others
can write in (a shared drafts folder, mode 2775, where a teacher writes drafts for the SLT).
Someone who may write there could put a symbolic link where the file is about to be written
and have the SLT member's own process overwrite whatever the link points at (their approval
key, say). So the folder is opened once without following a link, and the file is written
only when that folder is the submitter's own and nobody else may write in it; it is made under
a new random name (O_CREAT|O_EXCL|O_NOFOLLOW) relative to the opened folder and renamed over
REFUSED.txt there, which replaces a link rather than writing through it. Otherwise nothing is
written, and the caller says why (the reasons are printed and stay in the rejected folder).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

REFUSED_FILE = "REFUSED.txt"  # the answer, copied beside the submitter's draft
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class NotWritten(Exception):
    """No REFUSED.txt was written beside the draft; the message says why, in plain words."""


def refused_place(draft: Path) -> tuple[Path, str]:
    """The folder and the file name: `REFUSED.txt` inside a folder post, `NAME.REFUSED.txt`
    beside a single-file one."""
    if draft.is_dir() and not draft.is_symlink():
        return draft, REFUSED_FILE
    return draft.parent, f"{draft.name}.{REFUSED_FILE}"


def _own_group_only(gid: int, uid: int) -> bool:
    """Whether the group `gid` is the user's own private group (their name, no other members),
    as Debian and Ubuntu give every user: then group-writable is still theirs alone."""
    try:
        group = grp.getgrgid(gid)
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        return False
    return group.gr_name == user and set(group.gr_mem) <= {user}


def unsafe_reasons(info: os.stat_result, folder: Path) -> list[str]:
    """Why a file written in the folder described by `info` could be redirected by somebody
    else: it is not the submitter's (os.geteuid()), or others may write in it."""
    me = os.geteuid()
    mode = stat.S_IMODE(info.st_mode)
    reasons = []
    if info.st_uid != me:
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = f"user {info.st_uid}"
        reasons.append(f"the folder {folder} belongs to {owner}, not to you")
    if mode & stat.S_IWOTH:
        reasons.append(f"everyone may write in {folder} (mode {mode:04o})")
    elif mode & stat.S_IWGRP and not _own_group_only(info.st_gid, me):
        try:
            group = grp.getgrgid(info.st_gid).gr_name
        except KeyError:
            group = str(info.st_gid)
        reasons.append(f"the group {group} may write in {folder} (mode {mode:04o})")
    return reasons


@contextlib.contextmanager
def _opened_own_folder(folder: Path) -> Iterator[int]:
    """The folder, opened without following a link; NotWritten unless it is safe to write in."""
    try:
        descriptor = os.open(folder, _FOLDER_FLAGS)
    except OSError as error:
        raise NotWritten(f"the folder {folder} could not be opened "
                         f"({error.strerror or error})") from None
    try:
        reasons = unsafe_reasons(os.fstat(descriptor), folder)
        if reasons:
            raise NotWritten("; ".join(reasons) + ", so a file written there could be "
                             "redirected by someone else")
        yield descriptor
    finally:
        os.close(descriptor)


def write_refused_beside(draft: Path, text: str) -> Path:
    """Write `text` to REFUSED.txt beside `draft`, as the submitter; return its path. Raise
    NotWritten when the folder is not theirs alone or the file cannot be written."""
    folder, name = refused_place(Path(draft))
    with _opened_own_folder(folder) as descriptor:
        temporary = f".{name}.{secrets.token_hex(8)}.partial"
        try:
            handle = os.open(temporary, _NEW_FILE_FLAGS, 0o666, dir_fd=descriptor)
        except OSError as error:
            raise NotWritten(f"{folder / name} could not be written "
                             f"({error.strerror or error})") from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as written:
                written.write(text)
            os.replace(temporary, name, src_dir_fd=descriptor, dst_dir_fd=descriptor)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=descriptor)
            raise NotWritten(f"{folder / name} could not be written "
                             f"({error.strerror or error})") from None
    return folder / name


def clear_refused_beside(draft: Path) -> None:
    """Remove an earlier REFUSED.txt once the post is accepted (the link itself, if it is one,
    never what it points at); nothing is done in a folder that is not the submitter's alone."""
    folder, name = refused_place(Path(draft))
    with contextlib.suppress(NotWritten, OSError), _opened_own_folder(folder) as descriptor:
        os.unlink(name, dir_fd=descriptor)
