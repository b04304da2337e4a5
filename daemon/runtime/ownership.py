"""Only the service's own user writes its state directory.

Root can write anywhere, so a command run as root in /var/lib/steward (a credential set, a
handover confirmed, the audit anchor reset) used to leave files owned by root that the service
then could not open, and it stopped, in a restart loop. Every writer of the state checks first,
and root is told to run the command as the service runs (`sudo steward admin COMMAND ...`).
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path


class WrongUser(Exception):
    """Refused: the state directory belongs to another user; the message says what to do."""


def refuse_to_write_as_another_user(state_dir: Path) -> None:
    """Raise WrongUser if root is about to write a state directory another user owns. (Anyone
    else writing someone else's folder is stopped by the system's permissions already.)"""
    if os.geteuid() != 0:
        return
    try:
        owner = os.stat(state_dir).st_uid
    except FileNotFoundError:
        return
    if owner == 0:
        return
    try:
        name = pwd.getpwuid(owner).pw_name
    except KeyError:
        name = f"user {owner}"
    raise WrongUser(f"{state_dir} belongs to {name}, and this command runs as root: files it "
                    f"wrote there would belong to root, and Steward (which runs as {name}) could "
                    "not open them. Run it as the service runs: `sudo steward admin COMMAND ...`")
