"""`steward audit retire`: move the oldest archived audit files off the machine, on the record.

A school keeps its records for as long as its retention policy says, and a state directory
cannot grow for ever. But a log whose first files are simply deleted cannot be told apart from
one whose beginning was removed to hide something, so Steward refuses to start on it. Retiring
does it openly: the whole log is verified first; the oldest archived files (every event before
a date) are copied to a folder the administrator names (a backup disk, an auditor's share) and
each copy is read back and compared by SHA-256; then an `audit.retired` event naming the files,
their hashes, the last retired event number and the chain head there is appended and signed at
once with a checkpoint; only then are the originals removed. Verification accepts a log that
begins later only when such a signed event names exactly where it begins.

A crash at any point leaves either the originals (retire again) or the copies and the signed
record: nothing is lost, and the log verifies in every case.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from daemon.audit.chain import ARCHIVE_FOLDER, RETIRED_EVENT, AuditLog, fsync_directory, split_line


class RetirementError(Exception):
    """Nothing was retired; the message says why, for the administrator."""


@dataclass
class Retirement:
    """What was (or, in a dry run, would be) retired."""

    files: list[dict] = field(default_factory=list)
    up_to_seq: int | None = None
    head: str | None = None
    destination: Path | None = None


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _last_event(path: Path) -> tuple[dict, str]:
    """The last event of a sealed archive file and its hash."""
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - 65536))
        tail = handle.read().decode("utf-8", errors="replace").rstrip("\n").split("\n")[-1]
    parts = split_line(tail)
    if parts is None:
        raise RetirementError(f"{path.name} does not end in a complete audit line")
    return json.loads(parts[0]), parts[1]


def choose(state_dir: Path, before: date) -> list[Path]:
    """The oldest archived files whose every event is older than `before` (UTC), oldest
    first, stopping at the first that is not: the live file is never retired."""
    archive = Path(state_dir) / ARCHIVE_FOLDER
    chosen = []
    for path in sorted(archive.glob("audit-*.jsonl")) if archive.is_dir() else []:
        last, _ = _last_event(path)
        if str(last.get("timestamp", ""))[:10] >= before.isoformat():
            break
        chosen.append(path)
    return chosen


def _copy_and_check(source: Path, destination: Path) -> str:
    """Copy, sync, read the copy back; return the SHA-256 both share."""
    expected = _sha256(source)
    target = destination / source.name
    if target.exists() and _sha256(target) == expected:
        return expected  # an earlier, interrupted retire already copied it
    if target.exists():
        raise RetirementError(f"{target} already exists and differs from {source.name}: "
                              "choose another folder")
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    if _sha256(target) != expected:
        raise RetirementError(f"the copy of {source.name} in {destination} does not match the "
                              "original (a faulty disk?): nothing was removed")
    return expected


def retire(state_dir: Path, before: date, destination: Path, audit: AuditLog,
           public_key: str, *, dry_run: bool = False) -> Retirement:
    """Retire every archived file older than `before` to `destination` (see the module's
    docstring for the order of steps). Raise RetirementError, having removed nothing, when the
    log does not verify, the copies cannot be made, or the destination is inside the state
    directory."""
    from daemon.audit.verification import verify_chain  # noqa: PLC0415

    if not audit.can_sign:
        raise RetirementError("cannot read Steward's audit signing key, so the record of what "
                              "was retired could not be signed: run this as the user Steward "
                              "runs as (e.g. sudo -u steward)")
    state_dir, destination = Path(state_dir).resolve(), Path(destination).resolve()
    if destination == state_dir or state_dir in destination.parents:
        raise RetirementError(f"{destination} is inside the state directory: retire to another "
                              "disk or share, so the files leave this machine's log")
    report = verify_chain([state_dir], [public_key], open_tail=True, unsigned_ok=True)
    if report.problem is not None:
        raise RetirementError(f"the audit log does not verify ({report.problem.describe()}); "
                              "nothing was retired: keep every file as evidence")
    chosen = choose(state_dir, before)
    retirement = Retirement(destination=destination)
    if not chosen:
        return retirement
    last, head = _last_event(chosen[-1])
    retirement.up_to_seq, retirement.head = last["seq"], head
    for path in chosen:
        first_seq = int(path.name.split("-")[1])
        retirement.files.append({"name": path.name, "first_seq": first_seq,
                                 "last_seq": _last_event(path)[0]["seq"]})
    if dry_run:
        return retirement
    try:
        destination.mkdir(parents=True, exist_ok=True)
        for path, described in zip(chosen, retirement.files, strict=True):
            described["sha256"] = _copy_and_check(path, destination)
        fsync_directory(destination)
    except OSError as error:
        raise RetirementError(f"cannot copy to {destination} ({error.strerror or error}); "
                              "nothing was removed") from None
    audit.record(RETIRED_EVENT, files=retirement.files, up_to_seq=retirement.up_to_seq,
                 head=retirement.head, destination=str(destination), before=before.isoformat())
    audit.checkpoint("retire")  # the record must be signed before anything is removed
    audit.sync()
    for path in chosen:
        path.unlink()
    fsync_directory(state_dir / ARCHIVE_FOLDER)
    return retirement
