"""The size a decoder will give a picture, read from its headers before anything decodes it.

A decoder allocates what a file's header claims before it reads a single pixel, so a 400-byte
file can ask for 900 megapixels (the decompression bomb of the security issue). Steward decodes
pixels in one place only, the face detector, and it asks here first: the size comes from the
same walk that cleans the file, which refuses headers that disagree (two JPEG frame headers, a
WebP canvas that differs from its picture) and reports what decoders allocate (the first frame
header, the IHDR, the canvas, a GIF grown by a frame beyond its screen). Pure: bytes in,
numbers out, nothing decoded, memory bounded by the largest metadata block.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from policies.media.cleaning import UncleanableMedia, clean_stream

SMALLER = "Export a smaller version (12 megapixels is plenty for social media) and add it again."


class PictureTooLarge(UncleanableMedia):
    """The picture's header asks for more pixels than Steward will decode."""


class _Discard:
    def write(self, data: bytes | bytearray) -> int:
        return len(data)


def dimensions(data: bytes | BinaryIO) -> tuple[int, int]:
    """Return (width, height) of the picture as a decoder will allocate it, from its headers.

    Raise UncleanableMedia if the file cannot be followed, if its headers disagree, or if it is
    a kind whose size Steward does not read (video, HEIC, AVIF: nothing decodes those).
    """
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    report = clean_stream(stream, _Discard())
    if report.width <= 0 or report.height <= 0:
        raise UncleanableMedia(f"Steward cannot tell how large this {report.format} picture is "
                               "without decoding it. Export it as JPEG or PNG and add it again.")
    return report.width, report.height


def decoded_pixels(data: bytes | BinaryIO) -> int:
    """How many pixels a decoder will allocate for the picture (see `dimensions`)."""
    width, height = dimensions(data)
    return width * height


def refuse_larger_than(data: bytes | BinaryIO, max_pixels: int) -> tuple[int, int]:
    """Return the picture's (width, height); raise PictureTooLarge if it has more than
    `max_pixels` pixels, UncleanableMedia if its size cannot be read (see `dimensions`)."""
    width, height = dimensions(data)
    if width * height > max_pixels:
        raise PictureTooLarge(
            f"the picture is {width * height / 1e6:,.0f} megapixels ({width:,} x {height:,} "
            f"pixels); Steward examines pictures of up to {max_pixels / 1e6:g} megapixels. "
            + SMALLER)
    return width, height
