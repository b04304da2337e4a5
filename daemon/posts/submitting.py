"""Put a submission into the inbox atomically, the way `steward submit` does (Maildir style).

The submission is copied to a hidden temporary name inside the inbox, optionally signed there,
synced to disk, and renamed to its final name, so the intake sees it appear complete in one
event and never reads a half-copied post.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from daemon.posts.approval import sign_submission
from daemon.posts.reading import DEFAULT_MAX_VIDEO_BYTES, read_submission
from daemon.runtime.keys import ApprovalKey


class SubmitError(Exception):
    """The submission cannot be placed in the inbox; the message says why."""


def _fsync_tree(path: Path) -> None:
    targets = [path] if path.is_file() else [Path(root, name) for root, _, files in os.walk(path)
                                             for name in files] + [path]
    for target in targets:
        descriptor = os.open(target, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _share_with_steward(path: Path) -> None:
    """Let the inbox's group (steward-slt, which the service is in) read the copy and then
    remove it, whatever the submitter's umask: a draft saved with umask 077 (0600 files) would
    otherwise be a post the service may not read, and a folder saved with umask 022 (0755) one
    whose files it may not delete, left in the inbox for every SLT member to read. So folders
    get g+rwx and files g+r; no file is made writable by anyone else (what is signed cannot
    be changed unnoticed anyway, and the inbox is the group's to rename in already)."""
    entries = [path] if not path.is_dir() else [path] + [
        Path(root, name) for root, folders, files in os.walk(path) for name in folders + files]
    for entry in entries:
        mode = os.lstat(entry).st_mode
        if stat.S_ISLNK(mode):
            continue  # the intake refuses links; do not follow one to change its target
        wanted = stat.S_IRWXG if stat.S_ISDIR(mode) else stat.S_IRGRP
        if stat.S_IMODE(mode) & wanted != wanted:
            os.chmod(entry, stat.S_IMODE(mode) | wanted)


def submit(source: Path, inbox: Path, *, keys: Sequence[ApprovalKey] = (), time_zone: str,
           max_text_bytes: int, max_media_bytes: int,
           max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES) -> Path:
    """Copy `source` (folder or file) into `inbox`, sign the copy with `keys`, rename it in.

    Return the final path. Raise SubmitError for a missing source, a link, or a name taken.
    """
    source = Path(source)
    if source.is_symlink() or not source.exists():
        raise SubmitError(f"{source}: not found (or a symbolic link)")
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / source.name
    if os.path.lexists(target):
        raise SubmitError(f"{target} already exists in the inbox; rename the post or wait until "
                          "Steward has taken the other one")
    staging = inbox / f".tmp-{secrets.token_hex(6)}-{source.name}"
    try:
        if source.is_dir():
            shutil.copytree(source, staging, symlinks=True)
        else:
            shutil.copy2(source, staging)
        for key in keys:
            submission = read_submission(staging, time_zone, max_text_bytes, name=source.name,
                                         max_media_bytes=max_media_bytes,
                                         max_video_bytes=max_video_bytes)
            try:
                sign_submission(submission, key, max_media_bytes)
            except ValueError as error:
                raise SubmitError(f"{source}: cannot be signed: {error}") from None
        _share_with_steward(staging)
        _fsync_tree(staging)
        os.rename(staging, target)
    except BaseException:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        elif staging.exists():
            staging.unlink()
        raise
    return target
