"""Faces in a video: frames decoded with PyAV (FFmpeg's own decoders, in the `av` wheel), one a
second and one at every change of scene, each examined by the same detector as photos
(policies.media.faces: two cascades that must agree).

Decoded from the cleaned copy in memory, the bytes that will be published, and only once the
post is approved (the faces rule asks). A video Steward cannot examine whole is refused, never
published unexamined: no picture track, a codec this build of FFmpeg cannot decode, a damaged
file, frames larger than `faces.max_megapixels`, or longer than `faces.max_video_seconds`.

A phone held upright records its pictures on their side with a turn in the index; the decoded
frame is examined both ways up then, since the frontal cascades find only upright faces.
What was examined (frames, seconds) is kept by content hash for the intake's audit event.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy

from daemon.posts.face_detection import THREADS, face_detector
from policies.media.faces import FaceDetector
from policies.media.video_facts import duration_words

SCENE_CHANGE = 28.0  # mean difference (of 255) between 32x18 grey thumbnails of two frames
MAX_SAMPLES_PER_SECOND = 2  # scene changes included: a strobing clip cannot make it endless
THUMBNAIL = (32, 18)
MAX_FRAME_RATE = 240  # a phone's slow motion; more pictures a second than this are refused


class UnexaminableVideo(ValueError):
    """The video cannot be examined for faces; the message says why, in plain English."""


@dataclass(frozen=True)
class VideoExamination:
    """What was looked at in one video: how many frames, over how many seconds, and the most
    faces any frame showed."""

    frames: int
    seconds: float
    faces: int


class VideoFaceDetector:
    """The faces rule's detector for videos (policies.findings.VideoFaceCounter)."""

    def __init__(self, detector: FaceDetector, max_seconds: float) -> None:
        self.detector = detector
        self.max_seconds = max_seconds
        self.examined: dict[str, VideoExamination] = {}  # by the video's SHA-256
        self._lock = threading.Lock()

    def count(self, data: bytes, max_pixels: int) -> int:
        """The most faces any sampled frame shows. Raise UnexaminableVideo (a ValueError) if
        the video cannot be examined whole."""
        frames, faces, seconds = 0, 0, 0.0
        for gray, rotated, at in sampled_frames(data, max_pixels, self.max_seconds):
            frames, seconds = frames + 1, at
            views = (numpy.rot90(gray, 1), numpy.rot90(gray, 3)) if rotated else (gray,)
            faces = max([faces] + [len(self.detector.detect(numpy.ascontiguousarray(view)))
                                   for view in views])
        if frames == 0:
            raise UnexaminableVideo("none of its pictures could be decoded")
        with self._lock:
            self.examined[hashlib.sha256(data).hexdigest()] = VideoExamination(
                frames, round(seconds, 2), faces)
        return faces


def video_face_detector(max_seconds: float) -> VideoFaceDetector:
    """The detector for videos, around the photo detector (daemon.posts.face_detection)."""
    return VideoFaceDetector(face_detector(), max_seconds)


def sampled_frames(data: bytes, max_pixels: int, max_seconds: float
                   ) -> Iterator[tuple[numpy.ndarray, bool, float]]:
    """Grey frames of the video's first picture track, one a second (the first frame at or
    after each whole second) and one at each change of scene, with whether the picture is
    shown turned a quarter, and its time in seconds. Raise UnexaminableVideo if it cannot be
    decoded, is too large or too long."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise UnexaminableVideo("it has no picture track")
            stream = container.streams.video[0]
            context = stream.codec_context
            if context is None or not context.width or not context.height:
                raise UnexaminableVideo("its pictures are in a format Steward cannot decode")
            if context.width * context.height > max_pixels:
                raise UnexaminableVideo(
                    f"its pictures are {context.width}×{context.height}, larger than Steward "
                    "examines")
            length = _seconds(container, stream)
            if length > max_seconds:
                raise UnexaminableVideo(
                    f"it is {duration_words(length)} long, and Steward examines videos of up "
                    f"to {duration_words(max_seconds)} for faces")
            context.thread_count = THREADS
            yield from _samples(container, stream, max_seconds)
    except UnexaminableVideo:
        raise
    except (av.FFmpegError, ValueError, IndexError, OSError, MemoryError) as error:
        raise UnexaminableVideo(f"its pictures cannot be decoded ({_reason(error)})") from None


def _samples(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
             max_seconds: float) -> Iterator[tuple[numpy.ndarray, bool, float]]:
    next_second, previous, taken, decoded = 0.0, None, 0, 0
    base = stream.time_base or Fraction(1, 1)
    for frame in container.decode(stream):
        decoded += 1
        if decoded > MAX_FRAME_RATE * (max_seconds + 1):  # a tiny file of endless frames
            raise UnexaminableVideo(f"it has more than {MAX_FRAME_RATE} pictures a second")
        if frame.pts is None:
            continue
        at = float(frame.pts * base)
        if at > max_seconds + 1:  # the index said shorter: the pictures say otherwise
            raise UnexaminableVideo(f"its pictures run past the {duration_words(max_seconds)} "
                                    "Steward examines")
        thumbnail = frame.reformat(width=THUMBNAIL[0], height=THUMBNAIL[1],
                                   format="gray").to_ndarray().astype(numpy.int16)
        changed = previous is not None and \
            float(numpy.abs(thumbnail - previous).mean()) > SCENE_CHANGE
        previous = thumbnail
        if at + 1e-6 < next_second and not changed:
            continue
        taken += 1
        if taken > MAX_SAMPLES_PER_SECOND * (max_seconds + 1):
            raise UnexaminableVideo("it changes scene more often than Steward can examine")
        if at + 1e-6 >= next_second:
            next_second = float(int(at + 1e-6) + 1)
        rotated = round(abs(getattr(frame, "rotation", 0) or 0)) % 180 == 90
        yield frame.to_ndarray(format="gray"), rotated, at


def _seconds(container: av.container.InputContainer,
             stream: av.video.stream.VideoStream) -> float:
    """The video's length from its index (container, else stream); 0 if it says none."""
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error) or error.__class__.__name__
    return text.splitlines()[0][:120]
