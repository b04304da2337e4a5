"""PNG: copy the chunks that draw the picture (checking every CRC), drop every text and metadata
chunk.

Kept: IHDR, PLTE, IDAT, IEND and the ancillary chunks that affect how pixels look (transparency,
gamma, chromaticities, sRGB, ICC profile, significant bits, background, histogram, physical
size, animation frames, HDR colour). Rewritten: eXIf reduced to the Orientation alone; iCCP
with a fixed name (the name is free text) and its profile rebuilt (policies.media.icc). Dropped:
tEXt, zTXt and iTXt (where XMP and ImageMagick's "Raw profile type exif/iptc/xmp" live), tIME,
any other ancillary chunk, and anything after IEND. An unknown critical chunk is refused.
"""

from __future__ import annotations

import struct
import zlib

from policies.media.icc import MAX_PROFILE, rebuild_profile
from policies.media.streams import Ambiguous, Damaged, Reader, Sink
from policies.media.tiff import orientation_only, read_orientation

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT",
        b"bKGD", b"hIST", b"pHYs", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCV", b"cLLI"}
# The lengths the PNG specification gives the small chunks kept: one with any other length
# carries bytes no decoder reads, where text of anyone's choice could travel, so it is refused.
SIZES = {b"gAMA": {4}, b"cHRM": {32}, b"sRGB": {1}, b"sBIT": {1, 2, 3, 4}, b"bKGD": {1, 2, 6},
         b"pHYs": {9}, b"acTL": {8}, b"cICP": {4}, b"mDCV": {24}, b"cLLI": {8}}
LARGEST = {b"PLTE": 768, b"tRNS": 256, b"hIST": 512}  # palettes of up to 256 entries
MAX_METADATA_CHUNK = 16 * 1024 * 1024
PROFILE_NAME = b"ICC profile"


class PngError(Damaged):
    """The PNG cannot be followed to its end."""


class _CrcSink:
    def __init__(self, sink: Sink, kind: bytes) -> None:
        self.sink = sink
        self.crc = zlib.crc32(kind)

    def update(self, data: bytes | bytearray) -> None:
        self.crc = zlib.crc32(data, self.crc)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _colour_profile(data: bytes) -> tuple[bytes, list[str]]:
    """An iCCP chunk rebuilt: the profile's name (text of the writer's choice: it could hold
    coordinates) becomes PROFILE_NAME, the profile is rebuilt (policies.media.icc) and
    compressed again, so nothing after the compressed stream survives either."""
    name, separator, rest = data.partition(b"\x00")
    if not separator or not 1 <= len(name) <= 79 or rest[:1] != b"\x00":
        raise PngError("its colour profile chunk (iCCP) is malformed")
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(rest[1:], MAX_PROFILE + 1)
    except zlib.error:
        raise PngError("its colour profile cannot be decompressed") from None
    if len(profile) > MAX_PROFILE or not inflater.eof:
        raise PngError("its colour profile is implausibly large or cut short")
    rebuilt, removed = rebuild_profile(profile)
    if name != PROFILE_NAME:
        removed.insert(0, "the colour profile's name")
    if inflater.unused_data:
        removed.append(f"data after the colour profile ({len(inflater.unused_data):,} bytes)")
    return _chunk(b"iCCP", PROFILE_NAME + b"\x00\x00" + zlib.compress(rebuilt, 9)), removed


def _check_frame(control: bytes, size: tuple[int, int]) -> None:
    """An animation frame (fcTL) must lie inside the picture that IHDR declares (the APNG
    specification's rule, which decoders differ in enforcing)."""
    width, height, left, top = struct.unpack(">IIII", control[4:20])
    if not width or not height or left + width > size[0] or top + height > size[1]:
        raise Ambiguous("an animation frame is larger than the picture (or lies outside it)")


def clean_png(reader: Reader, sink: Sink) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the PNG from `reader` to `sink` without metadata; return (removed, orientation,
    (width, height))."""
    if reader.exact(8) != SIGNATURE:
        raise PngError("it does not start like a PNG")
    sink.write(SIGNATURE)
    removed: list[str] = []
    orientation = None
    size = (0, 0)
    first = True
    profile_kept = False
    while True:
        length, kind = struct.unpack(">I4s", reader.exact(8))
        if length > 0x7FFFFFFF:
            raise PngError(f"a chunk at byte {reader.position - 8} has an impossible length")
        if first and kind != b"IHDR":
            raise PngError("the first chunk is not IHDR")
        name = kind.decode("latin-1")
        if kind == b"IHDR" and not first:
            raise Ambiguous("it has more than one header (IHDR), so programs would disagree "
                            "about its size")
        first = False
        if kind in KEEP:
            if (kind in SIZES and length not in SIZES[kind]) or length > LARGEST.get(
                    kind, length) or (kind == b"PLTE" and length % 3):
                raise PngError(f"its {name} chunk has a size the PNG standard does not allow "
                               f"({length} bytes)")
            sink.write(struct.pack(">I4s", length, kind))
            crc = _CrcSink(sink, kind)
            if kind == b"IHDR":
                if length != 13:
                    raise PngError("its header chunk has the wrong size")
                header = reader.exact(13)
                size = struct.unpack(">II", header[:8])
                if not all(0 < side <= 0x7FFFFFFF for side in size):
                    raise PngError("its header gives the picture an impossible size")
                sink.write(header)
                crc.update(header)
            elif kind == b"fcTL":
                if length != 26:
                    raise PngError("an animation frame header has the wrong size")
                control = reader.exact(26)
                _check_frame(control, size)
                sink.write(control)
                crc.update(control)
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
        stored = reader.exact(4)
        if kind == b"iCCP":
            if struct.unpack(">I", stored)[0] != zlib.crc32(kind + data):
                raise PngError("the iCCP chunk is damaged (its checksum does not match)")
            if profile_kept:
                removed.append("a second colour profile")
                continue
            chunk, dropped = _colour_profile(data)
            removed += dropped
            sink.write(chunk)
            profile_kept = True
        elif kind == b"eXIf":
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
