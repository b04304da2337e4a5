"""HEIC/HEIF and AVIF pictures (the ISO base media file format): neutralise metadata in place.

Videos (MP4, MOV) have their own cleaner, `policies.media.movie`, which rebuilds the index.

These files locate their picture and sample data by absolute offsets, so removing bytes would
mean rewriting every offset. Instead, nothing moves: metadata boxes (`udta`, `meta` in a movie
or track, XMP `uuid` boxes) become `free` boxes of the same size with their content zeroed, and
a HEIF's Exif and XMP items have their bytes zeroed and their item type renamed, so no reader
finds them. Picture and sample data are copied byte for byte; orientation lives in HEIF's
`irot`/`imir` properties and a track's matrix, both untouched.

Refused: an image sequence with a timed metadata track (phones record location there, frame by frame), a
HEIF whose metadata items live before its `meta` box, and any structure that does not add up.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from policies.media.boxes import IsoError
from policies.media.streams import Reader, Sink

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"edts", b"dinf", b"stbl", b"moof", b"traf",
              b"mvex"}
NEUTRALISE = {b"udta", b"meta", b"uuid", b"XMP_", b"loci", b"\xa9xyz"}
MAX_HEADER_BOX = 64 * 1024 * 1024
HIDDEN_ITEM = b"hide"
MAX_EXTENTS = 100_000


@dataclass
class _Edits:
    removed: list[str] = field(default_factory=list)
    zero_ranges: list[tuple[int, int]] = field(default_factory=list)  # absolute [start, end)


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """Yield (type, box start, payload start, box end) for the boxes in data[start:end]."""
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        header = 8
        if size == 1:
            if position + 16 > end:
                raise IsoError("a box header is cut off")
            size = struct.unpack(">Q", data[position + 8:position + 16])[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise IsoError(f"a '{kind.decode('latin-1')}' box does not fit its parent")
        yield kind, position, position + header, position + size
        position += size
    if position != end and end - position >= 8:
        raise IsoError("boxes do not add up")


def _free(buffer: bytearray, box_start: int, payload: int, box_end: int) -> None:
    buffer[box_start + 4:box_start + 8] = b"free"
    buffer[payload:box_end] = bytes(box_end - payload)


def _neutralise_movie(buffer: bytearray, start: int, end: int, edits: _Edits) -> None:
    """Walk a moov (or moof) tree in memory; free metadata boxes; refuse timed metadata."""
    for kind, box_start, payload, box_end in _boxes(buffer, start, end):
        if kind in NEUTRALISE:
            label = {b"udta": "user data (place, camera, dates)", b"meta": "metadata (keys, "
                     "location)", b"uuid": "XMP or vendor data"}.get(kind, kind.decode("latin-1"))
            edits.removed.append(label)
            _free(buffer, box_start, payload, box_end)
        elif kind == b"hdlr" and bytes(buffer[payload + 8:payload + 12]) in (b"meta", b"mebx"):
            raise IsoError("it has a timed metadata track, which can hold the location of every "
                           "frame")
        elif kind in CONTAINERS:
            _neutralise_movie(buffer, payload, box_end, edits)


def _items_to_hide(meta: bytearray, payload: int, end: int, edits: _Edits) -> None:
    """In a HEIF `meta` box (FullBox): rename Exif/XMP items and collect their byte ranges."""
    hidden: dict[int, str] = {}
    iloc = idat = None
    for kind, _, inner, box_end in _boxes(meta, payload + 4, end):
        if kind == b"iinf":
            version = meta[inner]
            count_size = 2 if version == 0 else 4
            position = inner + 4 + count_size
            for entry, _, entry_payload, entry_end in _boxes(meta, position, box_end):
                if entry != b"infe":
                    continue
                entry_version = meta[entry_payload]
                if entry_version < 2:
                    continue
                id_size = 2 if entry_version == 2 else 4
                item_id = int.from_bytes(meta[entry_payload + 4:entry_payload + 4 + id_size], "big")
                type_at = entry_payload + 4 + id_size + 2
                item_type = bytes(meta[type_at:type_at + 4])
                rest = bytes(meta[type_at + 4:entry_end]).split(b"\x00")
                content_type = rest[1].lower() if len(rest) > 1 else b""
                if item_type == b"Exif" or (item_type == b"mime" and (b"xmp" in content_type
                                                                       or b"rdf" in content_type)):
                    hidden[item_id] = "EXIF" if item_type == b"Exif" else "XMP"
                    meta[type_at:type_at + 4] = HIDDEN_ITEM
        elif kind == b"iloc":
            iloc = (inner, box_end)
        elif kind == b"idat":
            idat = inner
    if not hidden:
        return
    if iloc is None:
        raise IsoError("its metadata items have no locations")
    for item_id, (method, ranges) in _iloc_ranges(meta, *iloc).items():
        if item_id not in hidden:
            continue
        edits.removed.append(hidden[item_id])
        for offset, length in ranges:
            if method == 0:
                edits.zero_ranges.append((offset, offset + length))
            elif method == 1 and idat is not None:
                start = idat + offset
                meta[start:start + length] = bytes(length)
            else:
                raise IsoError("a metadata item is stored in a way Steward cannot clear")


def _iloc_ranges(meta: bytearray, start: int, end: int) -> dict[int, tuple[int, list[tuple[int, int]]]]:
    version = meta[start]
    position = start + 4
    sizes = meta[position]
    offset_size, length_size = sizes >> 4, sizes & 0x0F
    base_size = meta[position + 1] >> 4
    index_size = meta[position + 1] & 0x0F if version in (1, 2) else 0
    position += 2

    def number(width: int) -> int:
        nonlocal position
        if position + width > end:
            raise IsoError("the item locations are cut off")
        value = int.from_bytes(meta[position:position + width], "big") if width else 0
        position += width
        return value

    count = number(2 if version < 2 else 4)
    items: dict[int, tuple[int, list[tuple[int, int]]]] = {}
    budget = MAX_EXTENTS  # zero-width fields would let a tiny table claim billions of extents
    for _ in range(count):
        item_id = number(2 if version < 2 else 4)
        method = number(2) & 0x0F if version in (1, 2) else 0
        number(2)  # data reference index
        base = number(base_size)
        extents: list[tuple[int, int]] = []
        wanted = number(2)
        budget -= wanted + 1
        if budget < 0:
            raise IsoError("its item table claims an implausible number of parts")
        for _ in range(wanted):
            number(index_size)
            offset = base + number(offset_size)
            extents.append((offset, number(length_size)))
        items[item_id] = (method, extents)
    return items


def clean_isobmff(reader: Reader, sink: Sink) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the file with its metadata neutralised; return (removed, None, (0, 0)).

    Raise IsoError for any structure that does not add up (never another exception).
    """
    try:
        return _clean(reader, sink)
    except (IndexError, struct.error, ValueError, OverflowError) as error:
        raise IsoError(f"its structure is damaged ({error.__class__.__name__})") from None


def _clean(reader: Reader, sink: Sink) -> tuple[list[str], int | None, tuple[int, int]]:
    edits = _Edits()
    position = 0
    media_seen = False
    structure: set[bytes] = set()
    while not reader.at_end():
        header = reader.exact(8)
        size, kind = struct.unpack(">I4s", header)
        extra = b""
        if size == 1:
            extra = reader.exact(8)
            size = struct.unpack(">Q", extra)[0]
        header_length = 8 + len(extra)
        if size == 0:
            raise IsoError("a box runs to the end of the file without a size")
        if size < header_length:
            raise IsoError(f"a '{kind.decode('latin-1')}' box has an impossible size")
        body_length = size - header_length
        if kind in (b"mdat", b"free", b"skip", b"wide") or (kind not in (b"moov", b"meta",
                                                                         b"uuid", b"udta")
                                                             and body_length > MAX_HEADER_BOX):
            sink.write(header + extra)
            _copy_zeroing(reader, sink, position + header_length, body_length, edits)
            media_seen = media_seen or kind == b"mdat"
        else:
            if body_length > MAX_HEADER_BOX:
                raise IsoError(f"its '{kind.decode('latin-1')}' box is implausibly large")
            box = bytearray(header + extra + reader.exact(body_length))
            if kind in (b"moov", b"moof"):
                _neutralise_movie(box, header_length, len(box), edits)
            elif kind == b"meta":
                before = len(edits.zero_ranges)
                _items_to_hide(box, header_length, len(box), edits)
                if media_seen and len(edits.zero_ranges) > before:
                    raise IsoError("its metadata items come before its item table")
            elif kind in (b"uuid", b"udta"):
                edits.removed.append("XMP or vendor data" if kind == b"uuid" else "user data")
                _free(box, 0, header_length, len(box))
            sink.write(box)
        structure.add(kind)
        position += size
    if not position:
        raise IsoError("it is empty")
    if b"moov" not in structure and b"meta" not in structure and b"moof" not in structure:
        raise IsoError("it has no movie header (moov) or item table (meta): it is incomplete")
    return edits.removed, None, (0, 0)


def _copy_zeroing(reader: Reader, sink: Sink, start: int, length: int, edits: _Edits) -> None:
    """Copy `length` bytes that sit at `start` in the file, writing zeros over hidden ranges."""
    end = start + length
    position = start
    for zero_start, zero_end in sorted(edits.zero_ranges):
        if zero_end <= position or zero_start >= end:
            continue
        if zero_start > position:
            reader.copy(zero_start - position, sink)
            position = zero_start
        stop = min(zero_end, end)
        reader.exact(stop - position)
        sink.write(bytes(stop - position))
        position = stop
    if end > position:
        reader.copy(end - position, sink)
