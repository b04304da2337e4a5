"""The names a track carries for whoever made it, removed; everything a decoder needs, kept.

A handler (`hdlr`) names its maker and itself (QuickTime's 'appl', 'Core Media Video', 'GoPro
AVC'); a sample description names its vendor and, for pictures, its compressor ('H.264',
'GoPro AVC encoder'), and may hold boxes of its own after its fixed fields, where user data,
metadata or XMP do not belong and are dropped. The codec's configuration (avcC, hvcC, esds...)
stays byte for byte.
"""

from __future__ import annotations

import struct

from policies.media.boxes import Box, IsoError, children

# Where a sample entry's own boxes start, after its fixed fields (from the payload): pictures;
# sound by QuickTime sound description version (0 is also ISO's AudioSampleEntry).
VISUAL_BOXES_AT = 78
SOUND_BOXES_AT = {0: 28, 1: 44, 2: 64}
NOT_IN_A_DESCRIPTION = {b"udta", b"meta", b"uuid", b"XMP_", b"free", b"skip"}


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def anonymous_handler(data: bytes, hdlr: Box) -> bytes:
    """An hdlr box without its maker (QuickTime's manufacturer, e.g. 'appl') and its name
    ('Core Media Video', 'GoPro AVC'): kept are the handler's class and type, which players
    need; the name becomes empty (an empty C string and an empty Pascal string alike)."""
    if hdlr.end - hdlr.payload < 12:
        raise IsoError("a track's handler is cut off")
    kept = bytes(data[hdlr.payload:hdlr.payload + 12])
    return _box(b"hdlr", kept + bytes(12) + b"\x00")


def anonymous_descriptions(data: bytes, stsd: Box, visual: bool) -> bytes:
    """The sample descriptions with the vendor (bytes 12-15 of each, e.g. 'appl', 'FFMP') and,
    for pictures, the compressor name (32 bytes at 42, e.g. 'GoPro AVC encoder') zeroed, and
    user data, metadata and XMP boxes among their own boxes dropped. Nothing else changes: the
    codec's configuration is the decoder's, and stays byte for byte."""
    if stsd.end - stsd.payload < 8:
        raise IsoError("a track's sample descriptions are cut off")
    entries = [_anonymous_entry(data, entry, visual)
               for entry in children(data, stsd.payload + 8, stsd.end)]
    return _box(b"stsd", bytes(data[stsd.payload:stsd.payload + 8]) + b"".join(entries))


def _anonymous_entry(data: bytes, entry: Box, visual: bool) -> bytes:
    """One sample entry without its vendor, compressor name and metadata boxes."""
    fixed = bytearray(data[entry.payload:entry.end])
    if len(fixed) >= 16:
        fixed[12:16] = bytes(4)
    if visual and len(fixed) >= 74:
        fixed[42:74] = bytes(32)
    if visual:
        boxes_at = VISUAL_BOXES_AT
    elif len(fixed) >= 10:
        boxes_at = SOUND_BOXES_AT.get(struct.unpack_from(">H", fixed, 8)[0], len(fixed))
    else:
        boxes_at = len(fixed)
    inner = _without_metadata(bytes(fixed), min(boxes_at, len(fixed)))
    return _box(entry.kind, inner)


def _without_metadata(payload: bytes, start: int) -> bytes:
    """`payload` with the metadata boxes after `start` dropped. Bytes there that are not boxes
    (a QuickTime terminator, a codec's private layout) are left as they are."""
    try:
        boxes = list(children(payload, start, len(payload)))
    except IsoError:
        return payload
    kept = [payload[box.start:box.end] for box in boxes if box.kind not in NOT_IN_A_DESCRIPTION]
    return payload[:start] + b"".join(kept)

