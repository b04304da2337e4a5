"""A buffered reader over a binary stream, with the few operations the walkers need."""

from __future__ import annotations

import re
from typing import Any, BinaryIO, Protocol, runtime_checkable

BLOCK = 1 << 20


class Sink(Protocol):
    """Where a cleaner writes: a file, a BytesIO, or something that only counts or discards."""

    def write(self, data: bytes | bytearray, /) -> int: ...


@runtime_checkable
class SeekableSink(Sink, Protocol):
    """A sink that can go back to patch a size written before it was known (WebP's RIFF
    header). Check `seekable()` too: a file opened on a pipe has the methods but cannot."""

    def seekable(self) -> bool: ...

    def seek(self, position: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


class Digest(Protocol):
    """Something fed the bytes as they are copied (a running CRC, a hash)."""

    def update(self, data: bytes | bytearray, /) -> None: ...


class Damaged(Exception):
    """The file's structure is broken; each format's own error (JpegError, PngError, ...) is
    one, so that a caller catches them all without importing every format."""


class Truncated(Exception):
    """The stream ended in the middle of a structure."""


class Ambiguous(Exception):
    """The file is built so that programs would disagree about it: two headers giving different
    sizes, a frame larger than its picture. Such files come from tools that build traps (a
    small picture in front of an enormous one), never from a camera or photo app."""


class Reader:
    """Reads exact amounts, peeks, and copies up to a pattern, from a stream, in blocks."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.position = 0  # bytes consumed so far, for error messages

    def _fill(self, at_least: int) -> bool:
        while len(self.buffer) < at_least:
            block = self.stream.read(max(BLOCK, at_least - len(self.buffer)))
            if not block:
                return False
            self.buffer += block
        return True

    def exact(self, count: int) -> bytes:
        """Consume and return exactly `count` bytes; raise Truncated if the stream ends."""
        if not self._fill(count):
            raise Truncated(f"the file ends early (at byte {self.position + len(self.buffer)})")
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        self.position += count
        return data

    def peek(self, count: int) -> bytes:
        """Return up to `count` bytes without consuming them."""
        self._fill(count)
        return bytes(self.buffer[:count])

    def at_end(self) -> bool:
        return not self._fill(1)

    def copy(self, count: int, sink: Sink, digest: Digest | None = None) -> None:
        """Copy exactly `count` bytes to `sink` in blocks (and feed `digest`, if given)."""
        while count:
            if not self._fill(1):
                raise Truncated(f"the file ends early (at byte {self.position})")
            take = min(count, len(self.buffer))
            chunk = self.buffer[:take]
            sink.write(chunk)
            if digest is not None:
                digest.update(chunk)
            del self.buffer[:take]
            self.position += take
            count -= take

    def copy_until(self, pattern: re.Pattern[bytes], sink: Sink, keep_tail: int = 1) -> None:
        """Copy bytes to `sink` up to (not including) the first match of `pattern`.

        `keep_tail` bytes stay buffered between blocks so that a match spanning two blocks
        is found. Raise Truncated if the stream ends first.
        """
        while True:
            match = pattern.search(self.buffer)
            if match:
                sink.write(self.buffer[:match.start()])
                self.position += match.start()
                del self.buffer[:match.start()]
                return
            safe = max(0, len(self.buffer) - keep_tail)
            sink.write(self.buffer[:safe])
            self.position += safe
            del self.buffer[:safe]
            if not self._fill(len(self.buffer) + 1):
                raise Truncated("the file ends inside the picture data")

    def skip_rest(self) -> int:
        """Consume and discard everything left; return how many bytes that was."""
        dropped = len(self.buffer)
        self.buffer.clear()
        while block := self.stream.read(BLOCK):
            dropped += len(block)
        self.position += dropped
        return dropped


class BufferReader(Reader):
    """Reader's operations over bytes already in memory or mapped from a file (an mmap):
    nothing is buffered, and picture data is not copied but handed to the sink as a range
    when the sink copies ranges itself (`copies_ranges`, like the proof's null sink).
    `scan_ends`: where each scan is known to end, by where it starts (daemon.posts.jpeg_files:
    searched in the copy as it was made), checked there instead of searched for again."""

    def __init__(self, data: Any, scan_ends: dict[int, int] | None = None) -> None:
        self.stream = None  # type: ignore[assignment]
        self.buffer = bytearray()
        self.data: Any = data  # bytes, bytearray, memoryview or mmap
        self.size = len(data)
        self.position = 0
        # Where data copied as it was ends, by where it starts: a scan's end known already
        # (Steward's own output, proved clean) is checked, not searched for again.
        self.scan_ends = scan_ends or {}

    def exact(self, count: int) -> bytes:
        end = self.position + count
        if end > self.size:
            raise Truncated(f"the file ends early (at byte {self.size})")
        data = bytes(self.data[self.position:end])
        self.position = end
        return data

    def peek(self, count: int) -> bytes:
        return bytes(self.data[self.position:self.position + count])

    def at_end(self) -> bool:
        return self.position >= self.size

    def copy(self, count: int, sink: Sink, digest: Digest | None = None) -> None:
        end = self.position + count
        if end > self.size:
            raise Truncated(f"the file ends early (at byte {self.size})")
        if digest is not None:
            digest.update(self.data[self.position:end])
        self._emit(sink, end)

    def copy_until(self, pattern: re.Pattern[bytes], sink: Sink, keep_tail: int = 1) -> None:
        known = self.scan_ends.get(self.position)
        if known is not None and pattern.match(self.data, known):
            self._emit(sink, known)
            return
        match = pattern.search(self.data, self.position)
        if not match:
            raise Truncated("the file ends inside the picture data")
        self._emit(sink, match.start())

    def skip_rest(self) -> int:
        dropped = self.size - self.position
        self.position = self.size
        return dropped

    def _emit(self, sink: Sink, end: int) -> None:
        start, self.position = self.position, end
        if start == end:
            return
        if getattr(sink, "copies_ranges", False):
            sink.copy_range(start, end)  # type: ignore[attr-defined]
            return
        for offset in range(start, end, BLOCK):
            sink.write(self.data[offset:min(end, offset + BLOCK)])

