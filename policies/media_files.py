"""Every image named is a real, readable image file inside the submission, within the size limit.

A link pointing out of the inbox, a device, a huge file or a file that is not an image is refused
here, before anything else reads it.
"""

from __future__ import annotations

from policies.displayed_text import visible
from policies.findings import Finding, PolicyContext, Rule
from policies.media.cleaning import describe_unsupported
from policies.submission import Submission

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
            findings.append(RULE.finding(problem[0].format(name=visible(name), detail=found.detail),
                                         problem[1]))
            continue
        if found.problem == "too-large":
            findings.append(RULE.finding(
                f"image '{name}' is {found.size / 1048576:,.1f} MB; the limit is "
                f"{context.max_media_bytes / 1048576:,.1f} MB",
                "Export a smaller version of the picture (2,000 pixels wide is plenty)."))
            continue
        head = (found.data or b"")[:16]
        if sniff_image_type(head) is None:
            what = describe_unsupported(head)
            findings.append(RULE.finding(
                f"'{name}' is {what} file; X and Facebook posts take JPEG, PNG, GIF or WebP "
                "images" if not what.startswith("not") else f"'{name}' is {what}",
                "Save the picture as JPEG (on an iPhone: Settings > Camera > Formats > Most "
                "Compatible, or share it as JPEG)."))
    return findings


RULE = Rule("media-files", "steward.format", check)
