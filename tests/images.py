"""Small image files made by the tests themselves (no fixture needed)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiny_png(width: int = 8, height: int = 8, seed: int = 0) -> bytes:
    """Return a valid RGB PNG with a gradient; `seed` varies the pixels (and so the hash)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(((x * 32 + seed) % 256, (y * 32) % 256, 128))
                           for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))
