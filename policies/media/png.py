"""PNG: copy the chunks that draw the picture (checking every CRC), drop every text and metadata
chunk.

Kept: IHDR, PLTE, IDAT, IEND and the ancillary chunks that affect how pixels look (transparency,
gamma, chromaticities, sRGB, ICC profile, significant bits, background, histogram, physical
size, animation frames, HDR colour). Rewritten: eXIf reduced to the Orientation alone. Dropped:
tEXt, zTXt and iTXt (where XMP and ImageMagick's "Raw profile type exif/iptc/xmp" live), tIME,
any other ancillary chunk, and anything after IEND. An unknown critical chunk is refused.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

from policies.media.streams import Reader
from policies.media.tiff import orientation_only, read_orientation

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP",
        b"sBIT", b"bKGD", b"hIST", b"pHYs", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCV",
        b"cLLI"}
MAX_METADATA_CHUNK = 16 * 1024 * 1024


class PngError(Exception):
    """The PNG cannot be followed to its end."""


class _CrcSink:
    def __init__(self, sink: BinaryIO, kind: bytes) -> None:
        self.sink = sink
        self.crc = zlib.crc32(kind)

    def update(self, data) -> None:
        self.crc = zlib.crc32(data, self.crc)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def clean_png(reader: Reader, sink: BinaryIO) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the PNG from `reader` to `sink` without metadata; return (removed, orientation,
    (width, height))."""
    if reader.exact(8) != SIGNATURE:
        raise PngError("it does not start like a PNG")
    sink.write(SIGNATURE)
    removed: list[str] = []
    orientation = None
    size = (0, 0)
    first = True
    while True:
        length, kind = struct.unpack(">I4s", reader.exact(8))
        if length > 0x7FFFFFFF:
            raise PngError(f"a chunk at byte {reader.position - 8} has an impossible length")
        if first and kind != b"IHDR":
            raise PngError("the first chunk is not IHDR")
        first = False
        name = kind.decode("latin-1")
        if kind in KEEP:
            sink.write(struct.pack(">I4s", length, kind))
            crc = _CrcSink(sink, kind)
            if kind == b"IHDR":
                if length != 13:
                    raise PngError("its header chunk has the wrong size")
                header = reader.exact(13)
                size = struct.unpack(">II", header[:8])
                sink.write(header)
                crc.update(header)
            else:
                reader.copy(length, sink, digest=crc)
            stored = reader.exact(4)
            if struct.unpack(">I", stored)[0] != crc.crc & 0xFFFFFFFF:
                raise PngError(f"the {name} chunk is damaged (its checksum does not match)")
            sink.write(stored)
            if kind == b"IEND":
                trailing = reader.skip_rest()
                if trailing:
                    removed.append(f"data after the end of the picture ({trailing:,} bytes)")
                return removed, orientation, size
            continue
        if not kind[0] & 0x20:  # an uppercase first letter: critical, and unknown to us
            raise PngError(f"it has a critical chunk Steward does not know ({name!r})")
        if length > MAX_METADATA_CHUNK:
            raise PngError(f"its {name} chunk is implausibly large ({length:,} bytes)")
        data = reader.exact(length)
        reader.exact(4)
        if kind == b"eXIf":
            found = read_orientation(data)
            if orientation is None:
                orientation = found
            if found is not None and data == orientation_only(found):
                sink.write(_chunk(kind, data))
                continue
            removed.append("EXIF (eXIf chunk)")
            if found not in (None, 1):
                sink.write(_chunk(kind, orientation_only(found)))
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            keyword = data.split(b"\x00", 1)[0].decode("latin-1", "replace")[:40]
            removed.append(f"text ({keyword})")
        else:
            removed.append(f"{name} chunk")
