"""Run a command the way the service runs: as the unit's user and groups, with its umask, its
state directory and its credentials.

An administrator's command that touches the state (setting a credential, confirming a handover
item, resetting the audit anchor) must see exactly what the service sees: the same master key,
which systemd hands only to the service (`LoadCredentialEncrypted=`), and files owned by the
service's user, not by root. `steward admin COMMAND ...` does that from the unit file itself
(`systemd/steward.service`, installed as /etc/systemd/system/steward.service), so the two can
never drift apart, and it works whether or not systemd is the init system (containers, CI):

1. the unit's encrypted credentials are decrypted with `systemd-creds decrypt` into a new
   private folder (0700, the unit's user's) on a memory file system, as systemd does for the
   service ($CREDENTIALS_DIRECTORY): /run when it is a tmpfs, else /dev/shm, never a disk, so
   the decrypted master key cannot outlive the machine's power;
2. the state directory is created as `StateDirectory=` would create it;
3. the command runs through `setpriv` as the unit's `User=`, `Group=` and
   `SupplementaryGroups=`, with no capabilities, no new privileges and the unit's `UMask=`;
4. SIGTERM, SIGINT and SIGHUP sent to this process are passed on to the command (not a
   Ctrl-C, which the terminal already sent to both), and this process waits for it, so
   `kill` or Ctrl-C on `sudo steward admin run` stops the daemon as `systemctl stop` would
   (and SIGHUP reloads it). The command also gets SIGTERM from the
   kernel if this process dies any other way (`setpriv --pdeathsig`), even by SIGKILL, so a
   daemon is never left running on its own beside the next one;
5. the decrypted credentials are removed when it ends, however it ends; a folder left by a
   process killed with SIGKILL is removed by the next `steward admin`.

Only root can do this (it is how root gives a command the service's identity); anyone else is
told to use sudo.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import signal
import subprocess  # noqa: S404 - systemd-creds and setpriv are the point of this module
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

INSTALLED_UNIT = Path("/etc/systemd/system/steward.service")
PASSED_ON = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
CREDENTIALS_PREFIX = "steward-credentials-"
MEMORY_FILE_SYSTEMS = frozenset({"tmpfs", "ramfs"})


class UnitError(Exception):
    """The unit cannot be used to run a command as the service; the message says why."""


@dataclass(frozen=True)
class ServiceUnit:
    """What a command needs from the unit file to run as the service does."""

    path: Path
    user: str
    group: str
    supplementary_groups: tuple[str, ...] = ()
    umask: int = 0o022
    state_directory: str | None = None
    state_directory_mode: int = 0o755
    credentials: tuple[tuple[str, Path], ...] = ()  # (name, encrypted file)
    exec_start: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, instance: str | None = None) -> ServiceUnit:
        """Read the directives that matter from a unit file (the [Service] section); for a
        template (`steward@.service`), as systemd reads it for `instance` (a school's checked
        name, config.schools): `%i` and `%I` become the name, `%%` a percent sign."""
        if instance is None and Path(path).name.endswith("@.service"):
            raise UnitError(f"{path}: is the template for a trust's schools: say which school "
                            "with `steward --school NAME admin ...`")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise UnitError(f"{path}: cannot be read ({error.strerror}); install the unit "
                            "first (see docs/administrator.md)") from None
        values: dict[str, list[str]] = {}
        section = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            if section == "Service" and "=" in line:
                key, value = line.split("=", 1)
                values.setdefault(key.strip(), []).append(
                    _specifiers(value.strip(), instance) if instance else value.strip())

        def last(key: str, default: str | None = None) -> str | None:
            return values.get(key, [default])[-1]

        user = last("User")
        if not user:
            raise UnitError(f"{path}: has no User=, so there is no service user to run as")
        credentials = []
        for entry in values.get("LoadCredentialEncrypted", []):
            name, _, source = entry.partition(":")
            credentials.append((name, Path(source)))
        environment = {}
        for entry in values.get("Environment", []):
            for assignment in shlex.split(entry):
                key, _, value = assignment.partition("=")
                environment[key] = value
        return cls(
            path=Path(path), user=user, group=last("Group") or user,
            supplementary_groups=tuple(" ".join(values.get("SupplementaryGroups", [])).split()),
            umask=int(last("UMask", "0022") or "0022", 8),
            state_directory=last("StateDirectory"),
            state_directory_mode=int(last("StateDirectoryMode", "0755") or "0755", 8),
            credentials=tuple(credentials),
            exec_start=tuple(shlex.split(last("ExecStart", "") or "")),
            environment=environment)

    def state_path(self) -> Path | None:
        """The folder systemd makes for StateDirectory=, under /var/lib."""
        return Path("/var/lib") / self.state_directory if self.state_directory else None


def _specifiers(value: str, instance: str) -> str:
    """`value` with systemd's instance specifiers filled in (%i, %I; %% is a percent sign).
    The instance name is a checked school name, so no escaping is needed."""
    return value.replace("%%", "\0").replace("%i", instance).replace("%I", instance) \
        .replace("\0", "%")


def run_as_service(unit: ServiceUnit, command: list[str], *, extra_environment:
                   dict[str, str] | None = None) -> int:
    """Run `command` as the service would run it (see the module's docstring); return its exit
    code. Raise UnitError when that is not possible here, saying why."""
    if os.geteuid() != 0:
        raise UnitError("only root can run a command as the service: run it with sudo, e.g. "
                        "`sudo steward admin credentials set x.access_token`")
    setpriv = _tool("setpriv", "util-linux")
    try:
        account = pwd.getpwnam(unit.user)
        group = grp.getgrnam(unit.group)
        groups = [grp.getgrnam(name).gr_gid for name in unit.supplementary_groups]
    except KeyError as error:
        raise UnitError(f"the unit's user or group {error.args[0]!r} does not exist: create it "
                        "with `systemd-sysusers` (docs/administrator.md)") from None
    state = unit.state_path()
    if state is not None and not state.exists():
        state.mkdir(mode=unit.state_directory_mode, parents=True)
        os.chown(state, account.pw_uid, group.gr_gid)
    # SUDO_USER (set by sudo, not by the caller) names the person behind the command, for
    # the audit log: `sudo steward admin incidents close ...` is closed by the DSL.
    environment = {key: value for key, value in os.environ.items()
                   if key in ("PATH", "LANG", "LC_ALL", "TERM", "TZ", "STEWARD_FIXTURES",
                              "SUDO_USER", "STEWARD_SCHOOL")}
    environment.update(unit.environment)
    environment.update(HOME=account.pw_dir, USER=unit.user, LOGNAME=unit.user)
    environment.update(extra_environment or {})
    privileges = [setpriv, f"--reuid={account.pw_uid}", f"--regid={group.gr_gid}",
                  "--groups=" + ",".join(str(gid) for gid in groups) if groups
                  else "--clear-groups", "--inh-caps=-all", "--no-new-privs",
                  "--pdeathsig=SIGTERM", "--"]
    with _signals_passed_on() as passing:
        try:
            credentials = _decrypt_credentials(unit, account.pw_uid, group.gr_gid)
            try:
                if credentials is not None:
                    environment["CREDENTIALS_DIRECTORY"] = str(credentials)
                previous = os.umask(unit.umask)
                try:
                    child = subprocess.Popen(  # noqa: S603 - setpriv and our own command
                        [*privileges, *command], env=environment,
                        cwd=state if state is not None and state.exists() else "/")
                finally:
                    os.umask(previous)
                passing.child = child
                code = child.wait()
            finally:
                if credentials is not None:
                    shutil.rmtree(credentials, ignore_errors=True)
        except _Stopped as stopped:
            return 128 + stopped.number
    return 128 - code if code < 0 else code


class _Stopped(Exception):  # noqa: N818 - not an error: the administrator stopped it
    """A signal to stop arrived before the command started: clean up and exit."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


@dataclass
class _Passing:
    """The command signals are passed on to, once it has started."""

    child: subprocess.Popen | None = None


@contextmanager
def _signals_passed_on() -> Iterator[_Passing]:
    """While inside: SIGTERM, SIGINT and SIGHUP go on to the command once it runs, and before
    it runs stop this process through its `finally` blocks (Python's default for SIGTERM and
    SIGHUP is to die at once, leaving the decrypted credentials behind)."""
    passing = _Passing()

    def on_signal(number: int, frame: object) -> None:
        if passing.child is None:
            raise _Stopped(number)
        if passing.child.poll() is None and not (
                number == signal.SIGINT and _terminal_sent_it_to_both(passing.child.pid)):
            passing.child.send_signal(number)

    try:
        previous = {number: signal.signal(number, on_signal) for number in PASSED_ON}
    except ValueError:  # not the main thread (only a test does that): nothing to pass on
        yield passing
        return
    try:
        yield passing
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _terminal_sent_it_to_both(child: int) -> bool:
    """Whether a SIGINT came from the terminal (Ctrl-C), which sends it to its whole
    foreground process group, the command included: passing it on as well would interrupt
    the command twice (the second time while it says it was interrupted)."""
    try:
        foreground = os.tcgetpgrp(0)
        return foreground == os.getpgrp() == os.getpgid(child)
    except OSError:  # no terminal, or the command has ended
        return False


def memory_backed(path: Path, mounts: str) -> bool:
    """Whether `path` is on a file system held in memory (tmpfs, ramfs), given the text of
    /proc/mounts: the longest mount point that contains it decides."""
    target = str(path).rstrip("/") or "/"
    best, kind = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ").rstrip("/") or "/"
        inside = point == "/" or target == point or target.startswith(point + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in MEMORY_FILE_SYSTEMS


def credentials_parent(mounts: str | None = None) -> Path:
    """Where the decrypted credentials go: /run if it is a tmpfs (as on systemd machines),
    else /dev/shm; UnitError if neither is memory-backed, because a key written to a disk
    stays readable on it after it is deleted."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8")
        except OSError:
            mounts = ""
    for candidate in (Path("/run"), Path("/dev/shm")):  # noqa: S108 - a tmpfs, checked below
        if candidate.is_dir() and memory_backed(candidate.resolve(), mounts):
            return candidate
    raise UnitError("neither /run nor /dev/shm is a memory file system (tmpfs), and the "
                    "decrypted master key must not be written to a disk: mount one with "
                    "`mount -t tmpfs -o mode=1777 tmpfs /dev/shm` (or add it to /etc/fstab)")


def _remove_abandoned(parent: Path) -> None:
    """Remove credentials folders whose `steward admin` died without cleaning up (SIGKILL)."""
    for folder in parent.glob(CREDENTIALS_PREFIX + "*"):
        owner = folder.name[len(CREDENTIALS_PREFIX):].partition("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _decrypt_credentials(unit: ServiceUnit, uid: int, gid: int) -> Path | None:
    """Decrypt the unit's credentials into a new folder only the service's user can read."""
    if not unit.credentials:
        return None
    decrypt = _tool("systemd-creds", "systemd")
    parent = credentials_parent()
    _remove_abandoned(parent)
    folder = Path(tempfile.mkdtemp(prefix=f"{CREDENTIALS_PREFIX}{os.getpid()}-", dir=parent))
    try:
        for name, source in unit.credentials:
            target = folder / name
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [decrypt, "decrypt", f"--name={name}", str(source), str(target)],
                capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise UnitError(f"cannot decrypt the credential {name} from {source}: "
                                f"{result.stderr.strip() or 'systemd-creds failed'}")
            os.chown(target, uid, gid)
            os.chmod(target, 0o400)
        os.chown(folder, uid, gid)
        os.chmod(folder, 0o700)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _tool(name: str, package: str) -> str:
    """The full path of a system tool, or UnitError saying which package brings it."""
    found = shutil.which(name)
    if found is None:
        raise UnitError(f"`{name}` is not installed (Debian and Ubuntu: apt install {package})")
    return found
