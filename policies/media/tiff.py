"""Just enough TIFF (the structure inside EXIF) to read an orientation and write one back.

Only the first directory (IFD0) is read, with every offset and count checked against the
block's size, so a hostile EXIF block (10,000 entries, offsets pointing anywhere, loops) cannot
make Steward read out of bounds or loop: it only ever looks at IFD0's entries once.
"""

from __future__ import annotations

import struct

ORIENTATION_TAG = 0x0112
MAX_ENTRIES = 4096


def read_orientation(tiff: bytes) -> int | None:
    """Return the Orientation (1-8) stored in IFD0 of a TIFF/EXIF block, or None."""
    if len(tiff) < 8:
        return None
    order = tiff[:2]
    if order == b"II":
        prefix = "<"
    elif order == b"MM":
        prefix = ">"
    else:
        return None
    if struct.unpack(prefix + "H", tiff[2:4])[0] != 42:
        return None
    offset = struct.unpack(prefix + "I", tiff[4:8])[0]
    if offset + 2 > len(tiff):
        return None
    count = struct.unpack(prefix + "H", tiff[offset:offset + 2])[0]
    count = min(count, MAX_ENTRIES, (len(tiff) - offset - 2) // 12)
    for index in range(count):
        entry = offset + 2 + 12 * index
        tag, kind, number = struct.unpack(prefix + "HHI", tiff[entry:entry + 8])
        if tag == ORIENTATION_TAG and kind == 3 and number == 1:
            value = struct.unpack(prefix + "H", tiff[entry + 8:entry + 10])[0]
            return value if 1 <= value <= 8 else None
    return None


def orientation_only(orientation: int) -> bytes:
    """A minimal big-endian TIFF block with one entry in IFD0: the Orientation."""
    return (b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
            + struct.pack(">HHIHH", ORIENTATION_TAG, 3, 1, orientation, 0)
            + struct.pack(">I", 0))
