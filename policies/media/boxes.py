"""ISO base media file format boxes, read defensively: every size and offset is the sender's.

A box is a size, a four-character type and a payload; the size may be 1 (a 64-bit size
follows) or, at the top level only, 0 (the box runs to the end of the file). `children` walks
the boxes inside a payload held in memory; `top_level` walks a whole file by its headers alone,
through a `Source` that reads at an offset, so that a movie's index (which phones often write
after its media data) can be read before anything is written.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

# Top-level boxes a file cut short inside is refused for; anything else that does not fit is a
# trailer (Samsung's SEF data, for one) that is not a box at all.
KNOWN_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"udta", b"meta",
                   b"moof", b"mfra", b"sidx", b"ssix", b"styp", b"emsg", b"prft", b"pdin"}


class IsoError(Exception):
    """The file's box structure cannot be followed; the message says how, in plain English."""


@dataclass(frozen=True)
class Box:
    """One box: its type, where it starts, where its payload starts, and where it ends."""

    kind: bytes
    start: int
    payload: int
    end: int

    @property
    def name(self) -> str:
        """The type as printable text, for messages ('©xyz', 'moov')."""
        return self.kind.decode("latin-1")

    @property
    def header(self) -> int:
        return self.payload - self.start


def _header(head: bytes, position: int, end: int, *, open_ended: bool) -> Box:
    """The box whose first 8 or 16 bytes are `head`, starting at `position` inside [.., end)."""
    size, kind = struct.unpack(">I4s", head[:8])
    header = 8
    if size == 1:
        if len(head) < 16 or position + 16 > end:
            raise IsoError(f"the header of a '{kind.decode('latin-1')}' box is cut off")
        size = struct.unpack(">Q", head[8:16])[0]
        header = 16
    elif size == 0:
        if not open_ended:
            raise IsoError(f"a '{kind.decode('latin-1')}' box inside another has no size")
        size = end - position
    if size < header or position + size > end:
        raise IsoError(f"a '{kind.decode('latin-1')}' box is larger than what holds it "
                       "(the file may be cut off)")
    return Box(kind, position, position + header, position + size)


def children(data: bytes | bytearray | memoryview, start: int, end: int) -> Iterator[Box]:
    """Yield the boxes that fill data[start:end] exactly; raise IsoError if they do not."""
    position = start
    while position < end:
        if end - position < 8:
            raise IsoError("boxes inside the movie's index do not add up")
        box = _header(bytes(data[position:position + 16]), position, end, open_ended=False)
        yield box
        position = box.end


class Source:
    """A file read at offsets: a seekable stream, or bytes/mmap already in memory."""

    def __init__(self, data: Any = None, stream: BinaryIO | None = None) -> None:
        self._data = data
        self._stream = stream
        if data is not None:
            self.size = len(data)
        elif stream is not None:
            self.size = stream.seek(0, io.SEEK_END)
        else:
            raise ValueError("a Source needs data or a stream")

    def read_at(self, offset: int, count: int) -> bytes:
        """Exactly `count` bytes at `offset`; raise IsoError if the file is shorter."""
        if offset < 0 or count < 0 or offset + count > self.size:
            raise IsoError(f"something points past the end of the file (byte {offset + count:,} "
                           f"of {self.size:,})")
        if self._data is not None:
            return bytes(self._data[offset:offset + count])
        assert self._stream is not None
        self._stream.seek(offset)
        data = self._stream.read(count)
        if len(data) != count:
            raise IsoError("the file changed or ended while it was being read")
        return data

    def blocks(self, offset: int, count: int, block: int = 1 << 20) -> Iterator[bytes]:
        """The bytes [offset, offset + count) in blocks of at most `block`."""
        while count > 0:
            take = min(block, count)
            yield self.read_at(offset, take)
            offset += take
            count -= take


def top_level(source: Source) -> Iterator[Box]:
    """Yield the file's top-level boxes, from their headers only.

    Stop (without error) where the rest of the file is not a box at all, a trailer some cameras
    append: the caller decides whether that is acceptable. Raise IsoError for a known box whose
    header is cut off or that claims to run past the end of the file.
    """
    position = 0
    while position < source.size:
        if source.size - position < 8:
            return
        head = source.read_at(position, min(16, source.size - position))
        if not _plausible_type(head[4:8]):
            return
        try:
            box = _header(head, position, source.size, open_ended=True)
        except IsoError:
            if head[4:8] in KNOWN_TOP_LEVEL:
                raise
            return
        yield box
        position = box.end


def _plausible_type(kind: bytes) -> bool:
    """Box types are four printable characters (QuickTime's start with ©, byte 0xA9)."""
    return all(32 <= byte < 127 or byte == 0xA9 for byte in kind)
