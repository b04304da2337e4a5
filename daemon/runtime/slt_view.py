"""The SLT view of the settings: what `steward check`, `sign`, `submit` and `status` need,
written by the daemon where the SLT can read it, so that they never need the daemon's own
configuration (secrets), roster or state (issue 18).

The daemon writes it at every start and whenever it takes a new configuration, to
`<parent of the inbox>/slt-settings.toml` (/srv/steward/slt-settings.toml in the documented
layout), atomically, mode 0644, in the group of that folder. It is a valid Steward
configuration (the same schema, loaded by the same code) holding only: the school's name and
time zone, the inbox, rejected and archive folders, the signers' names and public keys and
how many approvals a post needs, the schedule and text limits, the platforms enabled, the
rules' settings and the school's clause catalogue. No secret, no roster, no consent register,
no state directory, no mail addresses.

While the daemon runs it holds an exclusive lock on the file it wrote, so an SLT member's
`steward status` can tell whether it is running (a shared lock is refused) without reading
anything of the state.
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import tomlkit

from config.schools import SchoolInstance
from config.settings import StewardSettings
from daemon.runtime.running import held_by_another

VIEW_NAME = "slt-settings.toml"
DEFAULT_VIEW = Path("/srv/steward") / VIEW_NAME
VIEW_ENVIRONMENT = "STEWARD_SLT_SETTINGS"  # where SLT commands look for it instead
HEADER = "# Steward's settings for SLT members (written by the daemon; do not edit)."
WRITTEN_PREFIX = "# written "

# The sections, and the keys of each, that SLT commands need; nothing else is copied.
SLT_KEYS: dict[str, tuple[str, ...]] = {
    "school": ("name", "time_zone"),
    "intake": ("max_media_bytes", "max_video_bytes", "max_text_bytes"),
    "publishing": ("grace_minutes",),
    "pupils": ("words_between", "allow_first_name_and_initial", "allow_first_names"),
    "consent": ("require_pictured",),
    "faces": ("policy", "max_megapixels", "max_video_seconds"),
    "personal_data": ("school_contact_details",),
    "links": ("allow_domains", "deny_domains", "extra_shorteners"),
    "x": ("enabled",),
    "facebook": ("enabled",),
}


def view_path(settings: StewardSettings) -> Path:
    """Where the daemon writes the SLT view: beside the inbox."""
    return settings.paths.resolved("inbox").absolute().parent / VIEW_NAME


def default_view_path() -> Path:
    """Where SLT commands read it: $STEWARD_SLT_SETTINGS, else /srv/steward/slt-settings.toml
    (/srv/steward/NAME/slt-settings.toml for the school selected with `steward --school`)."""
    given = os.environ.get(VIEW_ENVIRONMENT)
    if given:
        return Path(given)
    return SchoolInstance.selected().drop_root / VIEW_NAME


def is_view(path: Path) -> bool:
    """Whether the file at `path` is an SLT view (its first line says so)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().rstrip("\n") == HEADER
    except (OSError, UnicodeDecodeError):
        return False


def render_view(settings: StewardSettings, written: datetime) -> str:
    """The SLT view of `settings` as TOML (a Steward configuration of its own)."""
    document = tomlkit.document()
    document.add(tomlkit.comment(HEADER.removeprefix("# ")))
    document.add(tomlkit.comment(f"{WRITTEN_PREFIX.removeprefix('# ')}"
                                 f"{written.isoformat(timespec='seconds')}"))
    for section, keys in SLT_KEYS.items():
        values = getattr(settings, section)
        table = tomlkit.table()
        for key in keys:
            table.add(key, _plain(getattr(values, key)))
        document.add(section, table)
    paths = tomlkit.table()
    for name in ("inbox", "rejected", "archive"):
        paths.add(name, str(settings.paths.resolved(name).absolute()))
    document.add("paths", paths)
    approval = tomlkit.table()
    approval.add("approvals_required", settings.approval.approvals_required)
    signers = tomlkit.aot()
    for signer in settings.approval.signers:
        signers.append({"name": signer.name, "public_key": signer.public_key})
    approval.add("signers", signers)
    document.add("approval", approval)
    policy = tomlkit.table()
    clauses = tomlkit.aot()
    for clause in settings.policy.clauses:
        clauses.append({"id": clause.id, "title": clause.title, "text": clause.text,
                        "source": clause.source})
    policy.add("clauses", clauses)
    rules = tomlkit.table()
    for rule, clause_id in settings.policy.rules.items():
        rules.add(rule, clause_id)
    policy.add("rules", rules)
    document.add("policy", policy)
    return tomlkit.dumps(document)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class ViewWriter:
    """Writes the SLT view and holds its lock while the daemon runs."""

    def __init__(self) -> None:
        self._descriptor: int | None = None

    def write(self, settings: StewardSettings, written: datetime) -> Path:
        """Write the view atomically (a temporary file renamed over it), readable by all
        (0644) and in its folder's group, then lock it; return where it went. OSError if
        the folder cannot be written."""
        path = view_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.partial")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                             0o644)
        try:
            os.fchmod(descriptor, 0o644)
            try:
                os.fchown(descriptor, -1, path.parent.stat().st_gid)
            except PermissionError:
                pass  # not a member of the folder's group: the file stays in the daemon's
            os.write(descriptor, render_view(settings, written).encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
        self._lock(path)
        return path

    def _lock(self, path: Path) -> None:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another daemon writes the same view: it keeps its lock
            os.close(descriptor)
            return
        self.release()
        self._descriptor = descriptor

    def release(self) -> None:
        """Drop the lock (the daemon stops): SLT see that it is not running."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def daemon_holds(path: Path) -> bool | None:
    """Whether a running daemon holds the view at `path` (None: it cannot be told)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return held_by_another(descriptor)
    finally:
        os.close(descriptor)


def written_at(path: Path) -> str | None:
    """When the daemon wrote the view (its second line), or None."""
    try:
        with open(path, encoding="utf-8") as handle:
            handle.readline()
            line = handle.readline().rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    return line.removeprefix(WRITTEN_PREFIX) if line.startswith(WRITTEN_PREFIX) else None
