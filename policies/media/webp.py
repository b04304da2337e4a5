"""WebP: copy the chunks that draw the picture, drop EXIF and XMP, fix the header flags.

Kept: VP8 / VP8L (the picture), ALPH (transparency), ANIM (animation header, its six documented
bytes) and ANMF (animation frames), ICCP (colour, rebuilt without text or hidden bytes).
Inside each ANMF frame only its frame header and its picture (ALPH, VP8, VP8L) are kept: a frame
may carry any chunk, and EXIF, XMP or an unknown chunk there is dropped like one at the top.
Rewritten: VP8X's flags (EXIF and XMP bits cleared, or EXIF kept for a minimal Orientation; the
ICC bit says whether a profile is kept), the frames' and the RIFF sizes. Dropped: EXIF, XMP and
any chunk Steward does not know (readers ignore them).

The size reported is the one a decoder allocates: the canvas of an extended file (VP8X), else
the picture's own. A still picture whose canvas and bitstream disagree, a frame reaching outside
the canvas, two pictures in a still file: refused as ambiguous, since decoders differ on them.
"""

from __future__ import annotations

import io
import struct

from policies.media.icc import rebuild_profile
from policies.media.streams import Ambiguous, Damaged, Reader, SeekableSink, Sink
from policies.media.tiff import orientation_only, read_orientation

PICTURE = {b"VP8 ", b"VP8L"}
FRAME_KEEP = {b"ALPH", b"VP8 ", b"VP8L"}
ICC_FLAG, ALPHA_FLAG, EXIF_FLAG, XMP_FLAG, ANIMATION_FLAG = 0x20, 0x10, 0x08, 0x04, 0x02
MAX_METADATA_CHUNK = 16 * 1024 * 1024
FRAME_HEADER = 16
ANIM_LENGTH = 6


class WebpError(Damaged):
    """The WebP cannot be followed to its end."""


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def bitstream_size(kind: bytes, start: bytes) -> tuple[int, int]:
    """(width, height) from the first bytes of a VP8 or VP8L chunk; raise WebpError."""
    if kind == b"VP8 ":
        if len(start) < 10 or start[0] & 1 or start[3:6] != b"\x9d\x01\x2a":
            raise WebpError("its picture data does not start like a VP8 key frame")
        width, height = struct.unpack("<HH", start[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if len(start) < 5 or start[0] != 0x2F:
        raise WebpError("its picture data does not start like a lossless (VP8L) picture")
    bits = int.from_bytes(start[1:5], "little")
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1


class _Walk:
    """What the walk has seen and written so far."""

    def __init__(self) -> None:
        self.removed: list[str] = []
        self.orientation: int | None = None
        self.canvas: tuple[int, int] | None = None  # from VP8X
        self.flags = 0
        self.pictures: list[tuple[int, int]] = []  # top-level VP8/VP8L sizes
        self.frames = 0
        self.profile_kept = False
        self.exif_kept = False


def _copy_picture(reader: Reader, output: SeekableSink, kind: bytes, length: int) -> tuple[int, int]:
    """Copy a VP8/VP8L (or ALPH) chunk whole; return its bitstream size ((0, 0) for ALPH)."""
    size = bitstream_size(kind, reader.peek(10)) if kind in PICTURE else (0, 0)
    output.write(kind + struct.pack("<I", length))
    reader.copy(length + (length % 2), output)
    return size


def _skip(reader: Reader, kind: bytes, length: int) -> bytes:
    if length > MAX_METADATA_CHUNK:
        raise WebpError(f"its {kind.decode('latin-1').strip()} chunk is implausibly large")
    return reader.exact(length + (length % 2))[:length]


def _dropped(kind: bytes) -> str:
    return {b"EXIF": "EXIF", b"XMP ": "XMP"}.get(kind, f"{kind.decode('latin-1').strip()} chunk")


def _copy_frame(reader: Reader, output: SeekableSink, length: int, walk: _Walk) -> None:
    """Copy one ANMF frame: its header, then only its picture sub-chunks; fix its size."""
    if length < FRAME_HEADER + 8:
        raise WebpError("an animation frame is too short")
    header = reader.exact(FRAME_HEADER)
    left = 2 * int.from_bytes(header[0:3], "little")
    top = 2 * int.from_bytes(header[3:6], "little")
    width = 1 + int.from_bytes(header[6:9], "little")
    height = 1 + int.from_bytes(header[9:12], "little")
    canvas = walk.canvas or (0, 0)
    if left + width > canvas[0] or top + height > canvas[1]:
        raise Ambiguous("an animation frame reaches outside the canvas the file declares")
    start = output.tell()
    output.write(b"ANMF\x00\x00\x00\x00" + header)
    remaining = length + (length % 2) - FRAME_HEADER
    pictures = 0
    while remaining >= 8:
        kind, inner = struct.unpack("<4sI", reader.exact(8))
        padded = inner + (inner % 2)
        if padded + 8 > remaining:
            raise WebpError("a chunk inside an animation frame does not fit the frame")
        remaining -= 8 + padded
        if kind in FRAME_KEEP:
            size = _copy_picture(reader, output, kind, inner)
            if kind in PICTURE:
                pictures += 1
                if size != (width, height):
                    raise Ambiguous("an animation frame's picture and its frame header "
                                    "disagree about its size")
        else:
            _skip(reader, kind, inner)
            walk.removed.append(_dropped(kind))
    if remaining:
        reader.exact(remaining)  # the frame's own padding byte
    if pictures != 1:
        raise WebpError("an animation frame does not hold exactly one picture")
    end = output.tell()
    output.seek(start + 4)
    output.write(struct.pack("<I", end - start - 8))
    output.seek(end)
    walk.frames += 1


def _metadata(kind: bytes, payload: bytes, output: SeekableSink, walk: _Walk) -> None:
    """A chunk Steward does not copy: keep a minimal Orientation from EXIF, drop the rest."""
    if kind != b"EXIF":
        walk.removed.append(_dropped(kind))
        return
    tiff = payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
    if walk.orientation is None:
        walk.orientation = read_orientation(tiff)
    orientation = walk.orientation
    if walk.exif_kept or walk.canvas is None or orientation in (None, 1):
        walk.removed.append("EXIF")
        return
    if tiff != orientation_only(orientation):
        walk.removed.append("EXIF")
    output.write(_chunk(kind, orientation_only(orientation)))
    walk.exif_kept = True


def clean_webp(reader: Reader, sink: Sink) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the WebP without metadata; return (removed, orientation, (width, height)).

    The RIFF size is only known at the end, so the output is assembled in `sink` if it can seek,
    otherwise in memory (bounded by the media size limit checked before cleaning).
    """
    header = reader.exact(12)
    if header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        raise WebpError("it does not start like a WebP")
    declared = struct.unpack("<I", header[4:8])[0]
    in_memory: io.BytesIO | None = None
    if isinstance(sink, SeekableSink) and sink.seekable():
        output: SeekableSink = sink
    else:
        output = in_memory = io.BytesIO()
    start = output.tell() if in_memory is None else 0
    output.write(b"RIFF\x00\x00\x00\x00WEBP")
    walk = _Walk()
    extended_at = None
    consumed = 4
    first = True
    while consumed < declared and not reader.at_end():
        kind, length = struct.unpack("<4sI", reader.exact(8))
        consumed += 8 + length + (length % 2)
        if first and kind not in (b"VP8X", *PICTURE):
            raise WebpError("it does not begin with a header or a picture")
        if kind == b"VP8X":
            if not first:
                raise Ambiguous("its extended header (VP8X) is not at the start")
            if length != 10:
                raise WebpError("its extended header has the wrong size")
            payload = reader.exact(10)
            walk.flags = payload[0] & (ALPHA_FLAG | ANIMATION_FLAG)
            walk.canvas = (1 + int.from_bytes(payload[4:7], "little"),
                           1 + int.from_bytes(payload[7:10], "little"))
            extended_at = output.tell()
            output.write(_chunk(kind, bytes([walk.flags, 0, 0, 0]) + payload[4:]))
        elif kind in PICTURE or kind == b"ALPH":
            size = _copy_picture(reader, output, kind, length)
            if kind in PICTURE:
                walk.pictures.append(size)
        elif kind == b"ANMF":
            _copy_frame(reader, output, length, walk)
        elif kind == b"ANIM":
            payload = _skip(reader, kind, length)
            if len(payload) < ANIM_LENGTH:
                raise WebpError("its animation header is too short")
            if len(payload) > ANIM_LENGTH:
                walk.removed.append("extra bytes in the animation header")
            output.write(_chunk(kind, payload[:ANIM_LENGTH]))
        elif kind == b"ICCP":
            payload = _skip(reader, kind, length)
            if walk.profile_kept:
                walk.removed.append("a second colour profile")
                continue
            profile, dropped = rebuild_profile(payload)
            walk.removed += dropped
            output.write(_chunk(kind, profile))
            walk.profile_kept = True
        else:
            _metadata(kind, _skip(reader, kind, length), output, walk)
        first = False
    size = _size(walk)
    trailing = reader.skip_rest()
    if trailing:
        walk.removed.append(f"data after the end of the picture ({trailing:,} bytes)")
    end = output.tell()
    output.seek(start + 4)
    output.write(struct.pack("<I", end - start - 8))
    if extended_at is not None:
        output.seek(extended_at + 8)
        output.write(bytes([walk.flags | (ICC_FLAG if walk.profile_kept else 0)
                            | (EXIF_FLAG if walk.exif_kept else 0)]))
    output.seek(end)
    if in_memory is not None:
        sink.write(in_memory.getvalue())
    return walk.removed, walk.orientation, size


def _size(walk: _Walk) -> tuple[int, int]:
    """The size a decoder allocates; raise when the file's parts disagree about it."""
    if not walk.pictures and not walk.frames:
        raise WebpError("it has no picture data")
    if walk.canvas is None:
        if len(walk.pictures) != 1 or walk.profile_kept:
            raise Ambiguous("it holds more than one picture without saying how to show them")
        return walk.pictures[0]
    if walk.flags & ANIMATION_FLAG:
        if walk.pictures or not walk.frames:
            raise Ambiguous("its header says it is animated, but it holds a still picture")
        return walk.canvas
    if walk.frames or len(walk.pictures) != 1:
        raise Ambiguous("its header says it is a still picture, but it holds several")
    if walk.pictures[0] != walk.canvas:
        raise Ambiguous("its canvas (VP8X) and its picture disagree about its size")
    return walk.canvas
