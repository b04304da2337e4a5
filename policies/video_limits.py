"""Whether a video fits a platform: its length, file size, picture size and shape, frame rate and
codecs, each against the platform's documented limit, with a refusal an SLT member can act on
("X takes videos up to 20 minutes; this one is 25 minutes").

Pure: `VideoFacts` (read from the file's index by policies.media.video_facts) and a platform's
`VideoLimits` in, a list of (problem, what to do) out. The limits are the platforms' own
documents, cited beside each table entry and in docs/reference/platform-limits.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.media.video_facts import VideoFacts, duration_words

GB = 1024 ** 3


@dataclass(frozen=True)
class VideoLimits:
    """One platform's limits for a video in a post."""

    platform: str  # as people say it: "X", "Facebook"
    min_seconds: float
    max_seconds: float
    max_bytes: int
    min_bytes: int = 0
    # None: the platform documents no limit (it converts what it gets)
    max_width: int | None = None
    max_height: int | None = None
    min_side: int = 1
    max_frame_rate: float | None = None
    video_codecs: frozenset[str] | None = None
    audio_codecs: frozenset[str] | None = None
    audio_profiles: frozenset[str] | None = None  # None: any profile of an allowed codec
    max_channels: int | None = None
    aspect: tuple[float, float] | None = None  # (narrowest, widest) width / height


# docs.x.com/x-api/media/quickstart/best-practices (default accounts, a video on a Post)
X_VIDEO = VideoLimits(
    "X", min_seconds=0.5, max_seconds=20 * 60, max_bytes=8 * GB, max_width=1280,
    max_height=1024, min_side=32, max_frame_rate=60, video_codecs=frozenset({"H.264"}),
    audio_codecs=frozenset({"AAC"}), audio_profiles=frozenset({"AAC-LC"}), max_channels=2,
    aspect=(1 / 3, 3))
# developers.facebook.com/documentation/video-api/reference/error-codes (1363023: at most 2 GB,
# 1363022: at least 1 KB); Facebook's help centre: videos up to 240 minutes. Meta converts any
# picture size, frame rate and common codec, and documents no limit for them on Page videos.
FACEBOOK_VIDEO = VideoLimits(
    "Facebook", min_seconds=0, max_seconds=240 * 60, max_bytes=2 * GB, min_bytes=1024)
VIDEO_LIMITS = {"x": X_VIDEO, "facebook": FACEBOOK_VIDEO}

EXPORT = ("Export it again {what}, from the phone's Photos or Gallery app or a video editor, "
          "and add it again.")


def video_problems(facts: VideoFacts, limits: VideoLimits) -> list[tuple[str, str]]:
    """Every way the video breaks `limits`, as (problem, what to do); empty when it fits."""
    name = limits.platform
    problems: list[tuple[str, str]] = []
    if facts.seconds > limits.max_seconds:
        problems.append((f"{name} takes videos up to {duration_words(limits.max_seconds)}; "
                         f"this one is {duration_words(facts.seconds)}",
                         "Trim the video, or split it into several posts."))
    elif facts.seconds < limits.min_seconds:
        problems.append((f"{name} takes videos of at least {duration_words(limits.min_seconds)}; "
                         f"this one is {duration_words(facts.seconds)}",
                         "Post a photo instead, or a longer clip."))
    if facts.size < limits.min_bytes:
        problems.append((f"{name} takes video files of at least {limits.min_bytes:,} bytes; "
                         f"this one is {facts.size:,}", "Add the whole recording, not a piece."))
    if facts.size > limits.max_bytes:
        problems.append((f"{name} takes video files up to {limits.max_bytes / GB:g} GB; this "
                         f"one is {facts.size / GB:.1f} GB",
                         EXPORT.format(what="at a lower quality or shorter")))
    problems += _picture(facts, limits)
    if limits.max_frame_rate is not None and facts.frame_rate > limits.max_frame_rate + 0.5:
        problems.append((f"{name} takes videos of up to {limits.max_frame_rate:g} frames a "
                         f"second; this one has {facts.frame_rate:g}",
                         EXPORT.format(what=f"at {min(30, limits.max_frame_rate):g} frames a "
                                       "second (a slow-motion clip: as normal speed)")))
    if limits.video_codecs is not None and facts.video_codec not in limits.video_codecs:
        problems.append((f"{name} takes {_either(limits.video_codecs)} video; this one is "
                         f"{facts.video_codec}",
                         EXPORT.format(what="as H.264 MP4") + " On an iPhone, Settings > "
                         "Camera > Formats > Most Compatible records H.264 from then on."))
    problems += _sound(facts, limits)
    return problems


def _picture(facts: VideoFacts, limits: VideoLimits) -> list[tuple[str, str]]:
    name, problems = limits.platform, list[tuple[str, str]]()
    long_side, short_side = max(facts.width, facts.height), min(facts.width, facts.height)
    if limits.max_width and limits.max_height and (
            long_side > max(limits.max_width, limits.max_height)
            or short_side > min(limits.max_width, limits.max_height)):
        problems.append((f"{name} takes videos up to {limits.max_width}×{limits.max_height} "
                         f"pixels; this one is {facts.width}×{facts.height}",
                         EXPORT.format(what="at 720p (1280×720 or 720×1280)")))
    if short_side < limits.min_side:
        problems.append((f"{name} takes videos of at least {limits.min_side}×{limits.min_side} "
                         f"pixels; this one is {facts.width}×{facts.height}",
                         "Use the original recording, not a thumbnail of it."))
    if limits.aspect and facts.height and short_side:
        shape = facts.width / facts.height
        narrowest, widest = limits.aspect
        if not narrowest <= shape <= widest:
            problems.append((f"{name} takes videos no narrower than {_ratio(narrowest)} and no "
                             f"wider than {_ratio(widest)}; this one is "
                             f"{facts.width}×{facts.height}",
                             "Crop the video to 16:9, 9:16 or square."))
    return problems


def _sound(facts: VideoFacts, limits: VideoLimits) -> list[tuple[str, str]]:
    name, problems = limits.platform, list[tuple[str, str]]()
    if facts.audio_codec is None:
        return problems
    if limits.audio_codecs is not None and facts.audio_codec not in limits.audio_codecs:
        problems.append((f"{name} takes {_either(limits.audio_codecs)} sound; this video's is "
                         f"{facts.audio_codec}", EXPORT.format(what="as MP4 with AAC sound")))
    elif limits.audio_profiles and facts.audio_profile and \
            facts.audio_profile not in limits.audio_profiles:
        problems.append((f"{name} takes {_either(limits.audio_profiles)} sound; this video's is "
                         f"{facts.audio_profile}", EXPORT.format(what="with AAC-LC sound")))
    if limits.max_channels and facts.audio_channels and facts.audio_channels > limits.max_channels:
        problems.append((f"{name} takes mono or stereo sound; this video has "
                         f"{facts.audio_channels} channels", EXPORT.format(what="with stereo "
                                                                           "sound")))
    return problems


def _either(names: frozenset[str]) -> str:
    ordered = sorted(names)
    return ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _ratio(value: float) -> str:
    return f"1:{1 / value:g}" if value < 1 else f"{value:g}:1"
