"""TIFF (and TIFF-based raw formats): remove identifying tags from every image directory in
place.

Picture data in a TIFF sits at offsets recorded in its directories, so nothing may move. Each
directory (IFD0, the next ones in the chain, and SubIFDs) is rewritten where it stands without
its identifying entries: the remaining entries shift up, the count shrinks, the next-directory
pointer follows them, and the freed bytes and the removed entries' data are zeroed. Kept (an
allow-list, so that nothing unforeseen survives): the tags needed to draw the picture, the ICC
profile (rebuilt in place without text or unused bytes, policies.media.icc), the Orientation, and
a DNG's rendering tags. Everything else goes: the Exif and GPS
directories, XMP, IPTC, Photoshop blocks, maker notes, serial numbers, and every text tag that
could name a camera, a person, a place or a time. The first pass reads only directories (with seeks); the
second copies the file in blocks, applying the edits. BigTIFF is refused.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO

from policies.media.icc import MAX_PROFILE, rebuild_profile
from policies.media.streams import Damaged, Reader, Sink

PICTURE_TAGS = {
    0x00FE, 0x00FF, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0107, 0x0108, 0x0109, 0x010A,
    0x0111, 0x0112, 0x0115, 0x0116, 0x0117, 0x0118, 0x0119, 0x011A, 0x011B, 0x011C, 0x011E,
    0x011F, 0x0120, 0x0121, 0x0122, 0x0123, 0x0124, 0x0125, 0x0128, 0x0129, 0x012D, 0x013D,
    0x013E, 0x013F, 0x0140, 0x0141, 0x0142, 0x0143, 0x0144, 0x0145, 0x014A, 0x014C, 0x014D,
    0x014E, 0x0150, 0x0152, 0x0153, 0x0154, 0x0155, 0x0156, 0x015B, 0x0200, 0x0201, 0x0202,
    0x0211, 0x0212, 0x0213, 0x0214, 0x828D, 0x828E, 0x8773,
}
DNG_RENDERING = range(0xC612, 0xC800)
DNG_IDENTIFYING = {0xC614, 0xC615, 0xC62F, 0xC634, 0xC65A, 0xC68B, 0xC68C, 0xC6F3, 0xC6F8,
                   0xC6FE, 0xC6FD}
NAMES = {
    0x8769: "EXIF", 0x8825: "GPS", 0x02BC: "XMP", 0x83BB: "IPTC", 0x8649: "Photoshop data",
    0x927C: "maker notes", 0x010E: "description", 0x010F: "camera make", 0x0110: "camera model",
    0x0131: "software", 0x0132: "date and time", 0x013B: "artist", 0x013C: "host computer",
    0x8298: "copyright", 0xA005: "interoperability", 0x9003: "date taken", 0xC4A5: "print data",
    0xA430: "camera owner", 0xA431: "serial number", 0xA433: "lens make", 0xA434: "lens model",
    0xA435: "lens serial number", 0x9286: "user comment", 0xC614: "camera model name",
    0xC6F8: "profile name", 0xEA1C: "padding", 0x4746: "rating", 0x9C9B: "title",
    0x9C9C: "comment", 0x9C9D: "author", 0x9C9E: "keywords", 0x9C9F: "subject",
    0xC62F: "camera serial number", 0xC634: "raw maker data", 0xC68B: "original file name",
}


def keep(tag: int) -> bool:
    """Whether a tag is needed to draw the picture (and cannot identify anyone)."""
    return tag in PICTURE_TAGS or (tag in DNG_RENDERING and tag not in DNG_IDENTIFYING)
SUB_IFDS = 0x014A
ICC_TAG = 0x8773
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
MAX_DIRECTORIES = 64
MAX_ENTRIES = 4096


class TiffError(Damaged):
    """The TIFF cannot be followed."""


def _colour_profile(read: Callable[[int, int], bytes], order: str, entry: bytes, size: int,
                    edits: dict[int, bytes]) -> list[str]:
    """Rebuild the ICC profile (tag 34675) where it stands: the rebuilt profile, then zeros up
    to the original's length (nothing may move). Return what rebuilding removed."""
    offset = struct.unpack(order + "I", entry[8:12])[0]
    if size > MAX_PROFILE:
        raise TiffError("its colour profile is implausibly large")
    rebuilt, removed = rebuild_profile(read(offset, size))
    if len(rebuilt) > size:
        raise TiffError("its colour profile cannot be cleaned where it stands")
    if removed:
        edits[offset] = rebuilt + bytes(size - len(rebuilt))
    return removed


def _plan(source: BinaryIO) -> tuple[list[str], dict[int, bytes], int | None, tuple[int, int]]:
    """Read the directories; return (removed, edits {offset: new bytes}, orientation, size)."""
    source.seek(0, 2)
    length = source.tell()

    def read(offset: int, count: int) -> bytes:
        if offset < 0 or offset + count > length:
            raise TiffError(f"a directory points outside the file (offset {offset})")
        source.seek(offset)
        return source.read(count)

    header = read(0, 8)
    order = {b"II": "<", b"MM": ">"}.get(header[:2])
    if order is None:
        raise TiffError("it does not start like a TIFF")
    version = struct.unpack(order + "H", header[2:4])[0]
    if version == 43:
        raise TiffError("BigTIFF files are not supported")
    if version != 42:
        raise TiffError("it does not start like a TIFF")
    removed: list[str] = []
    edits: dict[int, bytes] = {}
    orientation = None
    size = (0, 0)
    pending = [struct.unpack(order + "I", header[4:8])[0]]
    first_directory = pending[0]  # IFD0: the picture decoders show, whose size is reported
    seen: set[int] = set()
    while pending:
        offset = pending.pop(0)
        if offset == 0 or offset in seen:
            continue  # end of a chain, or a loop
        if len(seen) >= MAX_DIRECTORIES:
            raise TiffError("it has an implausible number of image directories")
        seen.add(offset)
        count = struct.unpack(order + "H", read(offset, 2))[0]
        if count > MAX_ENTRIES:
            raise TiffError("a directory claims an implausible number of entries")
        table = read(offset + 2, 12 * count + 4)
        kept, next_offset = [], struct.unpack(order + "I", table[12 * count:])[0]
        for index in range(count):
            entry = table[12 * index:12 * index + 12]
            tag, kind, number = struct.unpack(order + "HHI", entry[:8])
            value_size = TYPE_SIZES.get(kind, 1) * number
            if not keep(tag):
                removed.append(NAMES.get(tag, f"tag 0x{tag:04X}"))
                if value_size > 4:
                    data_offset = struct.unpack(order + "I", entry[8:12])[0]
                    if data_offset + value_size <= length:
                        edits[data_offset] = bytes(value_size)
                continue
            if tag == ICC_TAG and value_size > 4:
                removed += _colour_profile(read, order, entry, value_size, edits)
            elif tag == 0x0112 and kind == 3:
                orientation = struct.unpack(order + "H", entry[8:10])[0]
            elif tag in (0x0100, 0x0101) and offset == first_directory:
                value = struct.unpack(order + ("H" if kind == 3 else "I"),
                                      entry[8:10] if kind == 3 else entry[8:12])[0]
                size = (value, size[1]) if tag == 0x0100 else (size[0], value)
            elif tag == SUB_IFDS and kind in (4, 13):
                if number == 1:
                    pending.append(struct.unpack(order + "I", entry[8:12])[0])
                else:
                    where = struct.unpack(order + "I", entry[8:12])[0]
                    pending += list(struct.unpack(order + f"{number}I", read(where, 4 * number)))
            kept.append(entry)
        if len(kept) != count:
            rewritten = (struct.pack(order + "H", len(kept)) + b"".join(kept)
                         + struct.pack(order + "I", next_offset))
            edits[offset] = rewritten + bytes(2 + 12 * count + 4 - len(rewritten))
        pending.append(next_offset)
    return removed, edits, orientation, size


def clean_tiff(source: BinaryIO, sink: Sink) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the TIFF with identifying tags removed in place; needs a seekable source."""
    removed, edits, orientation, size = _plan(source)
    source.seek(0)
    reader = Reader(source)
    position = 0
    for offset in sorted(edits):
        replacement = edits[offset]
        if offset < position:
            raise TiffError("two directories overlap")
        reader.copy(offset - position, sink)
        reader.exact(len(replacement))
        sink.write(replacement)
        position = offset + len(replacement)
    while not reader.at_end():
        reader.copy(min(1 << 20, len(reader.buffer) or 1), sink)
    return removed, orientation, size
