"""A video post goes from the watched folder to X exactly once, cleaned of its location and
examined for faces; everything that cannot be published safely is refused with a notice an SLT
member can act on, and the daemon keeps running. A whole Steward on its sandbox; the videos
are real H.264 clips (tests/clips.py), with a phone's location added (tests/movies.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.posts.approval import sign_submission
from daemon.posts.media_fixing import clean_bytes
from daemon.posts.reading import read_submission
from policies.media.video_facts import video_facts
from tests.clips import clip, face_picture
from tests.daemon.harness import StewardUnderTest
from tests.movies import PLACE, movie, with_phone_metadata

LIMIT = 600 * 1024  # intake.max_video_bytes for these tests: the clips are about 50 KB


def write_video_post(folder: Path, video: bytes, *, when: str, platforms=("x",),
                     file: str = "relay.mp4", pictured: tuple[str, ...] = ()) -> Path:
    """A post folder with one video, as an SLT member writes it."""
    folder.mkdir(parents=True)
    (folder / file).write_bytes(video)
    names = ", ".join(f'"{name}"' for name in pictured)
    listed = ", ".join(f'"{name}"' for name in platforms)
    (folder / "post.md").write_text(
        f'+++\npublish_at = "{when}"\nplatforms = [{listed}]\npictured = [{names}]\n'
        f'[[videos]]\nfile = "{file}"\nalt = "Year 5 running the last lap of the relay"\n'
        "+++\nThe relay team's last lap at sports day.\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def steward(tmp_path_factory):
    """One Steward for the module (a start costs seconds on two shared cores)."""
    under_test = StewardUnderTest(tmp_path_factory.mktemp("video"))
    under_test.settings.intake.max_video_bytes = LIMIT
    under_test.start()
    yield under_test
    under_test.stop()


def hand_in(steward, name: str, video: bytes, **options) -> None:
    folder = write_video_post(steward.drafts / name, video, when=steward.soon(), **options)
    steward.submit(folder)


def uploaded_videos(steward) -> list[dict]:
    return [upload for upload in steward.world()["x"].get("uploads", {}).values()
            if upload["category"] == "tweet_video"]


def no_location_by_exiftool(path: Path, video: bytes) -> bool:
    """ExifTool, the independent judge (-ee reads timed tracks), finds no GPS or location."""
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed (scripts/install-system-packages installs it)")
    path.write_bytes(video)
    found = subprocess.run(["exiftool", "-ee", "-G1", "-a", "-s", str(path)], check=True,
                           capture_output=True, text=True).stdout
    return not [line for line in found.splitlines()
                if "GPS" in line or "Location" in line or "ISO6709" in line]


def test_publishes_a_signed_phone_video_to_x_once_without_its_location(steward):
    recording = with_phone_metadata(clip(3))
    assert PLACE in recording
    hand_in(steward, "relay", recording)
    assert steward.wait_for_status("relay", timeout=60)
    world = steward.world()
    tweets = [tweet for tweet in world["x"]["tweets"].values()
              if tweet["text"] == "The relay team's last lap at sports day."]
    assert len(tweets) == 1
    [media_key] = tweets[0]["attachments"]["media_keys"]
    [upload] = [upload for upload in uploaded_videos(steward)
                if upload["media_key"] == media_key]
    sent = (steward.archive / "relay" / ".steward-clean" / "relay.mp4").read_bytes()
    assert hashlib.sha256(sent).hexdigest() == upload["sha256"]  # what X has is that file
    assert PLACE not in sent and b"camm" not in sent
    assert no_location_by_exiftool(steward.root / "sent.mp4", sent)
    [cleaned] = [event for event in steward.events_named("media.cleaned")
                 if event["file"] == "relay.mp4"]
    assert cleaned["format"] == "video"
    assert cleaned["cleaned_sha256"] == hashlib.sha256(sent).hexdigest() == upload["sha256"]
    assert cleaned["original_sha256"] == hashlib.sha256(recording).hexdigest()
    assert PLACE in recording  # the exiftool check above had something to find
    [examined] = steward.events_named("media.video_examined")
    assert examined["frames_examined"] >= 3 and examined["faces"] == 0
    assert examined["samples_sha256"]
    assert video_facts_of(sent).seconds == pytest.approx(3, abs=0.2)
    published = [event for event in steward.events_named("post.published")
                 if event["name"] == "relay"]
    assert [event["platform"] for event in published] == ["x"]


def tweets_saying(steward, text: str) -> list[dict]:
    return [tweet for tweet in steward.world()["x"]["tweets"].values() if tweet["text"] == text]


def test_an_upload_cut_off_part_way_is_resumed_and_the_video_posted_once(steward):
    steward.fault(method="POST", path=r"^/2/media/upload/[0-9]+/append$", drop=True, times=1)
    video = clip(2, size=(320, 200))
    folder = write_video_post(steward.drafts / "resumed", video, when=steward.soon())
    (folder / "post.md").write_text((folder / "post.md").read_text().replace(
        "The relay team's last lap", "The egg and spoon race"), encoding="utf-8")
    steward.submit(folder)
    assert steward.wait_for_status("resumed", timeout=60)
    [tweet] = tweets_saying(steward, "The egg and spoon race at sports day.")
    [media_key] = tweet["attachments"]["media_keys"]
    size = len(clean_bytes(video)[0])
    [upload] = [upload for upload in uploaded_videos(steward) if upload["total_bytes"] == size]
    assert upload["media_key"] == media_key  # one upload, carried on after the cut, not two
    assert upload["finalizes"] == 1


def test_a_video_post_accepted_before_a_restart_is_published_once_after_it(steward):
    folder = write_video_post(steward.drafts / "after-restart", clip(2, size=(320, 160)),
                              when=steward.soon(3600))
    (folder / "post.md").write_text((folder / "post.md").read_text().replace(
        "The relay team's last lap", "The sack race"), encoding="utf-8")
    steward.submit(folder)
    assert steward.wait_for_status("after-restart", ("scheduled",), timeout=60)
    steward.stop()
    steward.move_publish_time("after-restart", steward.clock.now())
    steward.start()
    assert steward.wait_for_status("after-restart", timeout=60)
    assert len(tweets_saying(steward, "The sack race at sports day.")) == 1


def video_facts_of(data: bytes):
    from policies.media.boxes import Source  # noqa: PLC0415

    return video_facts(Source(data))


def test_refuses_a_video_for_facebook_naming_the_platform(steward):
    hand_in(steward, "to-facebook", clip(2), platforms=("x", "facebook"))
    notice = steward.wait_for_refusal("to-facebook", timeout=60)
    assert notice is not None
    assert "Facebook cannot take videos through Steward yet" in notice
    assert "Traceback" not in notice


def test_refuses_a_video_larger_than_the_limit_unread_with_the_limit_in_mb(steward):
    big = clip(2) + b"\x00" * (LIMIT + 1)
    hand_in(steward, "too-big", big)
    notice = steward.wait_for_refusal("too-big", timeout=60)
    assert notice is not None
    assert "Steward takes videos up to 0.6 MB" in notice
    assert "video 'relay.mp4' is" in notice and "Trim the video" in notice


def test_refuses_a_cut_off_video(steward):
    whole = clip(2)
    hand_in(steward, "cut-off", whole[:len(whole) // 2])
    notice = steward.wait_for_refusal("cut-off", timeout=60)
    assert notice is not None
    assert "video 'relay.mp4' cannot be published safely" in notice
    assert "Traceback" not in notice


def test_refuses_a_video_changed_after_it_was_signed(steward):
    folder = write_video_post(steward.drafts / "changed", clip(2), when=steward.soon())
    sign(steward, folder)
    (folder / "relay.mp4").write_bytes(clip(2, size=(320, 180)))  # another video, same name
    steward.submit(folder, sign=None)
    notice = steward.wait_for_refusal("changed", timeout=60)
    assert notice is not None
    assert "does not match the post" in notice


def test_refuses_a_video_that_shows_a_face_part_way_through(steward):
    hand_in(steward, "face", clip(3, picture=face_picture(320, 240), picture_from=1.5))
    notice = steward.wait_for_refusal("face", timeout=60)
    assert notice is not None
    assert "video 'relay.mp4' appears to show 1 face" in notice


def test_holds_a_video_whose_pictures_cannot_be_decoded_rather_than_publish_it_unexamined(
        steward):
    hand_in(steward, "undecodable", movie())  # a well-formed index, invented samples
    notice = steward.wait_for_refusal("undecodable", timeout=60)
    assert notice is not None
    assert "cannot be examined for faces, so it was not published" in notice


def test_a_video_swapped_by_another_process_during_intake_is_never_published(steward):
    """A second process, holding the post's folder open, keeps renaming another video over
    the signed one (and back) while Steward takes the post: whatever Steward read, what it
    publishes is the signed video or nothing."""
    signed, other = clip(2), clip(2, size=(320, 180))
    draft = write_video_post(steward.drafts / "swapped", signed, when=steward.soon())
    sign(steward, draft)
    (steward.drafts / "other.mp4").write_bytes(other)
    folder = steward.inbox / ".tmp-swapped"  # hidden: not taken until renamed, as by submit
    os.rename(draft, folder)
    stop = steward.root / "stop-swapping"
    held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    source = os.open(steward.drafts, os.O_RDONLY | os.O_DIRECTORY)
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(held), str(source),
                                str(stop)], pass_fds=(held, source), stdout=subprocess.PIPE)
    try:
        assert swapper.stdout.readline() == b"swapping\n"
        os.rename(folder, steward.inbox / "swapped")  # as `steward submit` hands it in
        # (a folder that keeps changing is never taken at all: it never settles; renamed in,
        # it is taken at once, while the other process is swapping)
        assert steward.service.wait_until(
            lambda: (steward.rejected / "swapped.rejected.txt").exists()
            or status(steward, "swapped") in ("done", "failed"), timeout=90)
    finally:
        stop.touch()
        swapper.wait(timeout=30)
        os.close(held)
        os.close(source)
    sent = {upload["sha256"] for upload in uploaded_videos(steward)}
    assert clean_sha256(other) not in sent
    if status(steward, "swapped") == "done":  # it read the signed video: that is what went
        assert clean_sha256(signed) in sent
    refusal = steward.rejected / "swapped.rejected.txt"
    if refusal.exists():
        assert "Traceback" not in refusal.read_text(encoding="utf-8")


def sign(steward, folder: Path) -> None:
    settings = steward.settings
    submission = read_submission(folder, settings.school.time_zone, settings.intake.max_text_bytes)
    sign_submission(submission, steward.keys[0], settings.intake.max_media_bytes)


def status(steward, name: str) -> str | None:
    rows = steward.service.store.query("SELECT status FROM submissions WHERE name = ?", (name,))
    return rows[0]["status"] if rows else None


def clean_sha256(video: bytes) -> str:
    return hashlib.sha256(clean_bytes(video)[0]).hexdigest()


# The second process: renames a copy of the other video over relay.mp4 in the folder it holds
# open, then a copy of the signed one, again and again, until told to stop or the folder goes.
SWAPPER = r"""
import os, sys
folder, source, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def read(name, where):
    handle = os.open(name, os.O_RDONLY, dir_fd=where)
    try:
        return os.read(handle, 1 << 24)
    finally:
        os.close(handle)
versions = (read("other.mp4", source), read("relay.mp4", folder))
print("swapping", flush=True)
turn = 0
while not os.path.exists(stop):
    name = f".swap-{turn % 2}"
    try:
        handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=folder)
        os.write(handle, versions[turn % 2])
        os.close(handle)
        os.rename(name, "relay.mp4", src_dir_fd=folder, dst_dir_fd=folder)
    except OSError:
        break  # the folder is gone: Steward took it
    turn += 1
"""


def test_the_daemon_keeps_running_after_every_refusal(steward):
    assert steward.service.intake.alive()  # the watcher and its worker threads
    assert not steward.events_named("intake.error")
