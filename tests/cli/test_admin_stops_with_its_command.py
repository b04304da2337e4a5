"""`sudo steward admin COMMAND` and its command stop together: a signal that stops the wrapper
(SIGTERM, SIGINT) is passed on and waited for, SIGHUP reaches the command (a reload), and a
wrapper killed outright takes its command with it, so a daemon is never left running beside
the next one. The decrypted credentials live on a memory file system and are gone however the
wrapper ends (issue 18). These run real processes as the user `nobody`, so they need root."""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.runtime.unit import (
    CREDENTIALS_PREFIX,
    UnitError,
    _remove_abandoned,
    credentials_parent,
    memory_backed,
)

ROOT = Path(__file__).resolve().parents[2]
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("systemd-creds"),
    reason="runs a command as another user with a decrypted credential: needs root, setpriv "
           "and systemd-creds")

COMMAND = """
import os, signal, sys, time
from pathlib import Path
out = Path(sys.argv[1])
def say(text):
    with open(out / "said", "a") as handle:
        handle.write(text + "\\n")
signal.signal(signal.SIGHUP, lambda *_: say("reloaded"))
signal.signal(signal.SIGTERM, lambda *_: (say("stopped"), sys.exit(0)))
signal.signal(signal.SIGINT, lambda *_: (say("interrupted"), sys.exit(0)))
key = Path(os.environ["CREDENTIALS_DIRECTORY"]) / "steward.master-key"
say(f"started {os.getpid()} {os.getuid()} {key.parent} {len(key.read_bytes())}")
while True:
    time.sleep(0.05)
"""

WRAPPER = """
import grp, pwd, sys
from pathlib import Path
from daemon.runtime.unit import ServiceUnit, run_as_service
nobody = pwd.getpwnam("nobody")
unit = ServiceUnit(path=Path("steward.service"), user="nobody",
                   group=grp.getgrgid(nobody.pw_gid).gr_name,
                   credentials=(("steward.master-key", Path(sys.argv[1])),))
sys.exit(run_as_service(unit, [sys.executable, "-c", sys.argv[2], sys.argv[3]]))
"""


def eventually(condition: Callable[[], object], what: str, seconds: float = 20.0) -> object:
    """Poll `condition` until it is true, or fail saying what did not happen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {seconds} seconds")


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for init to reap it does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def become_the_terminals_own() -> None:
    """In the wrapper before it starts: a session of its own whose controlling terminal is
    its standard input, as `sudo steward admin run` typed in a terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Wrapper:
    """`steward admin` running a command that reports, in a folder, what happens to it."""

    def __init__(self, folder: Path, terminal: int | None = None) -> None:
        self.folder = folder
        key = folder / "master.key"
        key.write_bytes(os.urandom(32))
        credential = folder / "steward.master-key.cred"
        subprocess.run(["systemd-creds", "encrypt", "--with-key=host",  # noqa: S607
                        "--name=steward.master-key", str(key), str(credential)],
                       check=True, capture_output=True)
        key.unlink()
        self.said_in = folder / "out"
        self.said_in.mkdir()
        self.said_in.chmod(0o777)  # the command runs as nobody
        on_terminal: dict = {} if terminal is None else {
            "stdin": terminal, "stdout": terminal, "stderr": terminal,
            "preexec_fn": become_the_terminals_own}
        self.process = subprocess.Popen(  # noqa: S603, PLW1509 - this interpreter, our own code
            [sys.executable, "-c", WRAPPER, str(credential), COMMAND, str(self.said_in)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, **on_terminal)
        started = eventually(lambda: self.said_starting(), "the command's start")
        _, pid, uid, credentials, length = started.split()
        self.child, self.uid, self.credentials = int(pid), int(uid), Path(credentials)
        self.key_length = int(length)

    def said(self) -> list[str]:
        path = self.said_in / "said"
        return path.read_text().splitlines() if path.exists() else []

    def said_starting(self) -> str | None:
        return next((line for line in self.said() if line.startswith("started ")), None)

    def stop(self, number: int) -> int:
        self.process.send_signal(number)
        return self.process.wait(timeout=30)

    def clean_up(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if alive(self.child):
            os.kill(self.child, signal.SIGKILL)


@pytest.fixture
def wrapper() -> Iterator[Wrapper]:
    folder = Path(tempfile.mkdtemp(prefix="steward-admin-test-"))
    folder.chmod(0o755)
    running = Wrapper(folder)
    yield running
    running.clean_up()
    shutil.rmtree(folder)


@needs_root
def test_the_command_runs_as_the_unit_user_with_the_key_on_a_memory_file_system(wrapper):
    assert wrapper.uid == pwd.getpwnam("nobody").pw_uid
    assert wrapper.key_length == 32
    assert wrapper.credentials.name.startswith(f"{CREDENTIALS_PREFIX}{wrapper.process.pid}-")
    assert memory_backed(wrapper.credentials, Path("/proc/mounts").read_text())
    status = wrapper.credentials.stat()
    assert (status.st_mode & 0o777, status.st_uid) == (0o700, wrapper.uid)
    assert status.st_gid == grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_gid


@needs_root
def test_sigterm_to_the_wrapper_stops_the_command_waits_for_it_and_removes_the_key(wrapper):
    code = wrapper.stop(signal.SIGTERM)
    assert code == 0  # the command's own exit code: it stopped cleanly
    assert wrapper.said()[-1] == "stopped"
    assert not alive(wrapper.child)
    assert not wrapper.credentials.exists()


@needs_root
def test_ctrl_c_on_the_wrapper_stops_the_command_too(wrapper):
    wrapper.stop(signal.SIGINT)
    assert not alive(wrapper.child)
    assert not wrapper.credentials.exists()


@needs_root
def test_ctrl_c_in_the_terminal_stops_the_command_and_the_wrapper():
    """The terminal sends SIGINT to the wrapper and the command alike; the wrapper then only
    waits for the command and cleans up."""
    folder = Path(tempfile.mkdtemp(prefix="steward-admin-test-"))
    folder.chmod(0o755)
    controller, terminal = os.openpty()
    running = None
    try:
        running = Wrapper(folder, terminal)
        os.write(controller, b"\x03")  # Ctrl-C
        assert running.process.wait(timeout=30) == 0
        assert running.said().count("interrupted") == 1
        assert not alive(running.child)
        assert not running.credentials.exists()
    finally:
        if running is not None:
            running.clean_up()
        os.close(controller)
        os.close(terminal)
        shutil.rmtree(folder)


@needs_root
def test_sighup_to_the_wrapper_reloads_the_command_which_keeps_running(wrapper):
    wrapper.process.send_signal(signal.SIGHUP)
    eventually(lambda: "reloaded" in wrapper.said(), "the command's reload")
    assert wrapper.process.poll() is None
    assert alive(wrapper.child)
    wrapper.stop(signal.SIGTERM)
    assert not alive(wrapper.child)


@needs_root
def test_a_wrapper_killed_outright_takes_its_command_with_it(wrapper):
    wrapper.stop(signal.SIGKILL)
    eventually(lambda: not alive(wrapper.child), "the command's end after the wrapper's")
    assert wrapper.said()[-1] == "stopped"
    assert wrapper.credentials.exists()  # nothing runs after SIGKILL: the next admin cleans up
    _remove_abandoned(wrapper.credentials.parent)
    assert not wrapper.credentials.exists()


def test_a_folder_left_by_a_wrapper_that_died_is_removed_and_a_live_ones_kept(tmp_path):
    finished = subprocess.Popen(["true"])  # noqa: S607 - a process id that is no longer used
    finished.wait()
    abandoned = tmp_path / f"{CREDENTIALS_PREFIX}{finished.pid}-abc123"
    running = tmp_path / f"{CREDENTIALS_PREFIX}{os.getpid()}-def456"
    for folder in (abandoned, running):
        folder.mkdir()
        (folder / "steward.master-key").write_text("key")
    _remove_abandoned(tmp_path)
    assert not abandoned.exists()
    assert running.exists()


ON_DISK_RUN = """\
/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,relatime 0 0
proc /proc proc rw 0 0
"""
SYSTEMD_RUN = ON_DISK_RUN + "tmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0\n"
NO_MEMORY = "/dev/vda / ext4 rw,relatime 0 0\n"


def test_the_key_goes_to_run_when_run_is_a_tmpfs():
    assert memory_backed(Path("/run"), SYSTEMD_RUN)
    assert credentials_parent(SYSTEMD_RUN) == Path("/run")


def test_the_key_goes_to_dev_shm_when_run_is_on_the_disk():
    assert not memory_backed(Path("/run"), ON_DISK_RUN)
    assert memory_backed(Path("/dev/shm"), ON_DISK_RUN)
    assert memory_backed(Path("/dev/shm/steward-credentials-1-x"), ON_DISK_RUN)
    assert credentials_parent(ON_DISK_RUN) == Path("/dev/shm")


def test_with_no_memory_file_system_the_key_is_not_decrypted_and_the_fix_is_named():
    with pytest.raises(UnitError, match="mount -t tmpfs"):
        credentials_parent(NO_MEMORY)
