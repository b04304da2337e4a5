"""Reading a submission someone else controls: once, no links, no hard links, only what is
listed, and nothing ever written back."""

from __future__ import annotations

import os
from dataclasses import replace

from daemon.posts.reading import read_submission
from policies.approval import approved
from policies.faces import check as faces_check
from policies.findings import ApprovalEvidence
from tests.daemon.harness import write_post
from tests.media import photo_with_face
from tests.policies.test_samples import context_for

PHOTO = '[[images]]\nfile = "photo.png"\nalt = "The school garden in spring"'


def read(folder):
    return read_submission(folder, "Europe/London", 10**6, max_media_bytes=10**7)


def problems_of(folder) -> str:
    return "\n".join(finding.problem for finding in read(folder).problems)


def snapshot(folder) -> dict:
    return {path.name: (path.lstat().st_mtime_ns,
                        path.read_bytes() if path.is_file() and not path.is_symlink() else b"")
            for path in folder.iterdir()} | {".": os.stat(folder).st_mtime_ns}


def test_reads_the_listed_picture_into_memory_once(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.", images=1)
    submission = read(folder)
    [media] = submission.media.values()
    assert media.problem is None and media.data == (folder / "photo-0.png").read_bytes()


def test_never_opens_a_file_the_post_does_not_list(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.", images=1)
    (folder / "notes.txt").write_text("not part of the post")
    os.chmod(folder / "notes.txt", 0)  # reading it would fail if it were opened as root-less
    submission = read(folder)
    assert submission.ignored == ("notes.txt",) and submission.problems == ()
    assert set(submission.media) == {"photo-0.png"}


def test_refuses_a_fifo_in_the_folder_without_blocking_on_it(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.", extra_front_matter=PHOTO)
    os.mkfifo(folder / "photo.png")  # listed: opening it for reading would block for ever
    os.mkfifo(folder / "other")      # unlisted: never opened
    submission = read(folder)
    assert submission.media["photo.png"].problem == "not-a-file"
    assert "special file 'other'" in problems_of(folder)


def test_refuses_hidden_entries_and_sub_folders(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.")
    (folder / ".steward-clean").mkdir()
    (folder / "extra").mkdir()
    (folder / ".hidden.jpg").write_bytes(b"x")
    problems = problems_of(folder)
    assert "hidden folder '.steward-clean'" in problems
    assert "a folder 'extra'" in problems and "hidden file '.hidden.jpg'" in problems


def test_ignores_the_files_macos_leaves_on_network_shares(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "._post.md").write_bytes(b"\x00\x05\x16\x07")
    assert read(folder).problems == ()


def test_refuses_a_listed_picture_with_a_second_hard_link(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.", images=1)
    os.link(folder / "photo-0.png", tmp_path / "elsewhere.png")
    assert read(folder).media["photo-0.png"].problem == "hard-link"


def test_refuses_a_hidden_or_control_character_picture_name(tmp_path):
    front = '[[images]]\nfile = ".photo.png"\nalt = "The school garden"\n' \
            '[[images]]\nfile = "ph\\u001boto.png"\nalt = "The school garden"'
    folder = write_post(tmp_path / "post", "Garden.", extra_front_matter=front)
    submission = read(folder)
    assert {media.problem for media in submission.media.values()} == {"bad-name"}


def test_reading_writes_nothing_in_the_submitters_folder(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.", images=1)
    (folder / ".steward-clean").mkdir()
    before = snapshot(folder)
    read(folder)
    assert snapshot(folder) == before


def test_nothing_is_decoded_for_a_post_without_its_approvals(tmp_path):
    folder = write_post(tmp_path / "post", "Garden.", extra_front_matter=PHOTO)
    (folder / "photo.png").write_bytes(photo_with_face(kind="PNG"))
    submission = read(folder)
    signed = context_for(folder)
    unsigned = replace(signed, approval=ApprovalEvidence((), ()))
    assert approved(signed) and not approved(unsigned)
    assert faces_check(submission, signed)  # the face is seen once the post is approved
    assert faces_check(submission, unsigned) == []  # and not even looked for before
