"""A hostile inbox cannot get anything published that SLT did not approve.

Each test runs the real daemon (on its sandbox) and plays someone who can write to the inbox and
holds one genuinely signed post, from a second process where the attack needs one: planting
links and folders in the post, holding the post's folder open after handing it in, keeping a
second hard link to its picture, and rewriting files while the intake works. Whatever happens,
the only picture that may reach a platform is the cleaned copy of the one SLT signed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from daemon.audit.chain import load_signing_key
from daemon.audit.verification import verify_chain
from daemon.posts.approval import sign_submission
from daemon.posts.reading import read_submission
from daemon.runtime.keys import public_key_text
from policies.media import clean_stream
from tests.daemon.attacker import hand_in
from tests.daemon.harness import StewardUnderTest, write_post
from tests.media import dirty_jpeg

REPOSITORY = Path(__file__).resolve().parents[2]
PHOTO = '[[images]]\nfile = "photo.jpg"\nalt = "The school garden in spring"'


def benign_jpeg() -> bytes:
    """The picture SLT approved: a plain photo of the garden, no metadata."""
    picture = Image.new("RGB", (64, 48), (90, 160, 70))
    output = io.BytesIO()
    picture.save(output, format="JPEG", quality=90)
    return output.getvalue()


def cleaned_sha256(data: bytes) -> str:
    sink = io.BytesIO()
    clean_stream(io.BytesIO(data), sink)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def uploaded_pictures(steward: StewardUnderTest) -> set[str]:
    world = steward.world()
    return {media["sha256"] for media in world["x"]["media"].values()}


def signed_post_outside_the_inbox(steward: StewardUnderTest, place: Path, name: str,
                                  publish_in: float = 2.0, front_matter: str = PHOTO) -> Path:
    """A post folder signed by an SLT member, on the inbox's file system but not in it (so it
    can be renamed in, keeping links and hard links, as an attacker would)."""
    folder = write_post(place / name, "Our garden is in bloom.",
                        publish_at=steward.soon(publish_in), extra_front_matter=front_matter)
    (folder / "photo.jpg").write_bytes(benign_jpeg())
    return folder


def sign(steward: StewardUnderTest, folder: Path) -> None:
    submission = read_submission(folder, steward.settings.school.time_zone, 10**6,
                                 max_media_bytes=10**7)
    sign_submission(submission, steward.keys[0], 10**7)


def outcome(steward: StewardUnderTest, name: str) -> str:
    """Wait until the post is refused or finished; return "refused" or its final status."""
    report = steward.rejected / f"{name}.rejected.txt"

    def decided() -> bool:
        rows = steward.service.store.query("SELECT status FROM submissions WHERE name = ?",
                                           (name,))
        return report.exists() or (bool(rows) and rows[0]["status"] not in ("scheduled",))

    assert steward.service.wait_until(decided, 30), f"{name} was neither refused nor finished"
    if report.exists():
        return "refused"
    return steward.service.store.query("SELECT status FROM submissions WHERE name = ?",
                                       (name,))[0]["status"]


class Attacker:
    """The attacker's second process (tests/daemon/attacker.py)."""

    def __init__(self, tmp_path: Path, mode: str, *paths: Path) -> None:
        self.stop_file = tmp_path / "attacker.stop"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.daemon.attacker", mode, *map(str, paths),
             "--stop", str(self.stop_file)],
            cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        self.stop_file.touch()
        self.process.wait(timeout=30)


@pytest.fixture
def evil(tmp_path) -> Path:
    """The attacker's picture: a photo with GPS coordinates, a city and a camera serial."""
    path = tmp_path / "evil.jpg"
    path.write_bytes(dirty_jpeg(64, 48))
    return path


def test_a_planted_clean_folder_link_cannot_swap_the_published_picture(steward, tmp_path, evil):
    theirs = tmp_path / "attacker-owned"
    theirs.mkdir()
    folder = signed_post_outside_the_inbox(steward, tmp_path, "planted-link")
    os.symlink(theirs, folder / ".steward-clean")
    sign(steward, folder)
    attacker = Attacker(tmp_path, "swap-clean", theirs, evil)
    try:
        hand_in(folder, steward.inbox)
        result = outcome(steward, "planted-link")
    finally:
        attacker.stop()
    assert uploaded_pictures(steward) <= {cleaned_sha256(benign_jpeg())}
    assert result == "refused"
    assert "hidden symbolic link '.steward-clean'" in steward.wait_for_refusal("planted-link")
    assert list(theirs.iterdir()) == []  # Steward wrote nothing into the attacker's folder


def test_a_planted_clean_folder_cannot_smuggle_files_into_the_post(steward, tmp_path, evil):
    folder = signed_post_outside_the_inbox(steward, tmp_path, "planted-folder")
    (folder / ".steward-clean").mkdir()
    (folder / ".steward-clean" / "photo.jpg").write_bytes(evil.read_bytes())
    sign(steward, folder)
    hand_in(folder, steward.inbox)
    assert outcome(steward, "planted-folder") == "refused"
    assert "hidden folder '.steward-clean'" in steward.wait_for_refusal("planted-folder")
    assert uploaded_pictures(steward) == set()


def test_a_post_folder_held_open_after_handing_it_in_cannot_change_what_is_published(
        steward, tmp_path, evil):
    folder = signed_post_outside_the_inbox(steward, tmp_path, "held-open")
    sign(steward, folder)
    attacker = Attacker(tmp_path, "hold-open", folder, steward.inbox, evil)
    try:
        result = outcome(steward, "held-open")
    finally:
        attacker.stop()
    # Either the intake read the signed picture (published, cleaned) or the attacker's bytes
    # (refused: they are not what was signed); never the attacker's picture on a platform.
    assert uploaded_pictures(steward) <= {cleaned_sha256(benign_jpeg())}
    assert result in ("done", "refused")
    if result == "done":
        assert uploaded_pictures(steward) == {cleaned_sha256(benign_jpeg())}


def test_a_picture_with_a_second_hard_link_outside_the_post_is_refused(steward, tmp_path, evil):
    folder = signed_post_outside_the_inbox(steward, tmp_path, "hard-linked")
    sign(steward, folder)
    outside = tmp_path / "kept-elsewhere.jpg"
    os.link(folder / "photo.jpg", outside)
    attacker = Attacker(tmp_path, "rewrite-link", outside, evil)
    try:
        hand_in(folder, steward.inbox)
        result = outcome(steward, "hard-linked")
    finally:
        attacker.stop()
    assert uploaded_pictures(steward) == set()
    assert result == "refused"
    assert "hard link" in steward.wait_for_refusal("hard-linked")


def test_a_link_into_the_state_directory_cannot_overwrite_the_audit_log(steward, tmp_path):
    front_matter = '[[images]]\nfile = "audit.jsonl"\nalt = "The school garden in spring"'
    folder = signed_post_outside_the_inbox(steward, tmp_path, "overwrite", front_matter=front_matter)
    os.rename(folder / "photo.jpg", folder / "audit.jsonl")
    os.symlink(steward.state_dir, folder / ".steward-clean")
    sign(steward, folder)
    hand_in(folder, steward.inbox)
    assert outcome(steward, "overwrite") == "refused"
    audit_log = steward.state_dir / "audit.jsonl"
    first_line = audit_log.read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first_line)["seq"] == 0
    steward.stop()
    steward.start()  # the daemon starts again on its own, intact log
    key = public_key_text(load_signing_key(steward.state_dir))
    assert verify_chain([steward.state_dir], [key], open_tail=True, unsigned_ok=True).intact


def test_the_submitters_folder_is_never_written(steward, tmp_path):
    folder = signed_post_outside_the_inbox(steward, tmp_path, "untouched", publish_in=0.3)
    sign(steward, folder)
    kept = tmp_path / "kept-open"
    os.link(folder / "post.md", kept)  # post.md with two links: refused, and must stay as it was
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    hand_in(folder, steward.inbox)
    assert outcome(steward, "untouched") == "refused"
    assert kept.read_bytes() == before["post.md"]
    assert "hard link" in steward.wait_for_refusal("untouched")


def test_a_post_whose_name_holds_control_characters_is_refused_with_the_name_escaped(steward):
    name = "Sports day\x1b[2J\n2026-11-23 post.published"
    folder = write_post(steward.drafts / "draft", "Sports day was wonderful.",
                        publish_at=steward.soon())
    os.rename(folder, steward.inbox / name)
    safe = "Sports_day__2J_2026-11-23_post.published"
    report = steward.wait_for_refusal(safe)
    assert report is not None
    assert "\x1b" not in report and "U+001B" in report and "\\x1b[2J\\n2026" in report
    assert all("\x1b" not in entry.name and "\n" not in entry.name
               for entry in steward.rejected.iterdir())


def accepted_then_stopped(steward: StewardUnderTest, name: str) -> dict:
    """Submit a signed post with a photo due in an hour, wait until it is accepted, stop the
    daemon; return its stored row."""
    folder = write_post(steward.drafts / name, "Our garden is in bloom.",
                        publish_at=steward.soon(3600), extra_front_matter=PHOTO)
    (folder / "photo.jpg").write_bytes(benign_jpeg())
    steward.submit(folder)
    assert steward.wait_for_status(name, ("scheduled",))
    row = dict(steward.service.store.query("SELECT * FROM submissions WHERE name = ?",
                                           (name,))[0])
    steward.stop()
    return row


def test_a_queued_picture_changed_after_acceptance_is_not_uploaded(tmp_path, evil):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    row = accepted_then_stopped(steward, "tampered")
    cleaned = Path(row["folder"]) / ".steward-clean" / "photo.jpg"
    cleaned.write_bytes(evil.read_bytes())
    steward.move_publish_time(row["name"], steward.clock.now())
    steward.start()
    try:
        assert steward.wait_for_status("tampered", ("failed",))
        assert uploaded_pictures(steward) == set()
        failures = steward.events_named("post.failed")
        assert failures and all(event["tampering"] for event in failures)
        assert "not the one Steward checked" in failures[0]["reason"]
    finally:
        steward.stop()


def test_a_post_approved_by_a_signer_removed_since_is_held_not_published(tmp_path):
    steward = StewardUnderTest(tmp_path, signers=2)
    steward.start()
    row = accepted_then_stopped(steward, "lapsed")
    assert json.loads(row["signers"]) == ["Deputy Head 0"]
    steward.settings.approval.signers = steward.settings.approval.signers[1:]  # removed
    steward.move_publish_time(row["name"], steward.clock.now())
    steward.start()
    try:
        assert steward.wait_for_status("lapsed", ("held",))
        assert steward.published_texts() == {"x": [], "facebook": []}
        [held] = steward.events_named("post.held")
        assert "no longer suffice" in held["reason"]
        assert steward.service.wait_until((steward.rejected / "lapsed.held.txt").exists, 10)
    finally:
        steward.stop()


def test_a_post_whose_checking_stopped_steward_twice_is_refused_not_tried_again(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    steward.stop()
    # What two crashes in a row while judging one post leave behind: Steward's copy, once
    # resumed already.
    folder = write_post(steward.drafts / "crashes", "A photo that stops the daemon.",
                        publish_at=steward.soon(), images=1)
    copy = steward.state_dir / "claims" / "20261203T090000000000-crashes"
    copy.mkdir(parents=True)
    os.rename(folder, copy / "crashes")
    (copy / "claim.json").write_text(json.dumps({"name": "crashes", "entry": "crashes"}))
    (copy / "resumed").write_bytes(b"")
    steward.start()
    try:
        report = steward.wait_for_refusal("crashes")
        assert report is not None and "stopped twice while checking this post" in report
        assert not copy.exists()
    finally:
        steward.stop()


def test_a_refused_post_goes_back_readable_by_the_rejected_folders_group_only(steward):
    shared_group = 65534  # stands for steward-slt: the group of the rejected folder
    os.chown(steward.rejected, -1, shared_group)
    steward.post("unsigned", "Nobody signed this.", sign=None, images=1)
    assert steward.wait_for_refusal("unsigned") is not None
    returned = steward.rejected / "unsigned"
    for path in (returned, *returned.iterdir()):
        info = path.stat()
        assert info.st_gid == shared_group
        assert oct(info.st_mode & 0o777) == (oct(0o750) if path.is_dir() else oct(0o640))


def state_files(steward: StewardUnderTest) -> dict[str, bytes]:
    names = ("audit-signing.key", "steward.sqlite3")
    return {name: (steward.state_dir / name).read_bytes() for name in names}


@pytest.mark.parametrize("planted", ["the claims folder", "each claim"])
def test_links_planted_where_old_releases_kept_claims_cannot_take_state_files(tmp_path, planted):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    steward.stop()
    before = state_files(steward)
    old_claims = steward.inbox / ".steward" / "claimed"
    old_claims.parent.mkdir()
    if planted == "the claims folder":
        os.symlink(steward.state_dir, old_claims)
    else:
        old_claims.mkdir()
        for number in range(3):
            os.symlink(steward.state_dir, old_claims / f"20261122T00000000000{number}-x")
    steward.start()
    try:
        assert state_files(steward) == before
        assert (steward.state_dir / "claims").is_dir()
        assert list(steward.rejected.iterdir()) == []
        assert steward.events_named("intake.recovery_failed")
        steward.post("afterwards", "Steward carries on as usual.")
        assert steward.wait_for_status("afterwards")
    finally:
        steward.stop()


def test_an_old_claim_that_steward_did_not_make_is_reported_not_taken(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    steward.stop()
    planted = steward.inbox / ".steward" / "claimed" / "20261122T000000000000-planted"
    folder = write_post(planted / "planted", "Planted where Steward once kept claims.")
    for path in (planted.parent.parent, planted.parent, planted, folder):
        os.chown(path, -1 if path != planted else 65534, -1)  # the claim is someone else's
    steward.start()
    try:
        [failure] = steward.events_named("intake.recovery_failed")
        assert "not Steward's own" in failure["reason"]
        assert folder.exists() and not steward.events_named("submission.received")
    finally:
        steward.stop()


def test_a_post_name_too_long_for_the_notices_is_refused_and_steward_starts_again(steward):
    name = "é" * 122 + ".md"  # 125 characters, 247 bytes: NAME.rejected.txt would not fit
    (steward.inbox / name).write_text("+++\n+++\nA very long name.\n")
    report = steward.wait_for_refusal("_" * 80)
    assert report is not None and "247 bytes long" in report
    steward.stop()
    steward.start()
    assert steward.service.intake.alive()


def test_a_signed_post_with_a_name_too_long_for_its_receipt_is_refused_not_half_published(
        steward):
    folder = write_post(steward.drafts / "long", "A signed post with a long name.",
                        publish_at=steward.soon())
    sign(steward, folder)  # signed where it was written, then handed in under the long name
    hand_in(folder.rename(folder.with_name("é" * 120)), steward.inbox)
    assert steward.wait_for_refusal("_" * 80) is not None
    assert steward.published_texts() == {"x": [], "facebook": []}


def test_a_folder_nested_too_deep_to_walk_neither_stops_the_intake_nor_a_restart(tmp_path):
    steward = StewardUnderTest(tmp_path / "steward")
    steward.start()
    folder = write_post(tmp_path / "deep", "A post with a very deep folder inside.",
                        publish_at=steward.soon())
    inner = folder
    for _ in range(1500):
        inner = inner / "a"
        inner.mkdir()
    os.rename(folder, steward.inbox / "deep")  # copied in: settled by the ticker, then taken
    try:
        report = steward.wait_for_refusal("deep", timeout=30)
        assert report is not None and "a folder 'a'" in report
        assert steward.service.intake.alive()
        steward.stop()
        steward.start()
        steward.post("after the deep one", "Still working.")
        assert steward.wait_for_status("after the deep one")
    finally:
        steward.stop()
        # Python's own tree removal recurses: pytest could not clean this folder up later.
        subprocess.run(["rm", "-rf", str(tmp_path)], check=False)


def test_a_planted_claim_name_cannot_write_forged_lines_into_the_notice(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    steward.stop()
    planted = ".steward-claim-x-post\n\nReasons:\n  (none) Steward ACCEPTED this post.\x1b[2K"
    write_post(steward.inbox / planted, "Unsigned, with a planted claim name.")
    steward.start()
    try:
        [report] = list(steward.rejected.glob("*.rejected.txt"))
        lines = report.read_text(encoding="utf-8").splitlines()
        assert not any("\x1b" in line for line in lines)
        # the planted words survive only inside the (made safe) name: in the heading, the
        # reference, and the command the advice says to type
        assert all(line.startswith(("Steward did not publish", "Reference for the",
                                    "  What to do: Ask an SLT member to run: steward sign "
                                    "x-post__Reasons"))
                   for line in lines if "ACCEPTED" in line)
        assert "Reasons:" in lines and lines.count("Reasons:") == 1
    finally:
        steward.stop()


def test_a_name_that_is_not_utf8_is_refused_on_the_record(steward):
    name = os.fsdecode(b"bad\xff\xfe.md")
    (steward.inbox / name).write_text("+++\n+++\nNot UTF-8 in its name.\n")
    report = steward.wait_for_refusal("bad__.md")
    assert report is not None and "\\udcff" in report
    [received] = steward.events_named("submission.received")
    assert received["name"] == name and steward.events_named("submission.refused")


def test_a_face_hidden_in_a_later_frame_of_an_animation_is_refused(steward):
    from tests.media import photo_with_face  # noqa: PLC0415

    face = Image.open(io.BytesIO(photo_with_face())).convert("RGB")
    garden = Image.new("RGB", face.size, (90, 160, 70))
    animation = io.BytesIO()
    garden.save(animation, format="GIF", save_all=True, append_images=[face], duration=400)
    folder = write_post(steward.drafts / "animated", "Our garden, animated.",
                        publish_at=steward.soon(), extra_front_matter=PHOTO.replace(
                            "photo.jpg", "garden.gif"), pictured=[])
    (folder / "garden.gif").write_bytes(animation.getvalue())
    steward.submit(folder)
    report = steward.wait_for_refusal("animated")
    assert report is not None and "appears to show 1 face" in report
    assert uploaded_pictures(steward) == set()


@pytest.mark.parametrize("name", ["resumed", "claim.json"])
def test_a_post_named_like_one_of_stewards_own_records_is_published(steward, name):
    """Steward keeps records beside its copy of a post ('claim.json', 'resumed'); a post
    called the same is still the post, not taken for a record."""
    steward.post(name, f"The post called {name}.", platforms=["x"])
    assert steward.wait_for_status(name)
    assert steward.published_texts()["x"] == [f"The post called {name}."]
    assert not steward.events_named("intake.error")
