"""The post fits where it is going: known, enabled platforms; text within each platform's length;
no more images than a platform takes; every image described for people who cannot see it."""

from __future__ import annotations

import re
import unicodedata

from policies.findings import Finding, PolicyContext, Rule
from policies.submission import Submission, readable_media

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
        most = context.max_images.get(platform)
        if most is not None and len(submission.images) > most:
            findings.append(RULE.finding(
                f"the post has {len(submission.images)} images; {platform} takes at most {most}",
                "Remove images, or send the extra ones in another post."))
        largest = context.max_image_bytes.get(platform)
        for image in submission.images:
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
                f"image '{image.file}' has no alt text",
                "Add alt = \"what the picture shows\" (without children's names) so that people "
                "using screen readers are not left out.", cites="alt-text"))
    return findings


RULE = Rule("platform-fit", "steward.format", check)
