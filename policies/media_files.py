"""Every image named is a real, readable image file inside the submission, within the size limit.

A link pointing out of the inbox, a device, a huge file or a file that is not an image is refused
here, before anything else reads it.
"""

from __future__ import annotations

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
        if "/" in name or "\\" in name or name in (".", ".."):
            findings.append(RULE.finding(
                f"image '{name}' is not a plain file name in the post's folder",
                "Put the image in the same folder as post.md and give just its name."))
            continue
        path = submission.image_path(image)
        if path.is_symlink():
            findings.append(RULE.finding(
                f"image '{name}' is a symbolic link",
                "Copy the image itself into the post's folder."))
            continue
        if not path.exists():
            findings.append(RULE.finding(f"image '{name}' is missing from the post's folder",
                                         "Add the file, or correct its name in [[images]]."))
            continue
        if not path.is_file():
            findings.append(RULE.finding(f"'{name}' is not a regular file",
                                         "Name an image file."))
            continue
        size = path.stat().st_size
        if size > context.max_media_bytes:
            findings.append(RULE.finding(
                f"image '{name}' is {size / 1048576:,.1f} MB; the limit is "
                f"{context.max_media_bytes / 1048576:,.1f} MB",
                "Export a smaller version of the picture (2,000 pixels wide is plenty)."))
            continue
        try:
            with open(path, "rb") as handle:
                head = handle.read(16)
        except OSError as error:
            findings.append(RULE.finding(f"image '{name}' cannot be read ({error.strerror})",
                                         "Check the file's permissions and copy it again."))
            continue
        if sniff_image_type(head) is None:
            what = describe_unsupported(head)
            findings.append(RULE.finding(
                f"'{name}' is {what} file; X and Facebook posts take JPEG, PNG, GIF or WebP "
                "images" if not what.startswith("not") else f"'{name}' is {what}",
                "Save the picture as JPEG (on an iPhone: Settings > Camera > Formats > Most "
                "Compatible, or share it as JPEG)."))
    return findings


RULE = Rule("media-files", "steward.format", check)
