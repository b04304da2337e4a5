"""A school laid out as docs/administrator.md says, in a temporary folder, with an SLT member
who is a real second Unix user: the configuration is the service's (0640, not theirs to read),
the state is the service's alone, and they share the inbox, rejected/ and accepted/ through a
group. Their commands run as separate processes under their own uid, with umask 022.

Needs root (to become the other users); tests skip without it. The users and the group are
numbers only: nothing is added to the machine's /etc/passwd or /etc/group.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daemon.runtime.keys import ApprovalKey, new_key

SERVICE_UID = 64000  # `steward`
SLT_UID = 64001      # an SLT member, e.g. deputy.head
SLT_GROUP = 64010    # `steward-slt`
ROOT = Path(__file__).resolve().parents[2]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="becomes other users: needs root")


def as_user(uid: int, group: int) -> list[str]:
    """The command prefix that runs what follows as `uid` (its own group, plus `group`), as
    the deployment test and the unit's ExecStart do (util-linux's setpriv)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", f"--groups={group}", "--"]


@dataclass
class School:
    """The folders, the configuration, and the SLT member's key."""

    base: Path
    key: ApprovalKey
    key_file: Path
    extra_config: str = ""
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.base / "etc" / "steward.toml"

    @property
    def srv(self) -> Path:
        return self.base / "srv"

    @property
    def inbox(self) -> Path:
        return self.srv / "inbox"

    @property
    def view(self) -> Path:
        return self.srv / "slt-settings.toml"

    @property
    def state(self) -> Path:
        return self.base / "state"

    @property
    def home(self) -> Path:
        return self.base / "home"

    def slt(self, *arguments: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """Run `steward ARGUMENTS` as the SLT member, in their home folder, umask 022."""
        return subprocess.run(
            [*as_user(SLT_UID, SLT_GROUP), sys.executable, "-m", "daemon.cli", *arguments],
            cwd=self.home, umask=0o022, env=self.env(), capture_output=True, text=True,
            timeout=timeout, check=False)

    def env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
                "PYTHONPATH": str(ROOT), "STEWARD_CONFIG_FILE": str(self.config),
                "STEWARD_SLT_SETTINGS": str(self.view), "LANG": "C.UTF-8",
                **self.environment}

    def draft(self, name: str, text: str, front_matter: str = "") -> Path:
        """A post folder the SLT member writes in their home (umask 022: 0755 and 0644)."""
        folder = self.home / name
        folder.mkdir(mode=0o755)
        (folder / "post.md").write_text(f"+++\n{front_matter}\n+++\n{text}\n", encoding="utf-8")
        os.chmod(folder / "post.md", 0o644)
        for path in (folder, folder / "post.md"):
            os.chown(path, SLT_UID, SLT_UID)
        return folder

    def write_config(self) -> None:
        self.config.write_text(
            f'[school]\nname = "Oakfield Primary School"\n\n'
            f'[paths]\nstate_dir = "{self.state}"\ninbox = "{self.inbox}"\n'
            f'rejected = "{self.srv / "rejected"}"\narchive = "{self.srv / "archive"}"\n\n'
            f'[intake]\nsettle_seconds = 0.2\nscan_interval_seconds = 1\n\n'
            f'[sandbox]\nstate_file = "{self.state / "sandbox.json"}"\n\n'
            f'[audit]\nstdout = false\n\n'
            f'[[approval.signers]]\nname = "{self.key.name}"\n'
            f'public_key = "{self.key.public_key_base64()}"\n{self.extra_config}',
            encoding="utf-8")
        os.chown(self.config, 0, SERVICE_UID)
        os.chmod(self.config, 0o640)


def make_school(extra_config: str = "") -> School:
    """The layout, owned as the documented install owns it."""
    base = Path(tempfile.mkdtemp(prefix="steward-school-"))
    os.chmod(base, 0o755)  # noqa: S103 - every user of the school must get through it
    (base / "etc").mkdir(mode=0o750)
    os.chown(base / "etc", 0, SERVICE_UID)
    srv = base / "srv"
    srv.mkdir()
    os.chown(srv, SERVICE_UID, SLT_GROUP)
    os.chmod(srv, 0o2750)  # noqa: S103 - as systemd/tmpfiles.d/steward.conf makes it
    for name, mode in (("inbox", 0o2770), ("rejected", 0o2750), ("archive", 0o2750)):
        (srv / name).mkdir()
        os.chown(srv / name, SERVICE_UID, SLT_GROUP)
        os.chmod(srv / name, mode)
    (base / "state").mkdir(mode=0o700)
    os.chown(base / "state", SERVICE_UID, SERVICE_UID)
    home = base / "home"
    home.mkdir(mode=0o755)
    os.chown(home, SLT_UID, SLT_UID)
    key_file = home / "deputy-head.key"
    key = new_key("Deputy Head", key_file)
    os.chown(key_file, SLT_UID, SLT_UID)
    school = School(base, key, key_file, extra_config)
    school.write_config()
    return school


def remove_school(school: School) -> None:
    shutil.rmtree(school.base, ignore_errors=True)


class Daemon:
    """`steward run` as the service user, in its own process."""

    def __init__(self, school: School) -> None:
        self.school = school
        self.log = (school.base / "daemon.log").open("w")
        self.process = subprocess.Popen(
            [*as_user(SERVICE_UID, SLT_GROUP), sys.executable, "-m", "daemon.cli", "run",
             "--config", str(school.config)], cwd=school.base, umask=0o027,
            env={**school.env(), "HOME": str(school.state)}, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_until(self, condition, timeout: float = 30) -> bool:
        """Poll `condition` until it holds, the deadline passes or the daemon exits."""
        return self.poll(lambda: condition() or self.process.poll() is not None, timeout) \
            and condition()

    @staticmethod
    def poll(condition, timeout: float = 30) -> bool:
        """Poll `condition` (every 0.1 s) until it holds or `timeout` seconds pass."""
        import time  # noqa: PLC0415

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.1)
        return condition()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()

    def output(self) -> str:
        return (self.school.base / "daemon.log").read_text(encoding="utf-8", errors="replace")
