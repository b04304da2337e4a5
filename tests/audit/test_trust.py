"""`steward trust status|report`: a trust's schools side by side, each verified with its own
public key only, counted only as far as its signed checkpoints go, and nothing else of a
school read; one school's broken record is that school's line, never the others' loss."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from daemon.audit.chain import AuditLog, hashed_line, split_line
from daemon.audit.trust import SchoolRecord, _as_the_school, discover, read_trust
from daemon.cli.main import main
from daemon.runtime.keys import audit_signing_key, public_key_text

SCHOOLS = ("oakfield", "st-marys", "hillcrest")


def write_school(roots: tuple[Path, Path], school: str, posts: int) -> Path:
    """A school's state directory with a signed log (as its daemon leaves it) and its public
    key installed in its configuration folder, and secrets the trust must never open."""
    config_root, state_root = roots
    state = state_root / school
    state.mkdir(parents=True)
    audit = AuditLog(state / "audit.jsonl")
    for number in range(posts):
        audit.record("post.published", submission=f"S{number}", platform="x")
    audit.record("incident.recorded", incident=f"INC-{school}", platform="x")
    audit.close()
    (config_root / school).mkdir(parents=True)
    (config_root / school / "audit-signing.pub").write_text(
        public_key_text(audit_signing_key(state)) + "\n")
    (config_root / school / "steward.toml").write_text("# the school's own\n")
    (state / "steward.sqlite3").write_bytes(b"a school's database")
    (state / "vault.json").write_text("{}")
    return state


@pytest.fixture
def roots(tmp_path) -> tuple[Path, Path]:
    config_root, state_root = tmp_path / "etc", tmp_path / "lib"
    for number, school in enumerate(SCHOOLS):
        write_school((config_root, state_root), school, posts=number + 1)
    return config_root, state_root


def arguments(roots) -> list[str]:
    return ["--config-root", str(roots[0]), "--state-root", str(roots[1])]


def test_every_school_is_verified_with_its_own_key_and_counted(roots, capsys):
    assert main(["trust", "status", *arguments(roots)]) == 0
    out = capsys.readouterr().out
    for school in SCHOOLS:
        assert f"{school}: verified with the school's own key" in out
    assert "posts published 1;" in out and "posts published 3;" in out


def test_one_schools_tampered_log_is_its_own_line_and_the_others_still_show(roots, capsys):
    log = roots[1] / "st-marys" / "audit.jsonl"
    log.write_text(log.read_text().replace('"S0"', '"S9"'))
    assert main(["trust", "status", *arguments(roots)]) == 1
    out = capsys.readouterr().out
    assert "st-marys: NOT VERIFIED" in out
    assert "oakfield: verified" in out and "hillcrest: verified" in out


def test_another_schools_key_does_not_verify_a_log(roots, capsys):
    """Each log is checked with its own school's key and no other: given a neighbour's key,
    it is refused, not verified by the trust's keys put together."""
    (roots[0] / "oakfield" / "audit-signing.pub").write_text(
        (roots[0] / "hillcrest" / "audit-signing.pub").read_text())
    assert main(["trust", "status", *arguments(roots)]) == 1
    out = capsys.readouterr().out
    assert "oakfield: NOT VERIFIED" in out and "not a key you gave" in out


def test_events_after_the_last_signed_checkpoint_are_left_out(roots):
    state = roots[1] / "oakfield"
    audit = AuditLog(state / "audit.jsonl", checkpoint_every_events=1000)
    audit.record("post.published", submission="unsigned", platform="x")  # no checkpoint yet
    (record,) = [r for r in read_trust(discover(*roots)) if r.school == "oakfield"]
    assert record.verified and record.unsigned_tail >= 1
    assert len(record.counts.published_submissions) == 1
    audit.close()


def test_a_school_without_an_installed_key_says_how_to_install_it(roots, capsys):
    (roots[0] / "hillcrest" / "audit-signing.pub").unlink()
    assert main(["trust", "status", *arguments(roots)]) == 1
    out = capsys.readouterr().out
    assert "hillcrest: not verified: there is no readable public key" in out
    assert "steward --school hillcrest admin audit pubkey" in out


def test_folders_that_are_not_schools_are_not_read(roots, capsys):
    (roots[1] / "<script>alert(1)<").mkdir()
    (roots[1] / "Oak Field").mkdir()
    (roots[1] / "..hidden").mkdir()
    assert [place.school for place in discover(*roots)] == sorted(SCHOOLS)


def test_nothing_but_the_logs_and_public_keys_is_opened(roots, tmp_path):
    """A school's secrets never leave its instance: its configuration, database, vault and
    signing key are never opened (seen at the interpreter's own audit hook, not a mock)."""
    opened: list[str] = []
    watching = [True]

    def hook(event: str, details: tuple) -> None:
        if watching[0] and event == "open" and isinstance(details[0], (str, Path)):
            path = str(details[0])
            if path.startswith(str(tmp_path)):
                opened.append(path)

    sys.addaudithook(hook)
    try:
        read_trust(discover(*roots))
    finally:
        watching[0] = False
    assert opened
    for path in opened:
        name = Path(path).name
        assert name == "audit-signing.pub" or (name.endswith(".jsonl")
                                               and name.startswith("audit")), path


def test_the_trust_report_is_one_page_with_every_school(roots, tmp_path, capsys):
    out = tmp_path / "trust.html"
    assert main(["trust", "report", "--html", str(out), "--name", "Riverside <Trust>",
                 *arguments(roots)]) == 0
    page = out.read_text()
    assert "Riverside &lt;Trust&gt;" in page and "<script" not in page
    for school in SCHOOLS:
        assert f"<h3>{school}</h3>" in page
    assert "Every school's record (3) verified with its own key." in page
    assert "wrote" in capsys.readouterr().out


# -- a hostile school: what its service (or whoever holds its user) leaves in its folders --------

def test_a_log_that_is_a_link_to_another_schools_vault_is_not_followed(roots, tmp_path, capsys):
    """Tried on a Debian 13 trust: oakfield's service replaced its audit.jsonl by a link to
    st-marys's vault, and `sudo steward trust status` opened the vault as root."""
    oakfield, vault = roots[1] / "oakfield", roots[1] / "st-marys" / "vault.json"
    (oakfield / "audit.jsonl").unlink()
    (oakfield / "audit.jsonl").symlink_to(vault)
    opened: list[str] = []
    watching = [True]

    def hook(event: str, details: tuple) -> None:
        if watching[0] and event == "open" and isinstance(details[0], (str, Path)):
            opened.append(os.path.realpath(details[0]))

    sys.addaudithook(hook)
    try:
        assert main(["trust", "status", *arguments(roots)]) == 1
    finally:
        watching[0] = False
    out = capsys.readouterr().out
    assert f"oakfield: NOT VERIFIED: {oakfield / 'audit.jsonl'} is a symbolic link" in out
    assert "st-marys: verified" in out and "hillcrest: verified" in out
    assert str(vault.resolve()) not in opened


def test_a_link_to_dev_zero_or_a_fifo_in_the_archive_never_stops_the_report(roots, capsys):
    """A link to /dev/zero in audit-archive/ once held `steward trust status` reading zeros
    (and memory) for ever; a FIFO would have waited for ever. Neither is opened."""
    archive = roots[1] / "oakfield" / "audit-archive"
    archive.mkdir()
    (archive / "audit-00000000.jsonl").symlink_to("/dev/zero")
    os.mkfifo(roots[1] / "hillcrest" / "audit-extra.jsonl")
    assert main(["trust", "status", *arguments(roots)]) == 1
    out = capsys.readouterr().out
    assert "oakfield: NOT VERIFIED:" in out and "is a symbolic link" in out
    assert "hillcrest: NOT VERIFIED:" in out and "audit-extra.jsonl is a FIFO" in out
    assert "st-marys: verified" in out


def test_an_endless_line_is_refused_without_reading_it_all(roots, capsys):
    """A log of zeros with no newline, as a full disk or a hostile school leaves it."""
    log = roots[1] / "oakfield" / "audit.jsonl"
    with log.open("ab") as out:
        out.write(b"\0" * (17 << 20))
    assert main(["trust", "status", *arguments(roots)]) == 1
    out = capsys.readouterr().out
    assert "oakfield: NOT VERIFIED:" in out and "longer than 16 MB" in out
    assert "st-marys: verified" in out


def test_a_signed_event_no_steward_writes_is_that_schools_line_not_a_fault(roots, capsys):
    """Whoever holds a school's key can sign anything: an unhashable `submission` once ended
    `steward trust status` with a fault, and no school was shown."""
    audit = AuditLog(roots[1] / "oakfield" / "audit.jsonl")
    audit.record("post.published", submission=["not", "a", "name"], platform={"x": 1})
    audit.record("takedown.done", seconds="soon")
    audit.close()
    assert main(["trust", "status", *arguments(roots)]) == 1
    out = capsys.readouterr().out
    assert "oakfield: NOT COUNTED: the log verified with the school's own key" in out
    assert "st-marys: verified" in out and "hillcrest: verified" in out


def test_a_schools_log_cannot_write_over_another_schools_line(roots, tmp_path, capsys):
    """Tried: a line numbered with terminal escapes and a newline (no key is needed for that,
    only the hash) drew a forged `st-marys:` line over the real one. It is shown escaped."""
    log = roots[1] / "oakfield" / "audit.jsonl"
    last = log.read_text().splitlines()[-1]
    forged = "\x1b[2K\x1b[1A\rst-marys: NOT VERIFIED: the log was deleted\n\u202e"
    line, _ = hashed_line({"timestamp": "2026-12-07T15:40:00.000+00:00", "event": "x",
                           "seq": forged, "prev": split_line(last)[1]})
    with log.open("a") as out:
        out.write(line)
    assert main(["trust", "status", *arguments(roots)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert [line for line in out.splitlines() if line.startswith("st-marys:")] == [
        "st-marys: verified with the school's own key: 3 events sealed by 1 file(s)"]
    assert "numbered #\\x1b[2K" in out
    page = tmp_path / "trust.html"
    main(["trust", "report", "--html", str(page), *arguments(roots)])
    assert "\x1b" not in page.read_text() and "\u202e" not in page.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root reads as another user")
def test_as_root_a_schools_log_is_read_with_that_schools_own_rights():
    """A link swapped in between the check and the read (a race the check cannot close)
    reaches only what the school's own user may read: the reading runs as that user."""
    base = Path(tempfile.mkdtemp())  # in /tmp: pytest's own folders are closed to `nobody`
    try:
        base.chmod(0o755)
        roots = (base / "etc", base / "lib")
        state = write_school(roots, "oakfield", posts=2)
        nobody = pwd.getpwnam("nobody")
        for path in [state, *state.rglob("*")]:
            os.lchown(path, nobody.pw_uid, nobody.pw_gid)
        place = discover(*roots)[0]
        (record,) = read_trust([place])
        assert record.verified and ("posts published", 2) in record.figures()
        assert record.last_checkpoint and record.last_signed is not None
        secret = base / "another-schools-vault.json"
        secret.write_text("{}")
        secret.chmod(0o600)

        def reads_a_root_file() -> SchoolRecord:
            secret.read_text()
            return SchoolRecord("oakfield", True, "read it")

        assert _as_the_school(place, reads_a_root_file).verified is False
    finally:
        shutil.rmtree(base)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run a command as another user")
def test_a_reader_outside_a_schools_group_is_told_so_not_to_install_its_key():
    """Tried in a Debian 13 chroot as a lead in no school's group: every school said 'there
    is no readable public key ... installs it', for keys that were installed."""
    base = Path(tempfile.mkdtemp())  # in /tmp: pytest's own folders are closed to `nobody`
    try:
        base.chmod(0o755)
        roots = (base / "etc", base / "lib")
        write_school(roots, "oakfield", posts=1)
        (roots[0] / "oakfield").chmod(0o750)
        done = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
             "-m", "daemon.cli.main", "trust", "status", *arguments(roots)],
            capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
            env={key: value for key, value in os.environ.items()
                 if not key.startswith("STEWARD_")})
        assert done.returncode == 1, done.stderr
        assert "oakfield: not read: " in done.stdout and "is closed to you" in done.stdout
        assert "installs it" not in done.stdout
    finally:
        shutil.rmtree(base)
