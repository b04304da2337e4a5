"""The post fits where it is going: known, enabled platforms; text within each platform's length;
no more images than a platform takes; a video only where the platform's connector declares it
can take one (`VideoFit`, from its capabilities: never decided by the platform's name), within
the platform's documented limits (policies.video_limits); every image and video described for
people who cannot see it."""

from __future__ import annotations

import re
import unicodedata

from policies.displayed_text import visible
from policies.findings import Finding, PolicyContext, Rule, VideoFit
from policies.media.boxes import IsoError, Source
from policies.media.video_facts import video_facts
from policies.media_files import megabytes
from policies.submission import ImageRef, Submission, readable_media
from policies.video_limits import VIDEO_LIMITS, video_problems

KNOWN_PLATFORMS = ("x", "facebook")
_URL = re.compile(r"https?://\S+")
X_URL_LENGTH = 23  # every link counts as 23 characters on X, whatever its length
# twitter-text v3: these code point ranges weigh 1, everything else (CJK, emoji) weighs 2.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def x_weighted_length(text: str) -> int:
    """Length of `text` as X counts it: NFC, links 23, CJK and emoji 2, the rest 1."""
    text = unicodedata.normalize("NFC", text)
    links = _URL.findall(text)
    rest = _URL.sub("", text)
    weight = sum(1 if any(low <= ord(ch) <= high for low, high in _LIGHT_RANGES) else 2
                 for ch in rest)
    return weight + X_URL_LENGTH * len(links)


def text_length(platform: str, text: str) -> int:
    return x_weighted_length(text) if platform == "x" else len(text)


def target_platforms(submission: Submission, context: PolicyContext) -> tuple[str, ...]:
    """The platforms a submission will go to: those it names, or every enabled one."""
    return submission.platforms if submission.platforms is not None else context.enabled_platforms


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    findings = []
    platforms = target_platforms(submission, context)
    for platform in platforms:
        if platform not in KNOWN_PLATFORMS:
            findings.append(RULE.finding(
                f"'{platform}' is not a platform Steward knows",
                f"Use some of: {', '.join(KNOWN_PLATFORMS)}."))
        elif platform not in context.enabled_platforms:
            findings.append(RULE.finding(
                f"'{platform}' is not enabled for this school",
                f"Remove it, or ask the administrator to enable it. Enabled: "
                f"{', '.join(context.enabled_platforms) or 'none'}."))
    unused = set(submission.platform_text) - set(platforms)
    for platform in sorted(unused):
        findings.append(RULE.finding(
            f"[text] gives a text for '{platform}', which the post does not go to",
            "Remove that text or add the platform to platforms."))
    for platform in platforms:
        if platform not in context.enabled_platforms:
            continue
        text = submission.text_for(platform)
        limit = context.max_text_length.get(platform)
        length = text_length(platform, text)
        if limit is not None and length > limit:
            findings.append(RULE.finding(
                f"the text for {platform} is {length} characters; {platform} allows {limit}",
                f"Shorten it, or give a shorter text for {platform} under [text]."))
        pictures = [image for image in submission.images if not image.is_video]
        videos = [image for image in submission.images if image.is_video]
        most = context.max_images.get(platform)
        if most is not None and len(pictures) > most:
            findings.append(RULE.finding(
                f"the post has {len(pictures)} images; {platform} takes at most {most}",
                "Remove images, or send the extra ones in another post."))
        if videos:
            findings += _video_fit(submission, platform, pictures, videos, context)
        largest = context.max_image_bytes.get(platform)
        for image in pictures:
            size = len(readable_media(submission, image) or b"")
            if largest and size > largest:
                findings.append(RULE.finding(
                    f"image '{image.file}' is {size / 1048576:.1f} MB; {platform} takes images "
                    f"up to {largest / 1048576:.0f} MB",
                    "Export a smaller version (2,000 pixels on the long side is plenty)."))
        if not text and not submission.images:
            findings.append(RULE.finding(f"the post has nothing to say on {platform}",
                                         "Write some text for it."))
    for image in submission.images:
        if len(image.alt) < 3:
            findings.append(RULE.finding(
                f"{image.kind} '{image.file}' has no alt text",
                f"Add alt = \"what the {'video' if image.is_video else 'picture'} shows\" "
                "(without children's names) so that people using screen readers are not left "
                "out.", cites="alt-text"))
    return findings


def _video_fit(submission: Submission, platform: str, pictures: list[ImageRef],
               videos: list[ImageRef], context: PolicyContext) -> list[Finding]:
    """Whether `platform` takes the post's videos: as many as its connector declares, beside
    photos only where it says so, and each within the platform's limits."""
    fit = context.video_fit.get(platform, VideoFit(platform))
    if fit.max_videos == 0:
        return [RULE.finding(
            f"{fit.name} cannot take videos through Steward yet, and this post goes to "
            f"{fit.name}", f"Send the video to the platforms that take one (leave {platform} "
            "out of platforms = [...]), and post photos to "
            f"{fit.name} in a post of their own.")]
    findings = []
    if len(videos) > fit.max_videos:
        findings.append(RULE.finding(
            f"the post has {len(videos)} videos; {fit.name} takes {fit.max_videos} in a post",
            "Send each video in a post of its own."))
    if pictures and not fit.with_images:
        findings.append(RULE.finding(
            f"{fit.name} takes a video alone in its post, and this one also has "
            f"{len(pictures)} photo{'s' if len(pictures) > 1 else ''}",
            "Send the photos in another post."))
    limits = VIDEO_LIMITS.get(platform)
    for video in videos:
        data = readable_media(submission, video)
        if data is None:
            continue  # the media-files rule says why
        shown = visible(video.file)
        if fit.max_bytes and len(data) > fit.max_bytes:
            findings.append(RULE.finding(
                f"video '{shown}' is {megabytes(len(data))} MB; Steward sends videos of up to "
                f"{megabytes(fit.max_bytes)} MB to {fit.name}",
                "Trim the video or export it again at a lower quality."))
        if limits is None:
            continue
        try:
            facts = video_facts(Source(data))
        except IsoError:
            continue  # the location rule, which cleans it, says why it cannot be used
        for problem, fix in video_problems(facts, limits):
            findings.append(RULE.finding(f"video '{shown}': {problem}", fix))
    return findings


RULE = Rule("platform-fit", "steward.format", check)
