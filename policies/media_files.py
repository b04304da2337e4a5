"""Every image or video named is a real, readable file of that kind inside the submission,
within its size limit.

A link pointing out of the inbox, a device, a huge file or a file that is not what it is listed
as (a picture under [[videos]], a video under [[images]]) is refused here, before anything else
reads it: each kind has its own size limit, and a picture must not borrow the video's.
"""

from __future__ import annotations

from policies.displayed_text import visible
from policies.findings import Finding, PolicyContext, Rule
from policies.media.cleaning import describe_unsupported
from policies.submission import MediaFile, Submission

IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image_type(head: bytes) -> str | None:
    """The image type the first bytes of a file announce, or None."""
    for signature, mime_type in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return mime_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


# An ISOBMFF file (ftyp first) of one of these brands is a still picture (HEIC, AVIF).
_STILL_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"avif", b"avis")


def sniff_video_type(head: bytes) -> str | None:
    """The video type the first bytes of a file announce (an MP4 or a QuickTime movie, as
    phones record them), or None."""
    if head[4:8] != b"ftyp" or head[8:12] in _STILL_BRANDS:
        return None
    return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"


def media_type(head: bytes) -> str | None:
    """The picture or video type the first bytes of a file announce, or None."""
    return sniff_image_type(head) or sniff_video_type(head)


# What to say about an image the reader could not take whole: (problem, what to do).
_FILE_PROBLEMS = {
    "bad-name": ("image '{name}' is not a plain file name in the post's folder",
                 "Put the image in the same folder as post.md and give just its name (not a "
                 "hidden name starting with a dot)."),
    "link": ("image '{name}' is a symbolic link", "Copy the image itself into the post's folder."),
    "missing": ("image '{name}' is missing from the post's folder",
                "Add the file, or correct its name in [[images]]."),
    "not-a-file": ("'{name}' is not a regular file", "Name an image file."),
    "hard-link": ("image '{name}' is a hard link to a file elsewhere, which could be changed "
                  "after it was signed", "Copy the picture (do not link it) into the post's "
                  "folder, and sign the post again."),
    "changed": ("image '{name}' was replaced while Steward was reading it",
                "Put the post in the inbox again once it is complete (use `steward submit`)."),
    "unreadable": ("image '{name}' cannot be read ({detail})",
                   "Check the file's permissions and copy it again."),
}


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    findings = []
    seen = set()
    for image in submission.images:
        name = image.file
        if name in seen:
            findings.append(RULE.finding(f"image '{name}' is listed twice",
                                         "List each image once."))
            continue
        seen.add(name)
        found = submission.media_for(image)
        problem = _FILE_PROBLEMS.get(found.problem or "")
        if problem is not None:
            what = problem[0].format(name=visible(name), detail=found.detail)
            fix = problem[1]
            if image.is_video:
                what = what.replace("image '", "video '", 1)
                fix = fix.replace("[[images]]", "[[videos]]").replace("an image", "a video") \
                    .replace("picture", "video").replace("image", "video")
            findings.append(RULE.finding(what, fix))
            continue
        if image.is_video:
            findings += _video_file(image.file, found.data or b"", found, context)
            continue
        if found.problem == "too-large":
            findings.append(RULE.finding(
                f"image '{name}' is {found.size / 1048576:,.1f} MB; the limit is "
                f"{context.max_media_bytes / 1048576:,.1f} MB",
                "Export a smaller version of the picture (2,000 pixels wide is plenty)."))
            continue
        head = (found.data or b"")[:16]
        if sniff_video_type(head) is not None:
            findings.append(RULE.finding(
                f"'{name}' is a video, listed under [[images]]",
                f'List it under [[videos]] instead: [[videos]] then file = "{name}" and '
                'alt = "what the video shows", and sign the post again.'))
            continue
        if sniff_image_type(head) is None:
            what = describe_unsupported(head)
            findings.append(RULE.finding(
                f"'{name}' is {what} file; X and Facebook posts take JPEG, PNG, GIF or WebP "
                "images" if not what.startswith("not") else f"'{name}' is {what}",
                "Save the picture as JPEG (on an iPhone: Settings > Camera > Formats > Most "
                "Compatible, or share it as JPEG)."))
    return findings


def megabytes(size: int) -> str:
    """'250', '9.5', '0.6': a size in MB as a person reads it."""
    value = size / 1048576
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _video_file(name: str, data: bytes, found: MediaFile, context: PolicyContext
                ) -> list[Finding]:
    """A file listed under [[videos]]: within the video limit, and a video by its content."""
    shown = visible(name)
    if found.problem == "too-large":
        return [RULE.finding(
            f"video '{shown}' is {megabytes(found.size)} MB; Steward takes videos up to "
            f"{megabytes(context.max_video_bytes)} MB",
            "Trim the video, or export it again at a lower quality (720p is plenty for social "
            "media: on a phone, share it from the Photos or Gallery app and pick a smaller "
            "size), sign the post again and hand it in again.")]
    if sniff_video_type(data[:16]) is None:
        what = "a picture" if sniff_image_type(data[:16]) else describe_unsupported(data[:16])
        if what.startswith("not"):
            what = "not a video Steward recognises"
        return [RULE.finding(
            f"'{shown}' is listed under [[videos]] but is {what}",
            "Steward takes videos as MP4 or MOV files, as phones record them; a photo goes "
            "under [[images]].")]
    return []


RULE = Rule("media-files", "steward.format", check)
