"""OpenCV's face detector, made ready for the policies: the process's OpenCV settings first,
then the cascades read from the opencv-python-headless wheel, checked, once per process.

OPENCV_IO_MAX_IMAGE_PIXELS is read once, when the cv2 library loads (OpenCV 4.x, loadsave.cpp:
a static initialised from the environment), so it is set here, before this module imports cv2
(or policies.media.faces, which imports it); a larger value already in the environment is
lowered to DECODER_LIMIT. If something imported cv2 before this module, its limit stays
whatever it was then: the policies' own header check (policies.media.dimensions) is the first
guard either way. OpenCV would also start one thread per core, and a big host would hit the
unit's TasksMax: THREADS caps it.

The rest of Steward reaches OpenCV only through here (`face_detector()`, `count_faces`,
`blurred`, `blur_faces`), importing this module when a picture first needs examining: OpenCV
costs 30 MB, and posts without pictures, or without approvals, never load it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

DECODER_LIMIT = 100_000_000  # OpenCV's own refusal: 300 MB for a colour picture
THREADS = 2
CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml")


def _limit_decoder() -> None:
    """Make OpenCV refuse pictures above DECODER_LIMIT pixels (read when cv2 loads)."""
    current = os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "")
    if not (current.isdigit() and 0 < int(current) <= DECODER_LIMIT):
        os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(DECODER_LIMIT)


_limit_decoder()

import cv2  # noqa: E402 - after the limit is set
import cv2.data  # noqa: E402 - the cascades' folder (a subpackage, not in cv2's own stubs)

from policies.media.faces import DEFAULT_MAX_PIXELS, FaceDetector  # noqa: E402 - imports cv2

cv2.setNumThreads(THREADS)


class DetectorUnavailable(Exception):
    """OpenCV's face detector cannot be loaded; the message says what the administrator
    should do."""


@lru_cache(maxsize=1)
def face_detector() -> FaceDetector:
    """The detector, loaded the first time it is asked for. Raise DetectorUnavailable if a
    cascade is missing or unreadable (cv2 would otherwise give an empty one, which finds
    nothing and fails only at the first picture)."""
    loaded = []
    for name in CASCADES:
        path = Path(cv2.data.haarcascades) / name
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise DetectorUnavailable(
                f"OpenCV's face detector cannot be loaded from {path}: reinstall Steward's "
                "dependencies (pip install --force-reinstall opencv-python-headless)")
        loaded.append(cascade)
    return FaceDetector(*loaded)


def _bytes_of(source: Path | bytes) -> bytes:
    return bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()


def count_faces(source: Path | bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """How many faces the picture (bytes, or a file) shows: see FaceDetector.count."""
    return face_detector().count(_bytes_of(source), max_pixels)


def blurred(data: bytes, as_png: bool = False,
            max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, int]:
    """The picture with every face pixelated, and how many: see FaceDetector.blurred."""
    return face_detector().blurred(data, as_png=as_png, max_pixels=max_pixels)


def blur_faces(source: Path, target: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """Write `source` to `target` with every face pixelated beyond recognition (JPEG quality
    92, or PNG for a .png target); return how many."""
    encoded, faces = blurred(Path(source).read_bytes(), as_png=Path(target).suffix.lower() == ".png",
                             max_pixels=max_pixels)
    Path(target).write_bytes(encoded)
    return faces
