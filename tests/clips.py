"""Real, playable H.264 clips for the video intake's tests, encoded here with PyAV (the `av`
wheel carries FFmpeg's H.264 encoder), so the tests need no ffmpeg program.

`clip` shows a moving pattern with no face, or a given picture (e.g. the face sample's photo)
from a given second on, so that a face appears part-way through as it would in a real video.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy
from PIL import Image

FACE_PHOTO = Path(__file__).resolve().parent / "samples" / "faces" / "must-refuse" / "a-face" \
    / "photo.jpg"


def face_picture(width: int, height: int) -> numpy.ndarray:
    """The face sample's photo, centred on a grey background of `width`×`height` (RGB)."""
    photo = Image.open(FACE_PHOTO).convert("RGB")
    photo.thumbnail((width, height))
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    canvas.paste(photo, ((width - photo.width) // 2, (height - photo.height) // 2))
    return numpy.asarray(canvas)


def _pattern(width: int, height: int, index: int) -> numpy.ndarray:
    """A soft moving gradient: no face, and no change of scene from frame to frame."""
    x = numpy.linspace(0, 255, width, dtype=numpy.float32)
    y = numpy.linspace(0, 255, height, dtype=numpy.float32)[:, None]
    base = (x[None, :] * 0.5 + y * 0.5 + index * 3) % 256
    return numpy.stack([base, base[::-1], numpy.full_like(base, 90)], axis=-1).astype(numpy.uint8)


def clip(seconds: float = 2.0, *, fps: int = 10, size: tuple[int, int] = (320, 240),
         picture: numpy.ndarray | None = None, picture_from: float = 0.0,
         container: str = "mp4") -> bytes:
    """An H.264 clip (yuv420p) in an MP4 or MOV; `picture` is shown from `picture_from`
    seconds to the end, the moving pattern before it."""
    width, height = size
    output = io.BytesIO()
    with av.open(output, mode="w", format="mov" if container == "mov" else "mp4") as movie:
        stream = movie.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(fps)}
        for index in range(int(seconds * fps)):
            shown = picture if picture is not None and index / fps >= picture_from else \
                _pattern(width, height, index)
            frame = av.VideoFrame.from_ndarray(shown, format="rgb24")
            for packet in stream.encode(frame):
                movie.mux(packet)
        for packet in stream.encode():
            movie.mux(packet)
    return output.getvalue()
