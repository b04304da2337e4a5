"""WebP: copy the chunks that draw the picture, drop EXIF and XMP, fix the header flags.

Kept: VP8 / VP8L (the picture), ALPH (transparency), ANIM / ANMF (animation), ICCP (colour).
Rewritten: VP8X's flags (EXIF and XMP bits cleared, or EXIF kept for a minimal Orientation),
the RIFF size. Dropped: EXIF, XMP and any chunk Steward does not know (readers ignore them).
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from policies.media.streams import Reader
from policies.media.tiff import orientation_only, read_orientation

KEEP = {b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
EXIF_FLAG, XMP_FLAG = 0x08, 0x04
MAX_METADATA_CHUNK = 16 * 1024 * 1024


class WebpError(Exception):
    """The WebP cannot be followed to its end."""


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def clean_webp(reader: Reader, sink: BinaryIO) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the WebP without metadata; return (removed, orientation, (width, height)).

    The RIFF size is only known at the end, so the output is assembled in `sink` if it can seek,
    otherwise in memory (bounded by the media size limit checked before cleaning).
    """
    header = reader.exact(12)
    if header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        raise WebpError("it does not start like a WebP")
    declared = struct.unpack("<I", header[4:8])[0]
    seekable = getattr(sink, "seekable", lambda: False)()
    output = sink if seekable else io.BytesIO()
    start = output.tell() if seekable else 0
    output.write(b"RIFF\x00\x00\x00\x00WEBP")
    removed: list[str] = []
    orientation = None
    size = (0, 0)
    extended_at = None
    flags = 0
    consumed = 4
    pictures = 0
    while consumed < declared and not reader.at_end():
        kind, length = struct.unpack("<4sI", reader.exact(8))
        padded = length + (length % 2)
        consumed += 8 + padded
        name = kind.decode("latin-1")
        if kind == b"VP8X":
            if length != 10:
                raise WebpError("its extended header has the wrong size")
            payload = reader.exact(padded)[:10]
            flags = payload[0] & ~(EXIF_FLAG | XMP_FLAG)
            width = 1 + int.from_bytes(payload[4:7], "little")
            height = 1 + int.from_bytes(payload[7:10], "little")
            size = (width, height)
            extended_at = output.tell()
            output.write(_chunk(kind, bytes([flags]) + payload[1:]))
        elif kind in KEEP:
            output.write(kind + struct.pack("<I", length))
            reader.copy(padded, output)
            if kind in (b"VP8 ", b"VP8L", b"ANMF"):
                pictures += 1
        else:
            if length > MAX_METADATA_CHUNK:
                raise WebpError(f"its {name.strip()} chunk is implausibly large")
            payload = reader.exact(padded)[:length]
            if kind == b"EXIF":
                tiff = payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
                orientation = orientation if orientation is not None else read_orientation(tiff)
                if tiff == orientation_only(orientation or 1) and orientation not in (None, 1):
                    output.write(_chunk(kind, tiff))
                    flags |= EXIF_FLAG
                    continue
                removed.append("EXIF")
                if orientation not in (None, 1) and extended_at is not None:
                    output.write(_chunk(kind, orientation_only(orientation)))
                    flags |= EXIF_FLAG
            elif kind == b"XMP ":
                removed.append("XMP")
            else:
                removed.append(f"{name.strip()} chunk")
    if not pictures:
        raise WebpError("it has no picture data")
    trailing = reader.skip_rest()
    if trailing:
        removed.append(f"data after the end of the picture ({trailing:,} bytes)")
    end = output.tell()
    output.seek(start + 4)
    output.write(struct.pack("<I", end - start - 8))
    if extended_at is not None:
        output.seek(extended_at + 8)
        output.write(bytes([flags]))
    output.seek(end)
    if not seekable:
        sink.write(output.getvalue())
    if size == (0, 0):
        size = _simple_size(output.getvalue() if not seekable else b"")
    return removed, orientation, size


def _simple_size(data: bytes) -> tuple[int, int]:
    """Width and height of a simple (VP8 or VP8L) WebP, when it is in memory; else unknown."""
    if len(data) >= 30 and data[12:16] == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if len(data) >= 25 and data[12:16] == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return (0, 0)
