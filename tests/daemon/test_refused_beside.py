"""`steward submit` copies a refusal beside the draft (REFUSED.txt) as the SLT member, so it
must never be redirected into one of their own files: an attacker who may write in the draft
folder plants links there, as a second process, while the answer is written (issue 18)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from daemon.posts.refused_beside import NotWritten, clear_refused_beside, write_refused_beside
from tests.cli.slt_member import Daemon

REPOSITORY = Path(__file__).resolve().parents[2]
TEACHER_UID = 64002  # a teacher who writes drafts for the SLT in a shared folder
SLT_GROUP = 64010
KEY_TEXT = "the deputy head's private key\n"
REFUSAL = "Steward did not publish 'trip'.\n"


class LinkPlanter:
    """The attacker's second process (tests/daemon/attacker.py, `plant-links`), as `prefix`."""

    def __init__(self, tmp_path: Path, folder: Path, target: Path,
                 prefix: list[str] | None = None) -> None:
        self.stop_file = tmp_path / "attacker.stop"
        self.process = subprocess.Popen(
            [*(prefix or []), sys.executable, "-m", "tests.daemon.attacker", "plant-links",
             str(folder), str(target), "--stop", str(self.stop_file)],
            cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        self.stop_file.touch()
        self.process.wait(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def key(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    key = home / "deputy-head.key"
    key.write_text(KEY_TEXT, encoding="utf-8")
    os.chmod(key, 0o600)
    return key


def draft_in(folder: Path) -> Path:
    draft = folder / "trip"
    draft.mkdir()
    (draft / "post.md").write_text("+++\n+++\nThe trip is on Friday.\n", encoding="utf-8")
    return draft


def test_no_refusal_is_written_into_a_folder_everyone_may_write_in_while_links_are_planted(
        tmp_path: Path, key: Path):
    draft = draft_in(tmp_path)
    os.chmod(draft, 0o777)  # noqa: S103 - the shared folder under attack
    attacker = LinkPlanter(tmp_path, draft, key)
    try:
        with pytest.raises(NotWritten, match="everyone may write in"):
            write_refused_beside(draft, REFUSAL)
        clear_refused_beside(draft)
    finally:
        attacker.stop()
    assert key.read_text(encoding="utf-8") == KEY_TEXT
    assert (draft / "REFUSED.txt").is_symlink()  # the attacker's link, left as it was


@pytest.mark.skipif(os.geteuid() != 0, reason="becomes another user: needs root")
def test_no_refusal_is_written_into_a_teachers_shared_folder_while_the_teacher_plants_links(
        key: Path):
    """/srv/drafts (2775, the teacher's) holds the draft the deputy head submits; the teacher,
    a real second user, keeps REFUSED.txt and every .partial file there a link to the key."""
    base = Path(tempfile.mkdtemp(prefix="steward-drafts-"))
    try:
        os.chmod(base, 0o755)  # noqa: S103 - the teacher must reach the shared folder
        shared = base / "drafts"
        shared.mkdir()
        draft = draft_in(shared)
        for path in (shared, draft, draft / "post.md"):
            os.chown(path, TEACHER_UID, SLT_GROUP)
        os.chmod(draft, 0o2775)  # noqa: S103 - as the shared drafts folder is made
        teacher = ["setpriv", f"--reuid={TEACHER_UID}", f"--regid={SLT_GROUP}",
                   f"--groups={SLT_GROUP}", "--"]
        attacker = LinkPlanter(base, draft, key, teacher)
        try:
            assert Daemon.poll(lambda: (draft / "REFUSED.txt").is_symlink(), 30)
            with pytest.raises(NotWritten, match="not to you"):
                write_refused_beside(draft, REFUSAL)
        finally:
            attacker.stop()
        assert key.read_text(encoding="utf-8") == KEY_TEXT
        assert (draft / "REFUSED.txt").lstat().st_uid == TEACHER_UID  # the teacher's link
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_refused_txt_that_is_a_link_is_replaced_by_the_refusal_not_written_through(
        tmp_path: Path, key: Path):
    draft = draft_in(tmp_path)
    os.chmod(draft, 0o700)
    (draft / "REFUSED.txt").symlink_to(key)
    written = write_refused_beside(draft, REFUSAL)
    assert written == draft / "REFUSED.txt" and not written.is_symlink()
    assert written.read_text(encoding="utf-8") == REFUSAL
    assert key.read_text(encoding="utf-8") == KEY_TEXT
    assert sorted(entry.name for entry in draft.iterdir()) == ["REFUSED.txt", "post.md"]


def test_a_single_file_post_gets_its_refusal_beside_it_under_its_own_name(tmp_path: Path):
    folder = tmp_path / "drafts"
    folder.mkdir(mode=0o755)
    post = folder / "notice.md"
    post.write_text("The notice.\n", encoding="utf-8")
    assert write_refused_beside(post, REFUSAL) == folder / "notice.md.REFUSED.txt"
    clear_refused_beside(post)
    assert sorted(entry.name for entry in folder.iterdir()) == ["notice.md"]


def test_accepting_a_post_removes_a_refused_txt_link_and_not_what_it_points_at(
        tmp_path: Path, key: Path):
    draft = draft_in(tmp_path)
    os.chmod(draft, 0o700)
    (draft / "REFUSED.txt").symlink_to(key)
    clear_refused_beside(draft)
    assert not os.path.lexists(draft / "REFUSED.txt")
    assert key.read_text(encoding="utf-8") == KEY_TEXT
