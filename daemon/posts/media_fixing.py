"""The intake's fixer for pictures and videos: make the cleaned copy of every image and video,
in memory, from the bytes the reader read, and prove it clean; and `clean_file`, the same for
one file on disk (`steward media clean`). A video is cleaned by the lossless movie cleaner
(policies.media.movie: its picture and sound samples byte for byte); its faces are never
blurred (Steward cannot), so a video with faces is refused by the faces rule instead.

Each picture is cleaned of location and identifying metadata losslessly (faces pixelated first
where the school blurs them), then cleaned again: a second pass must find nothing to remove.
The policies then judge the cleaned bytes, and the intake writes exactly those bytes into the
folder Steward owns; their SHA-256 is recorded and checked again before each upload.
The originals stay as SLT signed them; only the cleaned copies are ever sent.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, replace

from daemon.posts.picture_files import clean_file, verify_clean
from policies.media import UncleanableMedia, clean_stream, prove_clean
from policies.media.cleaning import CleanReport
from policies.media_files import media_type, sniff_image_type
from policies.submission import MediaFile, Submission, readable_media

CLEAN_FOLDER = ".steward-clean"
__all__ = ["CLEAN_FOLDER", "CleanedImage", "PreparedMedia", "clean_bytes", "clean_file",
           "prepare_media", "verify_clean"]


@dataclass(frozen=True)
class CleanedImage:
    """One picture as it will be published: its cleaned bytes and what cleaning did."""

    file: str
    alt: str
    data: bytes
    report: CleanReport
    original_sha256: str
    faces_blurred: int = 0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def mime_type(self) -> str:
        return media_type(self.data[:16]) or "application/octet-stream"

    def description(self) -> dict:
        """How the publisher finds and checks it: path inside the post, alt text, type, hash."""
        return {"file": f"{CLEAN_FOLDER}/{self.file}", "alt": self.alt, "mime": self.mime_type,
                "sha256": self.sha256}


@dataclass(frozen=True)
class PreparedMedia:
    """The submission with every picture that could be cleaned replaced by its cleaned copy
    (pictures that could not be cleaned keep their original bytes, so the location rule says
    why), and the cleaned pictures themselves."""

    submission: Submission
    images: tuple[CleanedImage, ...] = ()


def prepare_media(submission: Submission, *, blur: bool, may_decode: bool,
                  max_pixels: int) -> PreparedMedia:
    """Clean each image of `submission` in memory, blurring faces first when `blur` (and only
    when `may_decode`: nothing is decoded for a post without its approvals, nor any picture
    whose headers promise more than `max_pixels`)."""
    cleaned: list[CleanedImage] = []
    media = dict(submission.media)
    for image in submission.images:
        data = readable_media(submission, image)
        if data is None:
            continue  # the media-files rule says why
        try:
            faces = 0
            if blur and may_decode and not image.is_video:
                from daemon.posts.face_detection import blurred, count_faces  # noqa: PLC0415

                if count_faces(data, max_pixels):
                    png = sniff_image_type(data[:16]) == "image/png"
                    blurred_data, faces = blurred(data, as_png=png, max_pixels=max_pixels)
                    data = blurred_data
            output, report = clean_bytes(data)
        except (UncleanableMedia, ValueError):
            continue  # the location or faces rule, run on the original, says why
        cleaned.append(CleanedImage(image.file, image.alt, output, report,
                                    hashlib.sha256(readable_media(submission, image) or b"")
                                    .hexdigest(), faces))
        media[image.file] = MediaFile(image.file, data=output, size=len(output))
    return PreparedMedia(replace(submission, media=media), tuple(cleaned))


def clean_bytes(data: bytes) -> tuple[bytes, CleanReport]:
    """Clean a picture given as bytes; prove the result clean by cleaning it again.

    Raise UncleanableMedia if it cannot be cleaned, or if the second pass still finds something.
    """
    sink = io.BytesIO()
    report = clean_stream(io.BytesIO(data), sink)
    output = sink.getvalue()
    prove_clean(io.BytesIO(output), report)
    return output, report


