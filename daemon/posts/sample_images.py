"""Small, valid images Steward draws itself: the demo's photo, and test inputs.

Drawn with zlib and struct only, so the demo needs no image library and carries no metadata.
"""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_image(width: int = 8, height: int = 8, seed: int = 0) -> bytes:
    """Return an RGB PNG with a gradient; `seed` varies the pixels (and so the file's hash)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((((x * 255) // max(1, width - 1) + seed) % 256,
                                  (y * 255) // max(1, height - 1), 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b""))
