"""One installation, many schools: which school's instance a command or the daemon is for.

A trust runs one Steward program and one systemd instance per school (`steward@NAME.service`,
from the template unit `systemd/steward@.service`). `steward --school NAME ...`, or
STEWARD_SCHOOL=NAME, selects the instance, and every default below follows it: the
configuration, the state directory (the audit log, the vault, the database), the master key,
the audit public key, the SLT drop folders and the unit. Without a school nothing changes:
the single-school paths (/etc/steward/steward.toml, /var/lib/steward, /srv/steward).

The name comes from an administrator, but it becomes part of paths, a unit name and user
names, so it is held to what is safe in all of them: 1 to 19 lower-case letters, digits and
hyphens, starting with a letter and not ending with a hyphen (19, so that the school's SLT
group `steward-NAME-slt` stays within the 31 characters systemd allows a user or group name).
No slash, no dot, no space, no control character can reach a path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SCHOOL_ENVIRONMENT = "STEWARD_SCHOOL"
MAX_LENGTH = 19
_VALID = re.compile(r"[a-z](?:[a-z0-9-]{0,17}[a-z0-9])?")
CONFIG_ROOT = Path("/etc/steward")
STATE_ROOT = Path("/var/lib/steward")
DROP_ROOT = Path("/srv/steward")
UNIT_FOLDER = Path("/etc/systemd/system")
TEMPLATE_UNIT = "steward@.service"


class SchoolNameError(ValueError):
    """A school's name that cannot name an instance; the message says why, in words."""


def school_name_problem(text: str) -> str | None:
    """Why `text` cannot be a school's instance name, in a sentence; None when it can."""
    if _VALID.fullmatch(text):
        return None
    if not text:
        return "it is empty"
    if len(text) > MAX_LENGTH:
        return f"it is {len(text)} characters long, and at most {MAX_LENGTH} are allowed"
    bad = next((character for character in text if not (
        character.isascii() and (character.islower() or character.isdigit()
                                 or character == "-"))), None)
    if bad is not None:
        if not bad.isprintable():
            return f"it holds a control or invisible character (U+{ord(bad):04X})"
        if bad in "/\\":
            return "it holds a slash, and the name becomes part of folder names"
        if bad == ".":
            return "it holds a dot, and the name becomes part of folder names"
        if bad.isspace():
            return "it holds a space"
        if bad.isupper():
            return "it holds a capital letter (use lower case)"
        return f"it holds {bad!r}, which is not a lower-case letter, a digit or a hyphen"
    if not text[0].islower():
        return "it does not start with a letter"
    return "it ends with a hyphen"


def checked_school_name(text: str) -> str:
    """`text` when it can name a school's instance; SchoolNameError saying why not."""
    problem = school_name_problem(text)
    if problem is None:
        return text
    shown = text.encode("unicode_escape").decode("ascii").replace("'", "\\'")
    raise SchoolNameError(
        f"'{shown}' cannot be a school's name: {problem}. A school's name is 1 to "
        f"{MAX_LENGTH} lower-case letters, digits and hyphens, starting with a letter (e.g. "
        "oakfield or st-marys): it names the school's folders (/etc/steward/NAME, "
        "/var/lib/steward/NAME), its service (steward@NAME) and its users (steward-NAME)")


def selected_school() -> str | None:
    """The school chosen for this process (STEWARD_SCHOOL, which `steward --school` sets), or
    None for a single-school installation. SchoolNameError for a name that cannot be one."""
    text = os.environ.get(SCHOOL_ENVIRONMENT)
    if text is None or text == "":
        return None
    return checked_school_name(text)


@dataclass(frozen=True)
class SchoolInstance:
    """Where one school's instance keeps everything of its own (nothing is shared with another
    school's). `school` None is the single-school installation."""

    school: str | None = None

    @classmethod
    def selected(cls) -> SchoolInstance:
        """The instance chosen for this process (see `selected_school`)."""
        return cls(selected_school())

    @property
    def config_dir(self) -> Path:
        return CONFIG_ROOT / self.school if self.school else CONFIG_ROOT

    @property
    def config_file(self) -> Path:
        return self.config_dir / "steward.toml"

    @property
    def state_dir(self) -> Path:
        return STATE_ROOT / self.school if self.school else STATE_ROOT

    @property
    def drop_root(self) -> Path:
        """The folder of the SLT drop folders (inbox, rejected, archive, accepted)."""
        return DROP_ROOT / self.school if self.school else DROP_ROOT

    @property
    def master_key_file(self) -> Path:
        return self.config_dir / "master.key"

    @property
    def unit_name(self) -> str:
        """`steward@NAME.service`, or `steward.service`."""
        return f"steward@{self.school}.service" if self.school else "steward.service"

    @property
    def unit_file(self) -> Path:
        """The installed unit file: the template for a school of a trust."""
        return UNIT_FOLDER / (TEMPLATE_UNIT if self.school else "steward.service")


_SERVICE_COMMAND = re.compile(
    r"\b(systemctl (?:start|stop|reload|restart|status|enable --now) |journalctl -u )steward"
    r"(?![@\w.-])")


def for_this_instance(text: str) -> str:
    """`text` (a message to a person) with each command it tells them to type, written for a
    single school (`sudo steward admin ...`, `systemctl start steward`), naming the selected
    school's instance instead (`sudo steward --school oakfield admin ...`,
    `systemctl start steward@oakfield`): in a trust, the single-school command would run
    nothing, or ask which school. Unchanged without a school, or with a name that is not one."""
    try:
        school = selected_school()
    except SchoolNameError:
        return text
    if school is None:
        return text
    text = text.replace("sudo steward admin", f"sudo steward --school {school} admin")
    return _SERVICE_COMMAND.sub(rf"\g<1>steward@{school}", text)
