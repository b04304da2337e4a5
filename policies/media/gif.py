"""GIF: copy the blocks that draw the picture, drop comments and metadata extensions.

Kept: the header, screen descriptor and colour tables, image descriptors with their LZW data,
graphic control extensions (their four documented bytes), and the NETSCAPE2.0/ANIMEXTS1.0
looping extension (rewritten to its documented shape: one sub-block, 0x01 and the loop count).
Dropped: comment extensions, plain-text extensions (text that almost no reader draws but every
parser reads) with the graphic control extension that belongs to them, XMP and every other
application extension, sub-blocks beyond the documented ones, and anything after the trailer.
GIF has no orientation.
"""

from __future__ import annotations

import struct

from policies.media.streams import Damaged, Reader, Sink

LOOPING = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
CONTROL_LENGTH = 4  # flags, delay (2), transparent colour index


class GifError(Damaged):
    """The GIF cannot be followed to its end."""


def _sub_blocks(reader: Reader, sink: Sink | None) -> tuple[list[bytes], int]:
    """Read data sub-blocks up to the terminator; copy them to `sink` unless it is None.

    Return the first few sub-blocks (for identifying extensions and checking their shape) and
    how many there were; the rest are read in passing (LZW data can be megabytes long).
    """
    first: list[bytes] = []
    count = 0
    while True:
        size = reader.exact(1)
        block = reader.exact(size[0])
        if sink is not None:
            sink.write(size + block)
        if size == b"\x00":
            return first, count
        count += 1
        if len(first) < 4:
            first.append(block)


def _looping(blocks: list[bytes], count: int, identifier: bytes,
             removed: list[str]) -> bytes | None:
    """The looping extension in its documented shape, or None when it holds no loop count."""
    loop = next((block for block in blocks[1:] if len(block) >= 3 and block[0] == 1), None)
    if loop is None:
        removed.append("an application extension without a loop count")
        return None
    canonical = b"\x03\x01" + loop[1:3]
    if count != 2 or blocks[1] != canonical[1:]:
        removed.append("extra data in the looping extension")
    return b"\x21\xff\x0b" + identifier + canonical + b"\x00"


def clean_gif(reader: Reader, sink: Sink) -> tuple[list[str], int | None, tuple[int, int]]:
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
    control: bytes | None = None  # a graphic control extension waits for what it controls
    while True:
        introducer = reader.exact(1)
        if introducer == b"\x21" and reader.peek(1) == b"\x01":  # plain text: drop its control
            reader.exact(1)
            _sub_blocks(reader, None)
            removed.append("plain-text extension")
            control = None
            continue
        if control is not None and introducer != b"\x21":  # an image, or the trailer, follows
            sink.write(control)
            control = None
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
            _sub_blocks(reader, sink)
            frames += 1
        elif introducer == b"\x21":
            label = reader.exact(1)
            if label == b"\xf9":
                size = reader.peek(1)
                blocks, count = _sub_blocks(reader, None)
                if size != bytes([CONTROL_LENGTH]):
                    raise GifError("a frame's timing block (graphic control extension) is "
                                   "malformed")
                if count > 1:
                    removed.append("extra data in a frame's timing block")
                if control is not None:
                    sink.write(control)  # two in a row: both kept, as they came
                control = b"\x21\xf9\x04" + blocks[0] + b"\x00"
            elif label == b"\xff":
                blocks, count = _sub_blocks(reader, None)
                identifier = blocks[0] if blocks else b""
                if identifier in LOOPING:
                    kept = _looping(blocks, count, identifier, removed)
                    if kept is not None:
                        sink.write(kept)
                else:
                    name = identifier[:8].decode("latin-1", "replace")
                    removed.append("XMP" if name.startswith("XMP Data") else
                                   f"application extension ({name.strip()})")
            elif label == b"\xfe":
                _sub_blocks(reader, None)
                removed.append("comment")
            else:
                raise GifError(f"unknown extension 0x{label[0]:02X}")
        else:
            raise GifError(f"unexpected byte 0x{introducer[0]:02X} at {reader.position - 1}")
    if not frames:
        raise GifError("it has no picture data")
    return removed, None, extent
