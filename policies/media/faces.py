"""Find faces in a picture, and blur them, with OpenCV's Haar cascades: pure, bytes in and a
count or bytes out, given a `FaceDetector` (the cascades, loaded).

The daemon makes the detector (daemon.posts.face_detection): it sets OpenCV's decoder limit
and thread count before cv2 loads, which are settings of the whole process, and reads the
cascades from the opencv-python-headless wheel (nothing is downloaded at run time). A policy
does neither: it is given the detector, as it is given the roster.

A face is reported only where two different cascades (frontal "default" and "alt2") agree on
the same region: each alone mistakes animals and textures for faces. Pictures are decoded with
their orientation applied and scanned at most 1,000 pixels on the long side; every frame of an
animated GIF, PNG or WebP is scanned, since every frame is published. Decoding is the
only place Steward decodes pixels; a picture is re-encoded only when its faces are blurred.

Nothing is decoded before its size is known: the size a decoder will allocate is read from the
picture's headers first (policies.media.dimensions, which refuses headers that disagree), and a
picture above `max_pixels` is refused. OpenCV's own limit (set by the daemon before cv2 loads)
is the second guard, for whatever the header walk might miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy

from policies.media.cleaning import UncleanableMedia
from policies.media.dimensions import refuse_larger_than

DEFAULT_MAX_PIXELS = 50_000_000  # faces.max_megapixels' default
LONG_SIDE = 1000


class UnexaminablePicture(ValueError):
    """The picture cannot be examined for faces; the message says why and what to do."""


Box = tuple[int, int, int, int]  # x, y, width, height


def _overlap(first: Sequence[int], second: Sequence[int]) -> float:
    x1, y1, w1, h1 = first
    x2, y2, w2, h2 = second
    width = max(0, min(x1 + w1, x2 + w2) - max(x1, x2))
    height = max(0, min(y1 + h1, y2 + h2) - max(y1, y2))
    shared = width * height
    return shared / float(w1 * h1 + w2 * h2 - shared) if shared else 0.0


def _checked_size(data: bytes, max_pixels: int) -> tuple[int, int]:
    try:
        return refuse_larger_than(data, max_pixels)
    except UncleanableMedia as error:
        raise UnexaminablePicture(str(error)) from None


def _decode(data: bytes, flags: int, max_pixels: int) -> numpy.ndarray:
    """Decode a picture, once its headers say it has at most `max_pixels` pixels. The bytes
    checked are the bytes decoded. Raise UnexaminablePicture (a ValueError) otherwise, or if
    it cannot be decoded."""
    _checked_size(data, max_pixels)
    try:
        picture = cv2.imdecode(numpy.frombuffer(data, dtype=numpy.uint8), flags)
    except cv2.error:  # OpenCV's own limit (DECODER_LIMIT), or a decoder's failure
        raise UnexaminablePicture(_TOO_LARGE) from None
    if picture is None:
        raise UnexaminablePicture("the picture cannot be decoded")
    return picture


_TOO_LARGE = ("the picture is too large or too damaged to examine for faces. Export it again "
              "as a JPEG of 12 megapixels or fewer and add it again.")


def frames(data: bytes, flags: int, max_pixels: int) -> list[numpy.ndarray]:
    """Every frame of a picture: one for a still, each frame of an animated GIF, PNG or WebP
    (every frame is published, so every frame is examined). An animation may hold as many
    frames as fit in `max_pixels` altogether; raise UnexaminablePicture for more, or for one
    that cannot be decoded."""
    width, height = _checked_size(data, max_pixels)
    if data[:3] == b"\xff\xd8\xff":  # JPEG: never animated, and decoded with its orientation
        return [_decode(data, flags, max_pixels)]
    allowed = max(1, max_pixels // max(1, width * height))
    try:
        ok, decoded = cv2.imdecodemulti(numpy.frombuffer(data, dtype=numpy.uint8), flags, [],
                                        (0, allowed + 1))
    except cv2.error:
        raise UnexaminablePicture(_TOO_LARGE) from None
    if not ok or not decoded:
        return [_decode(data, flags, max_pixels)]
    if len(decoded) > allowed:
        raise UnexaminablePicture(
            f"the animation has more than {allowed:,} frames of this size, more than Steward "
            "can examine for faces. Post a shorter animation, or a still photo.")
    if len(decoded) == 1:
        return [_decode(data, flags, max_pixels)]  # a still: decoded with its orientation
    return list(decoded)




def _scaled(box: Sequence[int], scale: float) -> Box:
    """A box found in the picture scaled by `scale`, in the picture's own coordinates."""
    x, y, width, height = (int(value / scale) for value in box)
    return x, y, width, height


class Cascade(Protocol):
    """What the detector asks of a cascade: OpenCV's CascadeClassifier, loaded by the daemon
    (constructing one reads a file, which a policy never does)."""

    def detectMultiScale(self, image: cv2.typing.MatLike, scaleFactor: float = ...,
                         minNeighbors: int = ..., flags: int = ..., minSize: cv2.typing.Size = ...,
                         maxSize: cv2.typing.Size = ...) -> Sequence[Sequence[int]]:
        """Boxes (x, y, width, height) of what the cascade finds (OpenCV's names)."""
        ...


@dataclass(frozen=True)
class FaceDetector:
    """OpenCV's two frontal-face cascades, "default" and "alt2", loaded (cv2.CascadeClassifier
    objects), and what can be done with them."""

    default: Cascade
    alt2: Cascade

    def detect(self, gray: numpy.ndarray) -> list[Box]:
        """Boxes (x, y, width, height) of faces in a grayscale picture, in its own
        coordinates: where both cascades agree."""
        height, width = gray.shape[:2]
        scale = min(1.0, LONG_SIDE / max(height, width))
        small = cv2.resize(gray, (max(1, int(width * scale)), max(1, int(height * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1 else gray
        small = cv2.equalizeHist(small)
        smallest = max(20, int(min(small.shape[:2]) * 0.03))
        first = self.default.detectMultiScale(small, 1.1, 6, minSize=(smallest, smallest))
        second = self.alt2.detectMultiScale(small, 1.1, 5, minSize=(smallest, smallest))
        faces = [box for box in first if any(_overlap(box, other) > 0.3 for other in second)]
        return [_scaled(box, scale) for box in faces]

    def count(self, data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
        """How many faces the picture shows (orientation applied; for an animation, the most
        any one frame shows). Raise ValueError (an UnexaminablePicture) if it is larger than
        `max_pixels` or cannot be decoded."""
        return max(len(self.detect(frame))
                   for frame in frames(data, cv2.IMREAD_GRAYSCALE, max_pixels))

    def blurred(self, data: bytes, as_png: bool = False,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, int]:
        """The picture `data` with every face pixelated beyond recognition, re-encoded (JPEG
        quality 92, or PNG when `as_png`), and how many faces were blurred. Raise ValueError
        (an UnexaminablePicture) if it is larger than `max_pixels` or cannot be decoded, or if
        it is an animation (only still pictures can be blurred).

        The picture is decoded upright (orientation applied), so the result needs no
        orientation and carries no metadata."""
        if len(frames(data, cv2.IMREAD_GRAYSCALE, max_pixels)) > 1:
            raise UnexaminablePicture("Steward can blur faces only in still photos, and this is "
                                      "an animation. Post a still photo, or one without faces.")
        picture = _decode(data, cv2.IMREAD_COLOR, max_pixels)
        faces = self.detect(cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY))
        height, width = picture.shape[:2]
        for x, y, w, h in faces:
            margin_x, margin_y = int(w * 0.25), int(h * 0.3)
            left, top = max(0, x - margin_x), max(0, y - margin_y)
            right, bottom = min(width, x + w + margin_x), min(height, y + h + margin_y)
            region = picture[top:bottom, left:right]
            tiny = cv2.resize(region, (6, 6), interpolation=cv2.INTER_AREA)
            blocky = cv2.resize(tiny, (right - left, bottom - top),
                                interpolation=cv2.INTER_NEAREST)
            picture[top:bottom, left:right] = cv2.GaussianBlur(blocky, (0, 0), max(2, w / 12))
        extension = ".png" if as_png else ".jpg"
        parameters = [cv2.IMWRITE_JPEG_QUALITY, 92] if extension == ".jpg" else []
        ok, encoded = cv2.imencode(extension, picture, parameters)
        if not ok:
            raise ValueError("the blurred picture cannot be encoded")
        return encoded.tobytes(), len(faces)
