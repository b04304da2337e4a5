"""Cleaning picture files on disk (`steward media clean`): each cleaned into a temporary file
beside its target, proved clean, and renamed into place; nothing but media code is imported,
so that the command starts quickly.

A JPEG takes the quick way: the file is mapped (not read), its structure walked by the same
cleaner, and its picture data (the entropy-coded scans, nearly all of the file) copied from
file to file in the kernel (copy_file_range) instead of through Python. The result is proved
clean by walking it again, its picture data by the positions where each copy ends rather than
by searching it a second time. Anything else is cleaned and proved as a stream.
"""

from __future__ import annotations

import mmap
import os
import stat
import tempfile
from pathlib import Path

from policies.media.cleaning import (
    CleanReport,
    UncleanableMedia,
    clean_buffer,
    clean_stream,
    prove_clean,
    prove_clean_buffer,
)
from policies.media.streams import BLOCK, Plan

__all__ = ["UncleanableMedia", "clean_file", "verify_clean"]


def verify_clean(path: Path, original: CleanReport | None = None) -> CleanReport:
    """Run the cleaner over a cleaned file; raise UncleanableMedia if anything would go, or if
    its video samples differ from those `original` (the first cleaning's report) copied."""
    with open(path, "rb") as handle:
        return prove_clean(handle, original)


def clean_file(source: Path, target: Path, *, durable: bool = True) -> CleanReport:
    """Clean `source` into `target` (atomically: temporary file, rename; `durable`: fsync
    first), then prove it.

    Raise UncleanableMedia (and leave no `target`) if the file cannot be cleaned or proved.
    """
    target = Path(target)
    descriptor, temporary = tempfile.mkstemp(prefix=".cleaning-", dir=target.parent)
    try:
        with open(source, "rb") as handle, os.fdopen(descriptor, "wb") as output:
            status = os.fstat(handle.fileno())
            if stat.S_ISREG(status.st_mode) and status.st_size >= 2 and \
                    os.pread(handle.fileno(), 2, 0) == b"\xff\xd8":
                report = _clean_jpeg(handle.fileno(), output.fileno())
            else:
                report = clean_stream(handle, output)
                output.flush()
                verify_clean(Path(temporary), report)
            if durable:
                os.fsync(output.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return report


def _clean_jpeg(source: int, output: int) -> CleanReport:
    """Clean the JPEG open as `source` into the empty file open as `output`, and prove it."""
    with mmap.mmap(source, 0, access=mmap.ACCESS_READ) as data:
        plan = Plan()
        report = clean_buffer(data, plan)
        for piece in plan.pieces:
            if isinstance(piece, bytes):
                _write(output, piece)
            else:
                _copy(source, output, data, *piece)
    with mmap.mmap(output, 0, access=mmap.ACCESS_READ) as written:
        if len(written) != plan.size:
            raise UncleanableMedia("the cleaned copy was not written whole (is the disk full?)")
        prove_clean_buffer(written, plan.copied_ranges())
    return report


def _write(output: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(output, view[:BLOCK]):]


def _copy(source: int, output: int, data: mmap.mmap, start: int, end: int) -> None:
    """Copy bytes start..end of `source` to the end of `output`, in the kernel when it can."""
    while start < end:
        try:
            copied = os.copy_file_range(source, output, end - start, start)
        except OSError:  # another file system, an old kernel: through memory, in blocks
            copied = 0
        if copied <= 0:
            _write(output, memoryview(data)[start:end])
            return
        start += copied
