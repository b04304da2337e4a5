"""The documented server install, run as it will be used: as root on a fresh machine, the
commands of docs/administrator.md line by line, then the daemon as the `steward` user with the
unit's own user, groups, umask and credential, in live mode, and an SLT member (a real second
Unix user, umask 022) handing in a post that goes out.

The platforms are the sandbox on loopback, named in the configuration as X's and Meta's
addresses (`x.api_url`, `facebook.graph_url`): the daemon runs in live mode, with its secrets in
the vault, and nothing reaches a real platform. Where systemd is not the init system (CI, a
container), the unit's start is `steward admin run`, which runs the unit's command as the unit
would. This test changes the machine (users, /opt/steward, /etc/steward, /srv/steward,
/var/lib/steward): it runs only as root, and only on a fresh machine (no steward user and none
of those paths, as on CI's) or when STEWARD_DEPLOYMENT_TEST=1; otherwise it skips, saying why.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPOSITORY = Path(__file__).resolve().parents[2]
GUIDE = REPOSITORY / "docs" / "administrator.md"
MARKER = "<!-- deployment: the block below is run line by line by tests/deployment/test_deployment.py -->"
BACKUP_MARKER = ("<!-- deployment: the backup block below is run line by line by "
                 "tests/deployment/test_deployment.py -->")
SLT_MEMBER = "deputy.head"
DSL = "dsl.lead"
AUDITOR = "governor.audit"
SECRETS = {  # the sandbox's own credentials, as the school's would be
    "x.consumer_key": "sandbox-consumer-key",
    "x.consumer_secret": "sandbox-consumer-secret",
    "x.access_token": "1500000000000000001-sandboxaccesstoken",
    "x.access_token_secret": "sandbox-access-token-secret",
    "facebook.page_access_token": "sandbox-page-token",
}
PAGE_ID = "100000000000001"
THREAT = "I will find you after school and hurt you"  # a stranger's reply, invented
DSL_PASSWORD = "correct horse battery staple"

LAYOUT = (Path("/etc/steward"), Path("/srv/steward"), Path("/var/lib/steward"),
          Path("/opt/steward"), Path("/etc/systemd/system/steward.service"))


def fresh_machine() -> bool:
    """Nothing of a Steward install is here yet: no `steward` user, none of its paths."""
    users = subprocess.run(["getent", "passwd", "steward"], capture_output=True).returncode
    return users != 0 and not any(path.exists() for path in LAYOUT)


def deployment_wanted() -> tuple[bool, str]:
    """Run on CI's fresh machine (root, nothing installed), or when asked to with
    STEWARD_DEPLOYMENT_TEST=1; never over an install that is already here unless asked."""
    asked = os.environ.get("STEWARD_DEPLOYMENT_TEST", "")
    if asked == "0":
        return False, "STEWARD_DEPLOYMENT_TEST=0"
    if asked == "1" or fresh_machine():
        return True, ""
    return False, ("this machine already has parts of a Steward install (a steward user, or one "
                   "of /etc/steward, /srv/steward, /var/lib/steward, /opt/steward): the test "
                   "installs as on a fresh machine; on a machine you can throw away, "
                   "STEWARD_DEPLOYMENT_TEST=1 removes that install and runs it (CI runs it on a "
                   "fresh machine)")


WANTED, NOT_WANTED_BECAUSE = deployment_wanted()


def remove_the_install() -> None:
    """Take the install away again, users included, so that the tests after this one do not
    find /etc/steward/steward.toml and read it as their configuration. STEWARD_DEPLOYMENT_KEEP=1
    leaves it, to look at."""
    if os.environ.get("STEWARD_DEPLOYMENT_KEEP") == "1":
        return
    subprocess.run(["pkill", "-u", "steward", "-f", "daemon.cli run"], capture_output=True)
    for path in (*LAYOUT, Path("/var/lib/steward.before-restore"), Path("/usr/local/bin/steward"),
                 Path("/etc/sysusers.d/steward.conf"), Path("/etc/tmpfiles.d/steward.conf"),
                 Path("/root/steward-backup.tar.gz"), Path("/etc/sudoers.d/steward-dsl")):
        subprocess.run(["rm", "-rf", str(path)], check=True)
    for user in (SLT_MEMBER, DSL, AUDITOR, "steward"):
        subprocess.run(["userdel", "--remove", user], capture_output=True)
    for group in ("steward-slt", "steward"):
        subprocess.run(["groupdel", group], capture_output=True)
DEPLOYS = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the deployment test installs as root, on a "
                       "fresh machine (CI's)"),
    pytest.mark.skipif(os.geteuid() == 0 and not WANTED, reason=NOT_WANTED_BECAUSE),
    pytest.mark.timeout(900),
]


def deploys(test):
    for mark in reversed(DEPLOYS):
        test = mark(test)
    return test


def documented_commands(marker: str = MARKER, document: Path = GUIDE) -> list[str]:
    """The administrator's commands, exactly as docs/administrator.md gives them."""
    text = document.read_text(encoding="utf-8")
    block = text[text.index(marker):]
    block = block[block.index("```sh\n") + 6:]
    return [line for line in block[:block.index("```")].splitlines() if line.strip()]


def as_root(command: str, stdin: str | None = None, timeout: float = 600) -> str:
    """Run one documented line in a shell, from the checkout, failing the test if it fails."""
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=REPOSITORY,
                            input=stdin, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "STEWARD_FIXTURES": ""})
    assert result.returncode == 0, f"{command!r} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def as_user(user: str, command: str, timeout: float = 120,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run a command as another Unix user, in a login shell with a normal umask (022)."""
    return subprocess.run(["su", "-", user, "-c", f"umask 022 && {command}"], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def incidents() -> list[dict[str, str]]:
    """The incident log, as the DSL exports it as their own user."""
    exported = as_user(DSL, "steward incidents export")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    return list(csv.DictReader(io.StringIO(exported.stdout)))


@pytest.fixture(scope="module")
def platforms(tmp_path_factory):
    """The stand-in for X and Facebook, on loopback, in its own process."""
    folder = tmp_path_factory.mktemp("platforms")
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "sandbox",
         "serve", "--port", "0", "--state", str(folder / "state.json")],
        cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    for line in process.stdout:
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if found:
            url = found.group(1)
            break
    assert url, "the sandbox did not say where it listens"
    yield url
    process.terminate()
    process.wait(timeout=30)


def edit_configuration(path: Path, platforms: str, signer_key: str) -> None:
    """What the administrator does in `sudoedit`: the school's name, the SLT signer, the Page,
    and (here only) the platforms' addresses pointing at the stand-in."""
    text = path.read_text(encoding="utf-8")
    text = text.replace('page_id = "000000000000000"', f'page_id = "{PAGE_ID}"\n'
                        f'graph_url = "{platforms}"')
    text = text.replace('# api_url = "https://api.x.com"', f'api_url = "{platforms}"')
    # Never a real platform from a test: both addresses must now be the stand-in's.
    assert f'api_url = "{platforms}"' in text and f'graph_url = "{platforms}"' in text
    text += ("\n[[approval.signers]]\n" 'name = "Deputy Head"\n'
             f'public_key = "{signer_key}"\n'
             "\n[moderation]\npoll_interval_seconds = 2\n")  # not a minute: the test waits
    path.write_text(text, encoding="utf-8")


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def published(platforms: str) -> list[str]:
    world = requests.get(f"{platforms}/_sandbox/state", timeout=10).json()
    return [tweet["text"] for tweet in world["x"]["tweets"].values()
            if tweet["author_id"] == world["x"]["me"] and not tweet["deleted"]]


class Service:
    """`systemctl start/stop steward`, or where systemd is not the init system (CI, a
    container) the unit's start as the unit would do it: `steward admin run`."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def control(self, line: str) -> None:
        if Path("/run/systemd/system").is_dir():
            as_root(line)
        elif "enable --now" in line or line.endswith(" start steward"):
            self.process = subprocess.Popen(["steward", "admin", "run"], cwd="/",
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                            text=True, start_new_session=True)
            assert wait_for(self.running), self.why_not()
        elif line.endswith(" stop steward"):
            self.stop()

    @staticmethod
    def running() -> bool:
        return b"running since" in subprocess.run(["steward", "admin", "status"],
                                                  capture_output=True).stdout

    def why_not(self) -> str:
        if self.process is not None and self.process.poll() is not None:
            return self.process.stderr.read()
        return "not running"

    def stop(self, check: bool = True) -> None:
        """SIGTERM to the `steward admin run` process alone, as `kill PID` would: it must take
        the daemon with it, and leave no decrypted master key behind."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
            if check:
                assert wait_for(lambda: not daemons_running(), 30), \
                    "the daemon outlived its wrapper"
                assert leftover_keys() == [], "a decrypted master key was left behind"
        self.process = None


def daemons_running() -> list[str]:
    """The `steward run` processes of the service's user."""
    found = subprocess.run(["pgrep", "-u", "steward", "-f", "daemon.cli run"],
                           capture_output=True, text=True)
    return found.stdout.split()


def leftover_keys() -> list[Path]:
    """Credential folders `steward admin` made and did not remove."""
    return [path for folder in (Path("/run"), Path("/dev/shm"))
            for path in folder.glob("steward-credentials-*")]


@deploys
def test_the_documented_install_goes_live_and_an_slt_member_publishes(platforms):
    commands = documented_commands()
    assert commands[0].startswith("sudo apt-get install"), "the guide's block moved"
    if not fresh_machine():  # STEWARD_DEPLOYMENT_TEST=1 over an earlier run's install
        remove_the_install()
    for user in (SLT_MEMBER, DSL, AUDITOR):
        subprocess.run(["useradd", "--create-home", user], check=False, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{DSL}:{DSL_PASSWORD}\n", text=True, check=True)
    service = Service()
    signer_key = None
    try:
        for command in commands:
            line = command.replace("/path/to/steward", str(REPOSITORY))
            if line.startswith("sudoedit "):
                made = as_user(SLT_MEMBER, "steward keys new 'Deputy Head' --out deputy.key")
                assert made.returncode == 0, made.stderr
                signer_key = re.search(r'public_key = "([^"]+)"', made.stdout).group(1)
                edit_configuration(Path(line.split()[1]), platforms, signer_key)
            elif "credentials set" in line:
                as_root(line, stdin=SECRETS[line.split()[-1]] + "\n")
            elif line.startswith("sudo systemctl") and not Path("/run/systemd/system").is_dir():
                service.control(line)
            else:
                as_root(line)
        assert service.running(), service.why_not()
        state = Path("/var/lib/steward")
        assert state.stat().st_uid == int(subprocess.check_output(["id", "-u", "steward"]))
        assert oct(state.stat().st_mode & 0o777) == oct(0o750)

        # An SLT member, their own Unix user and umask, hands in a folder post.
        post = ("mkdir -p garden && printf '+++\\n+++\\nOur garden is in bloom.\\n' "
                "> garden/post.md && steward submit garden --sign deputy.key")
        handed_in = as_user(SLT_MEMBER, post)
        assert handed_in.returncode == 0, handed_in.stdout + handed_in.stderr
        assert "ID: " in handed_in.stdout and "Where: " in handed_in.stdout
        assert wait_for(lambda: "Our garden is in bloom." in published(platforms))

        # The same post again: the daemon refuses it, and the answer comes back to the
        # member, on screen and as REFUSED.txt beside their draft.
        again = as_user(SLT_MEMBER, "steward submit garden --sign deputy.key")
        assert again.returncode == 1, again.stdout + again.stderr
        refused = Path(f"/home/{SLT_MEMBER}/garden/REFUSED.txt")
        assert "already accepted" in refused.read_text()
        assert refused.stat().st_uid == int(subprocess.check_output(["id", "-u", SLT_MEMBER]))

        # A post for next week, signed, edited and signed again (the new signature replaces
        # the old), handed in, then cancelled with a signed request.
        trip = ("mkdir -p trip && printf '+++\\npublish_at = \"%s\"\\n+++\\nOur trip to the %s.\\n' "
                "\"$(date -d 'next week' +%Y-%m-%dT10:00)\" {place} > trip/post.md")
        for place in ("museum", "science museum"):
            signed = as_user(SLT_MEMBER, trip.format(place=shlex.quote(place))
                             + " && steward sign trip --key deputy.key")
            assert signed.returncode == 0, signed.stdout + signed.stderr
        approvals = Path(f"/home/{SLT_MEMBER}/trip/approvals.txt").read_text()
        assert approvals.count("Deputy Head") == 1, approvals
        queued = as_user(SLT_MEMBER, "steward submit trip")
        assert queued.returncode == 0, queued.stdout + queued.stderr
        trip_id = re.search(r"ID: (\S+)", queued.stdout).group(1)
        cancelled = as_user(SLT_MEMBER, f"steward cancel {trip_id} --sign deputy.key")
        assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
        events = [json.loads(line) for line in
                  Path("/var/lib/steward/audit.jsonl").read_text().splitlines()]
        assert any(event["event"] == "post.cancelled" and event.get("submission") == trip_id
                   for event in events), [event["event"] for event in events][-10:]
        # Steward took every hand-in away: nothing of the members' posts, refused ones
        # included, is left in the inbox for other members to read.
        assert sorted(entry.name for entry in Path("/srv/steward/inbox").iterdir()) == []
        status = as_user(SLT_MEMBER, "steward status")
        assert status.returncode == 0 and "running" in status.stdout, status.stdout + status.stderr

        # The audit log of the deployed service verifies, read as the service sees it.
        verified = subprocess.run(["steward", "admin", "audit", "verify", "--open-tail"],
                                  capture_output=True, text=True)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        events = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
        assert any(event["event"] == "post.published" for event in events)

        # A stranger threatens under the post: Steward acts, and the DSL, as their own user,
        # sees the incident, reads it and closes it with its outcome (sudo, their password).
        requests.post(f"{platforms}/_sandbox/events", timeout=10, json={
            "kind": "x.reply", "user_id": "3100000000000000001", "text": THREAT})
        assert wait_for(lambda: incidents(), 120), "no incident was recorded"
        number = incidents()[0]["Incident"]
        shown = as_user(DSL, f"steward incidents show {number}")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert THREAT in shown.stdout
        closed = as_user(DSL, f"sudo -S -p '' steward admin incidents close {number} "
                         "--outcome 'account reported to X; parents told'",
                         stdin=DSL_PASSWORD + "\n")
        assert closed.returncode == 0, closed.stdout + closed.stderr
        assert "parents told" in incidents()[0]["Outcome"]
        assert DSL in incidents()[0]["Outcome"]
        assert as_user(DSL, "steward moderate queue").returncode == 0

        # The auditor, in group steward, verifies the log against the installed key, and
        # writes the governors' report in their own folder.
        audited = as_user(AUDITOR, "steward audit verify")
        assert audited.returncode == 0, audited.stdout + audited.stderr
        assert "audit-signing.pub" in audited.stdout
        reported = as_user(AUDITOR, "steward audit report --html governors.html")
        assert reported.returncode == 0, reported.stdout + reported.stderr
        assert Path(f"/home/{AUDITOR}/governors.html").stat().st_size > 0

        # Backup, then restore onto an empty state directory, as on a new machine.
        for command in documented_commands(BACKUP_MARKER):
            if command.startswith("sudo systemctl") and not Path("/run/systemd/system").is_dir():
                service.control(command)
            else:
                as_root(command)
        assert service.running(), service.why_not()
        assert Path("/var/lib/steward/steward.sqlite3").stat().st_uid == int(
            subprocess.check_output(["id", "-u", "steward"]))
        service.stop()
    finally:
        service.stop(check=False)
        remove_the_install()


def test_the_guide_names_only_the_documented_layout():
    """Nothing in the administrator's commands points outside the documented layout."""
    allowed = ("/opt/steward", "/etc/steward", "/etc/sysusers.d", "/etc/tmpfiles.d",
               "/etc/systemd/system", "/usr/local/bin", "/dev/urandom", "/dev/null", "/path/to/steward",
               "/var/lib/steward", "/root/steward-", "/etc/sudoers.d/steward-dsl")
    for command in documented_commands() + documented_commands(BACKUP_MARKER):
        for word in shlex.split(command.replace("|", " ")):
            if word.startswith("/"):
                assert word.startswith(allowed), (command, word)


def test_readme_gives_the_same_install_commands_as_the_guide():
    """README's administrator section is the block this test runs, line by line."""
    assert documented_commands(document=REPOSITORY / "README.md") == documented_commands()
