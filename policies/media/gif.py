"""GIF: copy the blocks that draw the picture, drop comments and metadata extensions.

Kept: the header, screen descriptor and colour tables, image descriptors with their LZW data,
graphic control and plain-text extensions, and the NETSCAPE/ANIMEXTS looping extension.
Dropped: comment extensions, XMP and every other application extension, and anything after the
trailer. GIF has no orientation.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from policies.media.streams import Reader

KEEP_APPLICATIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


class GifError(Exception):
    """The GIF cannot be followed to its end."""


def _copy_sub_blocks(reader: Reader, sink: BinaryIO | None) -> bytes:
    """Copy (or skip, when `sink` is None) data sub-blocks up to the terminator; return the
    first sub-block (for identifying application extensions)."""
    first = b""
    while True:
        size = reader.exact(1)
        block = reader.exact(size[0])
        if not first:
            first = block
        if sink is not None:
            sink.write(size + block)
        if size == b"\x00":
            return first


def clean_gif(reader: Reader, sink: BinaryIO) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the GIF without metadata; return (removed, None, (width, height)).

    The size is the logical screen's, or larger where a frame reaches beyond it: Pillow grows
    the picture to hold such a frame, so that is what a decoder may allocate.
    """
    header = reader.exact(13)
    if header[:6] not in (b"GIF87a", b"GIF89a"):
        raise GifError("it does not start like a GIF")
    sink.write(header)
    extent = struct.unpack("<HH", header[6:10])  # the logical screen, grown by any frame beyond it
    if header[10] & 0x80:
        sink.write(reader.exact(3 * 2 ** ((header[10] & 0x07) + 1)))
    removed: list[str] = []
    frames = 0
    while True:
        introducer = reader.exact(1)
        if introducer == b"\x3b":
            sink.write(introducer)
            trailing = reader.skip_rest()
            if trailing:
                removed.append(f"data after the end of the picture ({trailing:,} bytes)")
            break
        if introducer == b"\x2c":
            descriptor = reader.exact(9)
            left, top, frame_width, frame_height = struct.unpack("<HHHH", descriptor[:8])
            extent = (max(extent[0], left + frame_width), max(extent[1], top + frame_height))
            sink.write(introducer + descriptor)
            if descriptor[8] & 0x80:
                sink.write(reader.exact(3 * 2 ** ((descriptor[8] & 0x07) + 1)))
            sink.write(reader.exact(1))  # LZW minimum code size
            _copy_sub_blocks(reader, sink)
            frames += 1
        elif introducer == b"\x21":
            label = reader.exact(1)
            if label in (b"\xf9", b"\x01"):
                sink.write(introducer + label)
                _copy_sub_blocks(reader, sink)
            elif label == b"\xff":
                first = reader.peek(12)
                if first[:1] == b"\x0b" and first[1:12] in KEEP_APPLICATIONS:
                    sink.write(introducer + label)
                    _copy_sub_blocks(reader, sink)
                else:
                    identifier = _copy_sub_blocks(reader, None)[:8].decode("latin-1", "replace")
                    removed.append("XMP" if identifier.startswith("XMP Data") else
                                   f"application extension ({identifier.strip()})")
            elif label == b"\xfe":
                _copy_sub_blocks(reader, None)
                removed.append("comment")
            else:
                raise GifError(f"unknown extension 0x{label[0]:02X}")
        else:
            raise GifError(f"unexpected byte 0x{introducer[0]:02X} at {reader.position - 1}")
    if not frames:
        raise GifError("it has no picture data")
    return removed, None, extent
