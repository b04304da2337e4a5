"""The quick way a JPEG file is cleaned: its structure read through its descriptor, its picture
data (the entropy-coded scans, nearly all of the file) copied file to file in the kernel, and
the result proved clean by walking the output as written.

The input may belong to someone who can still write to it while Steward works (the same open
file, rewritten in place). So nothing the cleaner believes about the input is trusted for the
picture data:

- the input is never mapped (a file cut short under a mapping kills the process with SIGBUS,
  leaving a half-written copy); its markers and segments are read with pread, each byte once,
  into memory, and what is written for them is made from those bytes;
- picture data is copied from the input (copy_file_range; pread and pwrite where the kernel
  cannot, as between two file systems) in growing pieces, and the end of each scan (the first
  marker) is searched for in the OUTPUT, in the bytes just copied, not in the input: whatever
  the input held when the kernel copied it is what is searched, and the walk goes on in the
  input from there;
- before the copy is renamed into place, the whole output is walked again as written (every
  marker, every segment's length and content, the picture's size compared with the first
  walk's): a second pass must find nothing to remove. Each scan must end where the search of
  the copy found its marker; the bytes before it were searched in the output itself, after
  the kernel wrote them, and nothing writes there since, so they are not searched twice. A
  file rewritten between the walk and the copy therefore gives either a clean copy of what the
  kernel copied or a refusal, never metadata let through. The output is a temporary file only
  Steward's user can open (mkstemp: 0600, O_EXCL).

The searches use RE2 (google-re2: memchr for each 0xFF, then a DFA), several times faster than
re, with re as the fallback; the pattern is the cleaner's own (policies.media.jpeg).
"""

from __future__ import annotations

import functools
import mmap
import os
import re
from typing import Any

from policies.media.cleaning import CleanReport, UncleanableMedia, clean_with, prove_clean_with
from policies.media.jpeg import SIGNATURE
from policies.media.streams import BLOCK, BufferReader, Digest, Reader, Sink, Truncated

try:
    import re2
except ImportError:  # pragma: no cover - a platform without the wheel: re, slower, the same
    re2 = None

WINDOW = 64 * 1024  # bytes of markers and segments read at a time
FIRST_PIECE = 256 * 1024  # picture data copied before the first search; doubles each time
LARGEST_PIECE = 16 * 1024 * 1024
_PAGE = mmap.ALLOCATIONGRANULARITY

__all__ = ["clean_jpeg_file", "fast_pattern"]


@functools.cache
def fast_pattern(pattern: re.Pattern[bytes]) -> Any:
    """`pattern` compiled by RE2 over bytes (Latin-1: one byte, one character), or `pattern`
    itself without RE2. Either has search(data, pos[, endpos]) giving a match with start()."""
    if re2 is None:
        return pattern
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    return re2.compile(pattern.pattern, options)


def clean_jpeg_file(source: int, output: int) -> CleanReport:
    """Clean the JPEG open as `source` into the empty file open (read and write) as `output`,
    and prove the output clean as written. Raise UncleanableMedia when it cannot be."""
    sink = _Output(output)
    reader = _Input(source, sink)
    if reader.peek(2) != SIGNATURE:  # what the caller saw first: the file changed since
        raise UncleanableMedia("the file changed while Steward read it; add it again")
    report = clean_with(reader, sink)
    os.ftruncate(output, sink.size)  # pieces copied past a scan's end are cut off
    if sink.size < 2:
        raise UncleanableMedia("the cleaned copy was not written (is the disk full?)")
    with mmap.mmap(output, 0, access=mmap.ACCESS_READ) as written:
        if len(written) != sink.size or len(written) != report.bytes_out:
            raise UncleanableMedia("the cleaned copy was not written whole (is the disk full?)")
        proved = prove_clean_with(_Written(written, sink.scans))
    kept = report.orientation if report.orientation not in (None, 1) else None  # 1: not written
    if (proved.width, proved.height, proved.orientation) != (report.width, report.height, kept):
        raise UncleanableMedia("the cleaned copy differs from the picture that was cleaned (the "
                               "file changed while Steward read it); add it again")
    return report


class _Output:
    """The cleaned copy: what the cleaner writes, at the end; picture data copied from the
    input by `copy_until`, which searches the copy for the scan's end. `size`: bytes that
    count (the file may hold more, copied past the end and overwritten or cut off later)."""

    copies_ranges = True

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        self.size = 0
        self._copied: tuple[int, int] | None = None  # the input range copy_until last copied
        self.scans: dict[int, int] = {}  # where each copied scan ends in the output, by start
        self._kernel = True

    def write(self, data: bytes | bytearray, /) -> int:
        view = memoryview(data)
        done = 0
        while done < len(view):  # in blocks: one huge write is slower here than several
            done += os.pwrite(self.descriptor, view[done:done + BLOCK], self.size + done)
        self.size += done
        return done

    def copy_range(self, start: int, end: int) -> None:
        """Acknowledge the range of the input that copy_until has just copied."""
        if self._copied != (start, end):
            raise RuntimeError(f"picture data {start}..{end} was not copied as it was found")
        self._copied = None

    def copy_until(self, source: int, start: int, pattern: re.Pattern[bytes]) -> int:
        """Copy the input from `start` until `pattern` matches in what was copied; return where
        that is in the input. Raise Truncated if the input ends first."""
        search = fast_pattern(pattern)
        base, copied, searched, piece = self.size, 0, 0, FIRST_PIECE
        while True:
            count = self._copy(source, start + copied, base + copied, piece)
            if count <= 0:
                raise Truncated("the file ends inside the picture data")
            copied += count
            piece = min(piece * 2, LARGEST_PIECE)
            # From one byte back: a 0xFF that ended the last piece, and the byte after it
            offset = base + max(0, searched - 1)
            mapped = offset - offset % _PAGE
            with mmap.mmap(self.descriptor, base + copied - mapped, offset=mapped,
                           access=mmap.ACCESS_READ) as view:
                match = search.search(view, offset - mapped)
                found = None if match is None else mapped + match.start()
            searched = copied
            if found is not None:
                self.size = found
                self._copied = (start, start + found - base)
                self.scans[base] = found
                return start + found - base

    def _copy(self, source: int, at: int, to: int, count: int) -> int:
        if self._kernel:
            try:
                return os.copy_file_range(source, self.descriptor, count, at, to)
            except OSError:  # another file system, an old kernel: through memory from now on
                self._kernel = False
        data = os.pread(source, min(count, BLOCK), at)
        return self._write_at(data, to)

    def _write_at(self, data: bytes, to: int) -> int:
        view = memoryview(data)
        done = 0
        while done < len(view):
            done += os.pwrite(self.descriptor, view[done:], to + done)
        return done


class _Input(Reader):
    """The input as the cleaner reads it: markers and segments by pread, each byte once (after
    picture data, reading goes on where the output's search found its end); picture data never
    read here but copied by the output."""

    def __init__(self, descriptor: int, output: _Output) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.descriptor = descriptor
        self.output = output
        self._window = b""
        self._window_at = 0

    def _ahead(self, count: int) -> bytes:
        """Up to `count` bytes from the position on, from the window or a new one."""
        offset = self.position - self._window_at
        if offset + count > len(self._window):  # what is left of the window is kept, not read again
            kept = self._window[offset:]
            more = os.pread(self.descriptor, max(WINDOW, count - len(kept)),
                            self.position + len(kept))
            self._window, self._window_at, offset = kept + more, self.position, 0
        return self._window[offset:offset + count]

    def exact(self, count: int) -> bytes:
        data = self._ahead(count)
        if len(data) < count:
            raise Truncated(f"the file ends early (at byte {self.position + len(data)})")
        self.position += count
        return data

    def peek(self, count: int) -> bytes:
        return self._ahead(count)

    def at_end(self) -> bool:
        return not self._ahead(1)

    def copy(self, count: int, sink: Sink, digest: Digest | None = None) -> None:
        while count:
            data = self.exact(min(count, WINDOW))
            sink.write(data)
            if digest is not None:
                digest.update(data)
            count -= len(data)

    def copy_until(self, pattern: re.Pattern[bytes], sink: Sink, keep_tail: int = 1) -> None:
        end = self.output.copy_until(self.descriptor, self.position, pattern)
        sink.copy_range(self.position, end)  # type: ignore[attr-defined]  # counted, acknowledged
        self.position = end
        self._window, self._window_at = b"", end  # read on from the input as it is now

    def skip_rest(self) -> int:
        dropped = max(0, os.fstat(self.descriptor).st_size - self.position)
        self.position += dropped
        return dropped


class _Written(BufferReader):
    """The cleaned copy, mapped, walked as any picture in memory. A scan that starts where one
    was copied is checked to end where the copy's search found a marker (those bytes were
    searched in this file, after the copy, and nothing has written to them since); any other
    is searched, with RE2."""

    def copy_until(self, pattern: re.Pattern[bytes], sink: Sink, keep_tail: int = 1) -> None:
        known = self.scan_ends.get(self.position)
        if known is not None and pattern.match(self.data, known):
            self._emit(sink, known)
            return
        match = fast_pattern(pattern).search(self.data, self.position)
        if match is None:
            raise Truncated("the file ends inside the picture data")
        self._emit(sink, match.start())
