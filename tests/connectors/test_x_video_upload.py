"""Videos and animated GIFs on X: uploaded in chunks with tweepy's real client against the live
sandbox, which runs X's protocol strictly. Each failure X can produce on the way is injected
(a refused or lost chunk, a processing failure, nonsense in a status answer, an upload X has
forgotten), and the upload goes on from where X has it, never sending the video twice."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from PIL import Image

from connectors.domain import Media, Post
from connectors.errors import RateLimited, Rejected, TemporaryFailure
from connectors.uploads import MemoryJournal
from connectors.x import XConnector, gif_frames
from daemon.runtime.clock import FixedClock
from daemon.runtime.store import Store
from sandbox.state import DEFAULT_X_CREDENTIALS
from tests.media import dirty_gif
from tests.movies import movie, sound, video

CHUNK = 4096


class SandboxTime(FixedClock):
    """Steward's fixed clock, whose waits also let that much time pass on the sandbox's X
    (its processing steps and expiry), so nothing sleeps and the waits can be read back."""

    def __init__(self, url: str) -> None:
        super().__init__(datetime.now(UTC))
        self.url = url
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.pass_time(seconds)

    def pass_time(self, seconds: float) -> None:
        self.advance(seconds)
        requests.post(f"{self.url}/_sandbox/time/advance", json={"seconds": seconds},
                      timeout=5).raise_for_status()


@pytest.fixture
def clock(sandbox) -> SandboxTime:
    return SandboxTime(sandbox.url)


@pytest.fixture
def journal() -> MemoryJournal:
    return MemoryJournal()


def connector_for(sandbox, clock, journal, **options) -> XConnector:
    return XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=sandbox.url, timeout=2.0,
                      clock=clock, uploads=journal, video_chunk_bytes=CHUNK, **options)


@pytest.fixture
def x(sandbox, clock, journal) -> XConnector:
    return connector_for(sandbox, clock, journal)


def media_of(tmp_path: Path, name: str, data: bytes, mime_type: str) -> Media:
    path = tmp_path / name
    path.write_bytes(data)
    return Media(path, "Year 4 rehearsing the school play", mime_type,
                 hashlib.sha256(data).hexdigest(), data)


@pytest.fixture
def clip(tmp_path) -> Media:
    """A small MP4 of 4 chunks (the last one short) at the test's chunk size."""
    data = movie([video(count=60), sound(count=80)])
    assert 3 * CHUNK < len(data) < 4 * CHUNK
    return media_of(tmp_path, "play.mp4", data, "video/mp4")


def uploads(control) -> dict:
    return control.state()["x"].get("uploads", {})


def counts(control) -> dict:
    return control.state()["request_counts"]


def appended(control) -> int:
    return sum(value for key, value in counts(control).items() if key.endswith("/append"))


# -- the protocol --------------------------------------------------------------------------------

def test_uploads_a_video_in_order_in_chunks_and_posts_it_once_x_has_processed_it(
        x, control, clip, clock):
    ref = x.publish(Post("The school play, in rehearsal", (clip,)))
    [upload] = uploads(control).values()
    assert upload["category"] == "tweet_video" and upload["media_type"] == "video/mp4"
    assert upload["sha256"] == clip.sha256 and upload["size"] == len(clip.data)
    assert sorted(map(int, upload["segments"])) == [0, 1, 2, 3]
    assert upload["appends"] == 4 and upload["finalizes"] == 1
    tweet = control.state()["x"]["tweets"][ref.remote_id]
    assert tweet["attachments"]["media_keys"] == [upload["media_key"]]
    assert upload["media_key"].startswith("7_")  # X's media key for a video
    # it waited as long as X's check_after_secs said, on Steward's clock, and never asked early
    assert clock.waits == [1, 2]
    assert control.state()["x"].get("early_status_polls", 0) == 0


def test_an_animated_gif_goes_in_chunks_as_tweet_gif_not_as_an_image(x, control, tmp_path):
    gif = media_of(tmp_path, "sports.gif", dirty_gif(), "image/gif")
    ref = x.publish(Post("Sports day, in motion", (gif,)))
    [upload] = uploads(control).values()
    assert upload["category"] == "tweet_gif" and upload["media_key"].startswith("16_")
    assert control.state()["x"]["media"] == {}  # nothing went through the one-request upload
    assert control.state()["x"]["tweets"][ref.remote_id]["attachments"]["media_keys"] == [
        upload["media_key"]]


def test_a_gif_of_one_picture_is_still_an_image(x, control, tmp_path):
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, "GIF")
    still = media_of(tmp_path, "logo.gif", buffer.getvalue(), "image/gif")
    assert gif_frames(still.data) == 1
    x.publish(Post("Our logo", (still,)))
    assert uploads(control) == {} and len(control.state()["x"]["media"]) == 1


def test_refuses_a_video_beside_photos_before_uploading_anything(x, control, clip, photo):
    with pytest.raises(Rejected, match="1 video in a post"):
        x.publish(Post("A video and a photo", (clip, photo)))
    assert uploads(control) == {} and control.state()["x"]["media"] == {}
    assert not x.capabilities.videos_with_images and x.capabilities.max_videos_per_post == 1


def test_the_used_upload_is_forgotten_once_the_post_is_made(x, clip, journal):
    x.publish(Post("The play", (clip,)))
    assert journal.upload_progress("x", clip.sha256) is None


# -- faults, and resuming ------------------------------------------------------------------------

def test_a_refused_chunk_is_sent_again_and_the_upload_goes_on_from_there(x, control, clip):
    control.fault(method="POST", path="/append$", status=503, skip=2)
    with pytest.raises(TemporaryFailure) as failure:
        x.publish(Post("The play", (clip,)))
    assert "part 3 of 4" in failure.value.message and not failure.value.ambiguous
    x.publish(Post("The play", (clip,)))
    assert counts(control)["POST /2/media/upload/initialize"] == 1
    [upload] = uploads(control).values()
    assert upload["appends"] == 4 and upload["sha256"] == clip.sha256  # chunks 1, 2 sent once
    assert len(control.state()["x"]["tweets"]) == 1


def test_a_chunk_x_took_but_whose_answer_was_lost_is_sent_again_not_the_whole_video(
        x, control, clip):
    control.fault(method="POST", path="/append$", drop=True, after=True, skip=1)
    with pytest.raises(TemporaryFailure):
        x.publish(Post("The play", (clip,)))
    x.publish(Post("The play", (clip,)))
    [upload] = uploads(control).values()
    assert upload["appends"] == 5  # the second chunk twice (X keeps the last), the rest once
    assert upload["sha256"] == clip.sha256
    assert counts(control)["POST /2/media/upload/initialize"] == 1


def test_a_restarted_publish_continues_from_the_store_within_the_expiry(
        sandbox, control, clip, clock, tmp_path):
    store = Store(tmp_path / "steward.sqlite3")
    try:
        first = connector_for(sandbox, clock, store)
        control.fault(method="POST", path="/finalize$", status=500)
        with pytest.raises(TemporaryFailure):
            first.publish(Post("The play", (clip,)))
        progress = store.upload_progress("x", clip.sha256)
        assert (progress.segments_sent, progress.finalized) == (4, False)
        again = connector_for(sandbox, clock, Store(tmp_path / "steward.sqlite3"))
        again.publish(Post("The play", (clip,)))
        assert appended(control) == 4 and counts(control)["POST /2/media/upload/initialize"] == 1
        assert store.upload_progress("x", clip.sha256) is None
    finally:
        store.close()


def test_after_a_lost_finalize_answer_it_only_asks_the_status(x, control, clip):
    control.fault(method="POST", path="/finalize$", drop=True, after=True)
    with pytest.raises(TemporaryFailure):
        x.publish(Post("The play", (clip,)))
    # Steward did not see X's answer: it finalizes again, which X answers with the status
    x.publish(Post("The play", (clip,)))
    [upload] = uploads(control).values()
    assert upload["appends"] == 4 and upload["finalizes"] == 2
    assert len(control.state()["x"]["tweets"]) == 1


def test_a_processing_failure_is_a_plain_refusal_and_nothing_is_posted(x, control, clip, journal):
    control.event(kind="x.media_processing_fails")
    with pytest.raises(Rejected, match="X could not process the video") as refusal:
        x.publish(Post("The play", (clip,)))
    assert "Traceback" not in str(refusal.value)
    assert control.state()["x"]["tweets"] == {}
    assert journal.upload_progress("x", clip.sha256) is None  # the same bytes would fail again


def test_a_file_that_is_not_a_video_fails_x_processing(x, control, tmp_path):
    fake = media_of(tmp_path, "notes.mp4", b"not a video at all" * 100, "video/mp4")
    with pytest.raises(Rejected, match="could not process"):
        x.publish(Post("Notes", (fake,)))
    assert control.state()["x"]["tweets"] == {}


@pytest.mark.parametrize("status", [
    {"data": {"id": "1", "processing_info": {"state": "banana"}}},
    {"data": {"id": "1", "processing_info": {"state": "pending", "check_after_secs": "soon"}}},
    {"data": {"id": "1", "processing_info": {"state": "in_progress",
                                             "check_after_secs": -5}}},
    {"data": {"id": "1", "processing_info": ["succeeded"]}},
    {"data": "succeeded"},
    ["not", "an", "object"],
])
def test_nonsense_in_a_status_answer_is_a_plain_error_and_the_next_try_asks_again(
        x, control, clip, status):
    control.fault(method="GET", path="^/2/media/upload$", status=200, body=status)
    with pytest.raises(TemporaryFailure, match="cannot read"):
        x.publish(Post("The play", (clip,)))
    x.publish(Post("The play", (clip,)))
    [upload] = uploads(control).values()
    assert upload["appends"] == 4 and upload["finalizes"] == 1  # the retry only asked again


def test_a_status_answer_that_is_not_json_is_a_plain_temporary_failure(x, control, clip):
    control.fault(method="GET", path="^/2/media/upload$", status=200, raw_body="<html>oops")
    with pytest.raises(TemporaryFailure, match="could not read"):
        x.publish(Post("The play", (clip,)))


def test_processing_longer_than_steward_waits_is_looked_at_again_later(
        sandbox, control, clip, clock, journal):
    impatient = connector_for(sandbox, clock, journal, processing_wait_seconds=1)
    with pytest.raises(TemporaryFailure, match="still processing"):
        impatient.publish(Post("The play", (clip,)))
    clock.pass_time(5)
    impatient.publish(Post("The play", (clip,)))
    [upload] = uploads(control).values()
    assert upload["appends"] == 4 and upload["finalizes"] == 1  # the retry only asked again


def test_an_upload_past_its_expiry_starts_again_without_touching_the_old_one(
        x, control, clip, clock):
    control.fault(method="POST", path="/append$", status=503, skip=1)
    with pytest.raises(TemporaryFailure):
        x.publish(Post("The play", (clip,)))
    clock.pass_time(86400)
    x.publish(Post("The play", (clip,)))
    assert counts(control)["POST /2/media/upload/initialize"] == 2
    old, new = sorted(uploads(control).values(), key=lambda upload: int(upload["id"]))
    assert old["appends"] == 1 and old["finalizes"] == 0  # nothing more went to the old one
    assert new["appends"] == 4 and new["sha256"] == clip.sha256


def test_an_upload_x_has_forgotten_starts_again_once(x, control, clip, clock):
    control.fault(method="POST", path="/append$", status=503, skip=1)
    with pytest.raises(TemporaryFailure):
        x.publish(Post("The play", (clip,)))
    requests.post(f"{clock.url}/_sandbox/time/advance", json={"seconds": 86400},
                  timeout=5).raise_for_status()  # X's time only: Steward thinks it still holds
    x.publish(Post("The play", (clip,)))
    assert counts(control)["POST /2/media/upload/initialize"] == 2
    assert len(control.state()["x"]["tweets"]) == 1


def test_a_rate_limited_initialize_says_when_to_come_back(x, control, clip):
    control.fault(method="POST", path="/initialize$", status=429, reset_in=60)
    with pytest.raises(RateLimited) as limited:
        x.publish(Post("The play", (clip,)))
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 61


@pytest.mark.slow
def test_refuses_a_video_larger_than_it_can_send_before_uploading(x, control, tmp_path):
    big = Media(tmp_path / "long.mp4", "", "video/mp4", "0" * 64,
                b"\0" * (x.capabilities.max_video_bytes + 1))
    with pytest.raises(Rejected, match="videos up to"):
        x.upload_in_chunks(big)
    assert uploads(control) == {}
