"""The documented server install, run as it will be used: as root on a fresh machine, the
commands of docs/administrator.md line by line, then the daemon as the `steward` user with the
unit's own user, groups, umask and credential, in live mode, and an SLT member (a real second
Unix user, umask 022) handing in a post that goes out.

The platforms are the sandbox on loopback, named in the configuration as X's and Meta's
addresses (`x.api_url`, `facebook.graph_url`): the daemon runs in live mode, with its secrets in
the vault, and nothing reaches a real platform. Where systemd is not the init system (CI, a
container), the unit's start is `steward admin run`, which runs the unit's command as the unit
would. This test changes the machine (users, /opt/steward, /etc/steward, /srv/steward,
/var/lib/steward): it runs only as root, only when STEWARD_DEPLOYMENT_TEST=1 or in CI's fresh
machine (`.ci/run` sets it), and skips with the reason otherwise.
"""

from __future__ import annotations

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
SLT_MEMBER = "deputy.head"
SECRETS = {  # the sandbox's own credentials, as the school's would be
    "x.consumer_key": "sandbox-consumer-key",
    "x.consumer_secret": "sandbox-consumer-secret",
    "x.access_token": "1500000000000000001-sandboxaccesstoken",
    "x.access_token_secret": "sandbox-access-token-secret",
    "facebook.page_access_token": "sandbox-page-token",
}
PAGE_ID = "100000000000001"

DEPLOYS = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the deployment test installs as root"),
    pytest.mark.skipif(os.environ.get("STEWARD_DEPLOYMENT_TEST") != "1",
                       reason="changes this machine (users, /opt, /etc, /srv, /var/lib): set "
                       "STEWARD_DEPLOYMENT_TEST=1 to run it (CI does, on a fresh machine)"),
    pytest.mark.timeout(900),
]


def deploys(test):
    for mark in reversed(DEPLOYS):
        test = mark(test)
    return test


def documented_commands() -> list[str]:
    """The administrator's commands, exactly as docs/administrator.md gives them."""
    text = GUIDE.read_text(encoding="utf-8")
    block = text[text.index(MARKER):]
    block = block[block.index("```sh\n") + 6:]
    return [line for line in block[:block.index("```")].splitlines() if line.strip()]


def as_root(command: str, stdin: str | None = None, timeout: float = 600) -> str:
    """Run one documented line in a shell, from the checkout, failing the test if it fails."""
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=REPOSITORY,
                            input=stdin, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "STEWARD_FIXTURES": ""})
    assert result.returncode == 0, f"{command!r} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def as_user(user: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a command as another Unix user, in a login shell with a normal umask (022)."""
    return subprocess.run(["su", "-", user, "-c", f"umask 022 && {command}"],
                          capture_output=True, text=True, timeout=timeout)


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
    text = text.replace("[approval]\n", "[x]\n" f'api_url = "{platforms}"\n\n[approval]\n')
    text += ("\n[[approval.signers]]\n" 'name = "Deputy Head"\n'
             f'public_key = "{signer_key}"\n')
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


@deploys
def test_the_documented_install_goes_live_and_an_slt_member_publishes(platforms):
    commands = documented_commands()
    assert commands[0].startswith("sudo apt-get install"), "the guide's block moved"
    subprocess.run(["useradd", "--create-home", SLT_MEMBER], check=False,
                   capture_output=True)
    daemon = None
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
                if "enable --now" in line:  # no systemd here: the unit's start, as the unit would
                    daemon = subprocess.Popen(["steward", "admin", "run"], cwd="/",
                                              stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True,
                                              start_new_session=True)
            else:
                as_root(line)
        assert daemon is None or wait_for(lambda: b"running since" in subprocess.run(
            ["steward", "admin", "status"], capture_output=True).stdout), daemon and \
            daemon.stderr.read() if daemon and daemon.poll() is not None else "not running"
        state = Path("/var/lib/steward")
        assert state.stat().st_uid == int(subprocess.check_output(["id", "-u", "steward"]))
        assert oct(state.stat().st_mode & 0o777) == oct(0o750)

        # An SLT member, their own Unix user and umask, hands in a folder post.
        post = ("mkdir -p garden && printf '+++\\n+++\\nOur garden is in bloom.\\n' "
                "> garden/post.md && steward submit garden --sign deputy.key")
        handed_in = as_user(SLT_MEMBER, post)
        assert handed_in.returncode == 0, handed_in.stderr
        assert wait_for(lambda: "Our garden is in bloom." in published(platforms))

        # The audit log of the deployed service verifies, read as the service sees it.
        verified = subprocess.run(["steward", "admin", "audit", "verify", "--open-tail"],
                                  capture_output=True, text=True)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        events = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
        assert any(event["event"] == "post.published" for event in events)
    finally:
        if daemon is not None and daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)


def test_the_guide_names_only_the_documented_layout():
    """Nothing in the administrator's commands points outside the documented layout."""
    allowed = ("/opt/steward", "/etc/steward", "/etc/sysusers.d", "/etc/tmpfiles.d",
               "/etc/systemd/system", "/usr/local/bin", "/dev/urandom", "/path/to/steward")
    for command in documented_commands():
        for word in shlex.split(command.replace("|", " ")):
            if word.startswith("/"):
                assert word.startswith(allowed), (command, word)
