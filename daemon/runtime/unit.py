"""Run a command the way the service runs: as the unit's user and groups, with its umask, its
state directory and its credentials.

An administrator's command that touches the state (setting a credential, confirming a handover
item, resetting the audit anchor) must see exactly what the service sees: the same master key,
which systemd hands only to the service (`LoadCredentialEncrypted=`), and files owned by the
service's user, not by root. `steward admin COMMAND ...` does that from the unit file itself
(`systemd/steward.service`, installed as /etc/systemd/system/steward.service), so the two can
never drift apart, and it works whether or not systemd is the init system (containers, CI):

1. the unit's encrypted credentials are decrypted with `systemd-creds decrypt` into a new
   private folder, as systemd does for the service ($CREDENTIALS_DIRECTORY);
2. the state directory is created as `StateDirectory=` would create it;
3. the command runs through `setpriv` as the unit's `User=`, `Group=` and
   `SupplementaryGroups=`, with no capabilities, no new privileges and the unit's `UMask=`;
4. the decrypted credentials are removed when it ends.

Only root can do this (it is how root gives a command the service's identity); anyone else is
told to use sudo.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import subprocess  # noqa: S404 - systemd-creds and setpriv are the point of this module
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

INSTALLED_UNIT = Path("/etc/systemd/system/steward.service")


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
    def read(cls, path: Path) -> ServiceUnit:
        """Read the directives that matter from a unit file (the [Service] section)."""
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
                values.setdefault(key.strip(), []).append(value.strip())

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
        return Path("/var/lib") / self.state_directory if self.state_directory else None


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
    credentials = _decrypt_credentials(unit, account.pw_uid, group.gr_gid)
    try:
        # SUDO_USER (set by sudo, not by the caller) names the person behind the command, for
        # the audit log: `sudo steward admin incidents close ...` is closed by the DSL.
        environment = {key: value for key, value in os.environ.items()
                       if key in ("PATH", "LANG", "LC_ALL", "TERM", "TZ", "STEWARD_FIXTURES",
                                  "SUDO_USER")}
        environment.update(unit.environment)
        environment.update(HOME=account.pw_dir, USER=unit.user, LOGNAME=unit.user)
        if credentials is not None:
            environment["CREDENTIALS_DIRECTORY"] = str(credentials)
        environment.update(extra_environment or {})
        privileges = [setpriv, f"--reuid={account.pw_uid}", f"--regid={group.gr_gid}",
                      "--groups=" + ",".join(str(gid) for gid in groups) if groups
                      else "--clear-groups", "--inh-caps=-all", "--no-new-privs", "--"]
        previous = os.umask(unit.umask)
        try:
            return subprocess.run([*privileges, *command], env=environment,  # noqa: S603
                                  cwd=state if state is not None and state.exists() else "/",
                                  check=False).returncode
        finally:
            os.umask(previous)
    finally:
        if credentials is not None:
            shutil.rmtree(credentials, ignore_errors=True)


def _decrypt_credentials(unit: ServiceUnit, uid: int, gid: int) -> Path | None:
    """Decrypt the unit's credentials into a new folder only the service's user can read."""
    if not unit.credentials:
        return None
    decrypt = _tool("systemd-creds", "systemd")
    folder = Path(tempfile.mkdtemp(prefix="steward-credentials-",
                                   dir="/run" if Path("/run").is_dir() else None))
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
        os.chmod(folder, 0o500)
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
