"""A video's facts are read from its index (length, size as shown, frame rate, codecs, sound),
and each platform's limits refuse what the platform would, in words an SLT member can act on."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.media.boxes import IsoError, Source
from policies.media.video_facts import VideoFacts, duration_words, video_facts
from policies.video_limits import FACEBOOK_VIDEO, X_VIDEO, video_problems
from tests.movies import movie, sound, top_boxes, video

PHONE_CLIP = VideoFacts(seconds=12, width=720, height=1280, frame_rate=30, video_codec="H.264",
                        audio_codec="AAC", audio_channels=2, size=9_000_000,
                        audio_profile="AAC-LC")


def facts_of(data: bytes) -> VideoFacts:
    return video_facts(Source(data=data))


def ffmpeg_clip(tmp_path: Path, *arguments: str) -> bytes:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/install-system-packages installs it)")
    target = tmp_path / "clip.mp4"
    result = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                             "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i",
                             "sine=sample_rate=48000", "-t", "2", *arguments, str(target)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.skip(f"this ffmpeg cannot encode {arguments}: {result.stderr.strip()[:200]}")
    return target.read_bytes()


# -- facts ---------------------------------------------------------------------------------------

def test_the_facts_of_a_built_video_come_from_its_index():
    facts = facts_of(movie([video(), sound()]))
    assert (facts.width, facts.height, facts.video_codec, facts.audio_codec) == \
        (64, 48, "H.264", "AAC")
    assert facts.seconds == pytest.approx(0.1) and facts.frame_rate == 120.0  # 12 frames in 0.1 s


def test_a_portrait_video_turned_by_its_matrix_is_as_tall_as_it_is_shown():
    upright = video()
    upright.turned, upright.size = True, (1920, 1080)
    facts = facts_of(movie([upright, sound()]))
    assert (facts.width, facts.height) == (1080, 1920)


def test_the_facts_of_an_ffmpeg_clip_match_what_ffmpeg_wrote(tmp_path):
    facts = facts_of(ffmpeg_clip(tmp_path, "-c:v", "libx264", "-preset", "ultrafast",
                                 "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"))
    assert (facts.width, facts.height, facts.frame_rate) == (320, 240, 25)
    assert (facts.video_codec, facts.audio_codec, facts.audio_profile, facts.audio_channels) == \
        ("H.264", "AAC", "AAC-LC", 2)
    assert facts.seconds == pytest.approx(2, abs=0.1)
    assert video_problems(facts, X_VIDEO) == [] and video_problems(facts, FACEBOOK_VIDEO) == []


def test_six_channel_and_high_efficiency_sound_are_read_from_the_decoder_settings(tmp_path):
    surround = facts_of(ffmpeg_clip(tmp_path, "-c:v", "libx264", "-preset", "ultrafast",
                                    "-c:a", "aac", "-ac", "6"))
    assert surround.audio_channels == 6  # the sample entry itself says 2
    efficient = facts_of(ffmpeg_clip(tmp_path, "-c:v", "libx264", "-preset", "ultrafast",
                                     "-c:a", "aac", "-profile:a", "aac_he"))
    assert efficient.audio_profile == "HE-AAC"


def test_an_hevc_clip_is_named_as_such(tmp_path):
    facts = facts_of(ffmpeg_clip(tmp_path, "-c:v", "libx265", "-preset", "ultrafast",
                                 "-tag:v", "hvc1", "-an"))
    assert facts.video_codec == "HEVC" and facts.audio_codec is None


def test_a_sound_recording_has_no_video_facts():
    with pytest.raises(IsoError, match="no picture track"):
        facts_of(movie([sound()]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_damaged_index_gives_facts_or_an_iso_error_never_a_crash(flips):
    data = bytearray(movie([video(6), sound(5)]))
    start, end = next((start, end) for kind, start, end in top_boxes(bytes(data))
                      if kind == b"moov")
    for position, value in flips:
        data[start + position % (end - start)] = value
    try:
        facts_of(bytes(data))
    except IsoError:
        pass


@pytest.mark.parametrize("seconds, words", [(45, "45 seconds"), (180, "3 minutes"),
                                            (150, "2 minutes 30 seconds"),
                                            (3900, "1 hour 5 minutes"), (0.2, "0.2 seconds")])
def test_durations_are_said_in_words(seconds, words):
    assert duration_words(seconds) == words


# -- limits --------------------------------------------------------------------------------------

def test_a_phone_clip_fits_x_and_facebook():
    assert video_problems(PHONE_CLIP, X_VIDEO) == []
    assert video_problems(PHONE_CLIP, FACEBOOK_VIDEO) == []


@pytest.mark.parametrize("change, problem", [
    ({"seconds": 25 * 60}, "X takes videos up to 20 minutes; this one is 25 minutes"),
    ({"seconds": 0.2}, "X takes videos of at least 0.5 seconds; this one is 0.2 seconds"),
    ({"size": 9 * 1024 ** 3}, "X takes video files up to 8 GB; this one is 9.0 GB"),
    ({"width": 1920, "height": 1080}, "X takes videos up to 1280×1024 pixels; this one is "
                                      "1920×1080"),
    ({"width": 16, "height": 16}, "X takes videos of at least 32×32 pixels"),
    ({"width": 1200, "height": 300}, "no wider than 3:1; this one is 1200×300"),
    ({"frame_rate": 120}, "X takes videos of up to 60 frames a second; this one has 120"),
    ({"video_codec": "HEVC"}, "X takes H.264 video; this one is HEVC"),
    ({"audio_profile": "HE-AAC"}, "X takes AAC-LC sound; this video's is HE-AAC"),
    ({"audio_codec": "Opus"}, "X takes AAC sound; this video's is Opus"),
    ({"audio_channels": 6}, "X takes mono or stereo sound; this video has 6 channels"),
])
def test_x_refuses_what_x_would_with_what_to_do(change, problem):
    problems = video_problems(dataclasses.replace(PHONE_CLIP, **change), X_VIDEO)
    assert len(problems) == 1 and problem in problems[0][0]
    assert problems[0][1].endswith(".")


def test_facebook_takes_what_x_does_not_but_not_a_file_over_two_gigabytes():
    big_modern = dataclasses.replace(PHONE_CLIP, width=3840, height=2160, frame_rate=60,
                                     video_codec="HEVC", seconds=30 * 60)
    assert video_problems(big_modern, FACEBOOK_VIDEO) == []
    problems = video_problems(dataclasses.replace(big_modern, size=3 * 1024 ** 3),
                              FACEBOOK_VIDEO)
    assert [problem for problem, _ in problems] == [
        "Facebook takes video files up to 2 GB; this one is 3.0 GB"]
    long = video_problems(dataclasses.replace(PHONE_CLIP, seconds=5 * 3600), FACEBOOK_VIDEO)
    assert long[0][0] == "Facebook takes videos up to 4 hours; this one is 5 hours"
