"""A post with a video, judged as the intake and `steward check` judge it (the assessment, on a
folder read by the reader): what is accepted, and what an SLT member is told otherwise. Real
H.264 clips (tests/clips.py), real signatures, OpenCV's and PyAV's real decoders; no Steward
is started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import StewardSettings
from daemon.posts.approval import sign_submission
from daemon.posts.assessment import assess
from daemon.posts.reading import read_submission
from daemon.runtime.keys import new_key
from policies.submission import approval_manifest
from tests.clips import clip, face_picture
from tests.movies import movie, with_phone_metadata

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WHEN = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def settings_for(tmp_path: Path, **sections) -> tuple[StewardSettings, object]:
    key = new_key("Deputy Head", tmp_path / "deputy.key")
    settings = StewardSettings(
        paths={"state_dir": tmp_path / "state"},
        approval={"approvals_required": 1,
                  "signers": [{"name": key.name, "public_key": key.public_key_base64()}]},
        **sections)
    return settings, key


def video_post(tmp_path: Path, video: bytes, *, listed: str = "videos", file: str = "relay.mp4",
               platforms: str = '["x"]', extra: str = "") -> Path:
    folder = tmp_path / "post"
    folder.mkdir()
    (folder / file).write_bytes(video)
    (folder / "post.md").write_text(
        f'+++\npublish_at = "{WHEN}"\nplatforms = {platforms}\npictured = []\n{extra}'
        f'[[{listed}]]\nfile = "{file}"\nalt = "The last lap of the relay"\n+++\n'
        "Sports day's relay.\n", encoding="utf-8")
    return folder


def judged(tmp_path: Path, video: bytes, **options):
    sections = options.pop("sections", {})
    settings, key = settings_for(tmp_path, **sections)
    folder = video_post(tmp_path, video, **options)
    sign_submission(read_submission(folder, "Europe/London", 10**6), key, 10**7)
    return assess(folder, settings, NOW)


def problems(assessment) -> list[str]:
    return [finding.problem for finding in assessment.findings]


def test_accepts_a_signed_video_for_x_and_cleans_it(tmp_path):
    result = judged(tmp_path, with_phone_metadata(clip(2)))
    assert problems(result) == []
    [video] = result.images
    assert video.mime_type == "video/mp4" and video.report.format == "video"
    assert video.report.removed  # the phone's GPS track and place went
    [examined] = result.videos_examined.values()
    assert examined.frames >= 2 and examined.faces == 0


def test_the_approval_covers_the_video_by_its_hash(tmp_path):
    folder = video_post(tmp_path, clip(2))
    submission = read_submission(folder, "Europe/London", 10**6)
    manifest = approval_manifest(submission, "Deputy Head").decode()
    assert f"video: {submission.media['relay.mp4'].sha256} relay.mp4" in manifest


def test_a_mov_is_taken_as_a_quicktime_movie(tmp_path):
    result = judged(tmp_path, clip(2, container="mov"), file="relay.mov")
    assert problems(result) == []
    assert result.images[0].mime_type == "video/quicktime"


@pytest.mark.parametrize("platform, name", [("facebook", "Facebook")])
def test_refuses_a_video_for_a_platform_whose_connector_takes_none(tmp_path, platform, name):
    result = judged(tmp_path, clip(2), platforms=f'["x", "{platform}"]')
    [finding] = result.findings
    assert finding.problem == (f"{name} cannot take videos through Steward yet, and this post "
                               f"goes to {name}")
    assert platform in finding.fix


def test_refuses_a_picture_listed_as_a_video(tmp_path):
    photo = (Path(__file__).resolve().parent.parent / "samples" / "faces" / "must-refuse"
             / "a-face" / "photo.jpg").read_bytes()
    result = judged(tmp_path, photo, file="relay.jpg")
    assert "'relay.jpg' is listed under [[videos]] but is a picture" in problems(result)


def test_tells_a_video_listed_as_an_image_to_move_to_videos(tmp_path):
    result = judged(tmp_path, clip(2), listed="images")
    assert "'relay.mp4' is a video, listed under [[images]]" in problems(result)


def test_refuses_a_video_with_a_face_even_where_photos_are_blurred(tmp_path):
    result = judged(tmp_path, clip(2, picture=face_picture(320, 240)),
                    sections={"faces": {"policy": "blur"}})
    assert "video 'relay.mp4' appears to show 1 face in at least one frame" in problems(result)
    assert "cannot blur faces in videos" in result.findings[0].fix


def test_examines_no_frame_where_the_school_allows_faces(tmp_path):
    result = judged(tmp_path, clip(2, picture=face_picture(320, 240)),
                    sections={"faces": {"policy": "allow"}})
    assert problems(result) == []
    assert result.videos_examined is None


def test_refuses_a_video_longer_than_steward_examines_for_faces(tmp_path):
    result = judged(tmp_path, clip(3), sections={"faces": {"max_video_seconds": 2}})
    [problem] = problems(result)
    assert "cannot be examined for faces, so it was not published" in problem
    assert "Steward examines videos of up to 2 seconds" in problem


def test_refuses_a_video_whose_pictures_cannot_be_decoded(tmp_path):
    result = judged(tmp_path, movie())
    assert any("cannot be examined for faces" in problem and "cannot be decoded" in problem
               for problem in problems(result))


def test_refuses_a_video_x_would_refuse_in_x_s_words(tmp_path):
    result = judged(tmp_path, clip(1, size=(1920, 1080), fps=5))
    assert "video 'relay.mp4': X takes videos up to 1280×1024 pixels; this one is 1920×1080" \
        in problems(result)


def test_refuses_a_video_beside_photos_where_x_takes_a_video_alone(tmp_path):
    from daemon.posts.sample_images import png_image  # noqa: PLC0415

    photo = '[[images]]\nfile = "garden.png"\nalt = "The school garden in July"\n'
    settings, key = settings_for(tmp_path)
    folder = video_post(tmp_path, clip(2), extra=photo)
    (folder / "garden.png").write_bytes(png_image(16, 12, seed=1))
    sign_submission(read_submission(folder, "Europe/London", 10**6), key, 10**7)
    result = assess(folder, settings, NOW)
    assert problems(result) == [
        "X takes a video alone in its post, and this one also has 1 photo"]


def test_finds_a_face_in_a_phone_video_recorded_upright(tmp_path):
    """A phone held upright stores its pictures on their side with a quarter turn in the
    index; the face check looks at them the way they are shown."""
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    import numpy  # noqa: PLC0415

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/install-system-packages installs it)")
    sideways = numpy.ascontiguousarray(numpy.rot90(face_picture(320, 240), 1))
    (tmp_path / "side.mp4").write_bytes(clip(2, size=(240, 320), picture=sideways))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp_path / "side.mp4"), "-c",
                    "copy", "-metadata:s:v:0", "rotate=90", str(tmp_path / "upright.mp4")],
                   check=True)
    result = judged(tmp_path, (tmp_path / "upright.mp4").read_bytes())
    assert "video 'relay.mp4' appears to show 1 face in at least one frame" in problems(result)


def test_a_video_post_must_say_who_is_pictured(tmp_path):
    settings, key = settings_for(tmp_path)
    folder = video_post(tmp_path, clip(2))
    (folder / "post.md").write_text((folder / "post.md").read_text().replace(
        "pictured = []\n", ""))
    sign_submission(read_submission(folder, "Europe/London", 10**6), key, 10**7)
    assert "the post has a video but does not say which pupils are pictured" in \
        problems(assess(folder, settings, NOW))
