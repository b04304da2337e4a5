"""Back up the state directory, and restore it onto a new machine.

A backup is one gzipped tar file of everything Steward keeps: the database (copied with SQLite's
online backup, so it is consistent even while the daemon runs), the audit log and its archive,
Steward's signing key, the vault, the escrow bundle, evidence, the accepted posts in the queue,
the roster and the consent register, the school's moderation model. Lines the daemon is still
writing at the end of the live audit log are left out whole (a restored log ends on a complete
line); when the caller seals the log first (`steward backup create` records `state.backed_up`
and signs a checkpoint just after copying the database), the copy ends at that checkpoint, so
a restored log verifies as a closed log, and what the daemon wrote after it is left for the
next backup. What is not in it, on purpose: the vault's master key. It lives outside the state
directory (the systemd credential is bound to this machine); on a new machine the vault opens
only with the same key, so keep a copy of it offline, or set the secrets again from the escrow
bundle (docs/administrator.md, "Backup and restore").

Restoring refuses a state directory that already holds a database, and every member of the
archive is checked before anything is written: plain files and folders, with relative names
inside the state directory only. Each is restored with the mode it was backed up with, never
wider than the service's own (see `restored_mode`).
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO

from daemon.runtime.store import Store

DATABASE = "steward.sqlite3"
KEPT = ("audit.jsonl", "audit-archive", "audit-tampered", "audit-signing.key", "vault.json",
        "escrow.age", "escrow.age.sig", "escrow.manifest.json", "escrow.manifest.json.sig",
        "evidence", "queue", "roster.csv", "consent.csv", "moderation", "outbox")
PRIVATE = ("audit-signing.key", "vault.json")  # readable by the service's user only
LEFT_OUT = ("daemon.pid", "sandbox.url", "claims", "master.key", "master.key.next")


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why."""


CHECKPOINT_LINE = b'"event":"audit.checkpoint"'  # daemon.audit.chain.CHECKPOINT_EVENT's line


def create_backup(state_dir: Path, output: IO[bytes],
                  seal: Callable[[], bool] | None = None) -> list[str]:
    """Write the backup of `state_dir` to `output`; return the names it holds. `seal`, called
    after the database is copied, signs a checkpoint at the end of the audit log (True if it
    did): the log's copy then ends there."""
    state_dir = Path(state_dir)
    if not (state_dir / DATABASE).is_file():
        raise BackupError(f"{state_dir} holds no Steward database: nothing to back up")
    names: list[str] = []
    with tarfile.open(fileobj=output, mode="w|gz") as archive, \
            tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / DATABASE
        store = Store(state_dir / DATABASE)
        try:
            store.copy_to(copy)
        finally:
            store.close()
        archive.add(copy, arcname=DATABASE)
        names.append(DATABASE)
        sealed = seal() if seal is not None else False
        for name in KEPT:
            path = state_dir / name
            if name == "audit.jsonl" and path.is_file():
                data = _up_to_the_last_checkpoint(path) if sealed else _whole_lines(path)
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o640, int(path.stat().st_mtime)
                archive.addfile(info, io.BytesIO(data))
                names.append(name)
            elif path.exists() and not path.is_symlink():
                archive.add(path, arcname=name, filter=_plain_members_only)
                names.append(name)
    return names


def _whole_lines(path: Path) -> bytes:
    """The live audit log up to its last complete line."""
    data = path.read_bytes()
    return data[:data.rfind(b"\n") + 1]


def _up_to_the_last_checkpoint(path: Path) -> bytes:
    """The live audit log up to and including its last signed checkpoint line."""
    data = _whole_lines(path)
    end = len(data)
    while end > 0:
        start = data.rfind(b"\n", 0, end - 1) + 1
        if CHECKPOINT_LINE in data[start:end]:
            return data[:end]
        end = start
    return data


def _plain_members_only(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return member if member.isfile() or member.isdir() else None


def restore_backup(source: IO[bytes], state_dir: Path) -> list[str]:
    """Restore a backup into `state_dir`, which must hold no database yet; return the names.
    Raise BackupError, before writing anything, for a member that is not a plain file or
    folder inside the state directory."""
    state_dir = Path(state_dir)
    if (state_dir / DATABASE).exists():
        raise BackupError(f"{state_dir} already holds a Steward database: restore into an "
                          "empty state directory (move this one aside first)")
    try:
        with tarfile.open(fileobj=_seekable(source), mode="r:gz") as archive:
            members = archive.getmembers()
            for member in members:
                _check_member(member)
            if DATABASE not in {member.name for member in members}:
                raise BackupError("this is not a Steward backup: it holds no database")
            state_dir.mkdir(parents=True, exist_ok=True)
            folders: list[tuple[Path, int]] = []
            for member in members:
                target = state_dir / member.name
                if member.isdir():
                    target.mkdir(mode=0o700, parents=True, exist_ok=True)
                    folders.append((target, restored_mode(member)))
                    continue
                target.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
                extracted = archive.extractfile(member)
                if extracted is None:
                    continue
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                     0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    while chunk := extracted.read(1 << 20):
                        handle.write(chunk)
                    os.fchmod(handle.fileno(), restored_mode(member))
            # Folders last, deepest first, as tar does: a folder the backup keeps read-only
            # to its owner must not stop what goes inside it being written.
            for folder, mode in reversed(folders):
                os.chmod(folder, mode)
            return [member.name for member in members]
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(f"the backup cannot be read: {error}") from None


def restored_mode(member: tarfile.TarInfo) -> int:
    """The mode a member is restored with: the one it had when backed up, but never more
    than the service gives (folders 0750, files 0640: owner and group `steward`, nobody
    else), and the signing key and the vault never beyond their owner. So a folder the
    daemon keeps to itself (the mail outbox and its cur/new/tmp, 0700) stays its own, and an
    archive cannot make anything readable by everyone."""
    if member.isdir():
        return member.mode & 0o750
    if member.name in PRIVATE:
        return member.mode & 0o600
    return member.mode & 0o640


def _seekable(source: IO[bytes]) -> IO[bytes]:
    """`source`, or a private copy of it when it is a pipe (`sudo cat FILE | steward backup
    restore -`): every member is checked before anything is written, which reads it twice."""
    try:
        if source.seekable():
            return source
    except (AttributeError, OSError):
        pass
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the archive's reader
    while chunk := source.read(1 << 20):
        copy.write(chunk)
    copy.seek(0)
    return copy


def _check_member(member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise BackupError(f"the backup holds a name outside the state directory: {member.name!r}")
    if not (member.isfile() or member.isdir()):
        raise BackupError(f"the backup holds something that is not a plain file: {member.name!r}")
    if name.parts[0] not in (DATABASE, *KEPT):
        raise BackupError(f"the backup holds {member.name!r}, which is not part of Steward's "
                          "state")
