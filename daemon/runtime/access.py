"""Who may read and write the service's state, said plainly to someone who may not.

The designated safeguarding lead and the auditor run Steward's commands as their own Unix
users, in the group `steward`, which may read the state directory (the database, the audit
log, the evidence) but not write it (docs/safeguarding.md, "Who may run what"). A command that
only reads works for them; one that writes (`incidents close`) runs as the service, under
`sudo steward admin`. When a file cannot be read or written, these say which file, as which
user, why (its owner, group and mode), and what to do, instead of `Permission denied`.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

STATE_GROUP = "steward"  # the group that may read the service's state (the unit's Group=)


def current_user() -> str:
    """The name of the user this process runs as (its number, if it has no name)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"user {os.geteuid()}"


def person_behind_command() -> str:
    """Who ran this command, for the audit log: the person behind sudo (SUDO_USER, which sudo
    sets and `steward admin` passes on), not the service's user it runs as."""
    import getpass  # noqa: PLC0415

    return os.environ.get("SUDO_USER") or getpass.getuser()


def describe_owner(info: os.stat_result) -> tuple[str, str, str]:
    """(user, group, "user:group, mode 0640") of a file or folder."""
    try:
        user = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        user = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return user, group, f"{user}:{group}, mode {stat.S_IMODE(info.st_mode):04o}"


def blocking(path: Path) -> tuple[Path, os.stat_result | None]:
    """The first folder on the way to `path`, or `path` itself, that this user cannot get
    through or read, and what stat says of it (None if even that cannot be known)."""
    path = Path(path).absolute()
    for folder in [*reversed(path.parents), path]:
        try:
            info = folder.stat()
        except FileNotFoundError:
            break
        except OSError:
            continue
        if not os.access(folder, os.R_OK if folder == path else os.X_OK):
            return folder, info
    try:
        return path, path.stat()
    except OSError:
        return path, None


def cannot_read(path: Path, what: str) -> str:
    """Why this user cannot read `path` (`what` it is, e.g. "the incident log"), and the fix:
    joining the group that may read it, logging in again after joining, or (when not even
    that group may) having it made readable to the group `steward`."""
    user = current_user()
    where, info = blocking(path)
    folder = where != Path(path).absolute()
    because = f": the folder {where} is closed to it" if folder else ""
    if info is None:
        return f"{user} cannot read {what}, {path}{because}; ask the administrator why"
    _, group, owner = describe_owner(info)
    text = f"{user} cannot read {what}, {path}{because} ({owner}). "
    needed = stat.S_IXGRP if folder else stat.S_IRGRP
    if info.st_mode & needed:  # its group may: join the group (steward, in the layout)
        try:
            joined = user in grp.getgrnam(group).gr_mem
        except KeyError:
            joined = False
        if joined:  # in /etc/group, not yet in this login's groups
            return text + (f"{user} is in the group {group} now, but this login began before: "
                           "log out and in again")
        return text + (f"Ask the administrator to add {user} to the group {group}, which may "
                       f"read it: `sudo usermod -aG {group} {user}`, then log out "
                       "and in again (docs/safeguarding.md, \"Who may run what\")")
    return text + (f"It is not readable by the group {STATE_GROUP}, as Steward's state should "
                   f"be: ask the administrator to run `sudo chgrp {STATE_GROUP} {where} && "
                   f"sudo chmod g+{'x' if folder else 'r'} {where}` (docs/safeguarding.md, "
                   "\"Who may run what\")")


def may_write(state_dir: Path, *files: Path) -> bool:
    """Whether this user may change the state: write the folder (SQLite puts its journal
    beside the database) and each of `files` that exists."""
    if not os.access(state_dir, os.W_OK | os.X_OK):
        return False
    return all(os.access(path, os.W_OK) for path in files if path.exists())
