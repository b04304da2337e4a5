"""Cleaning picture files on disk (`steward media clean`): each cleaned into a temporary file
beside its target, proved clean, and renamed into place; nothing but media code is imported,
so that the command starts quickly.

The file to clean may be someone else's, still open for writing. It is opened once, without
following a link (O_NOFOLLOW, and O_NONBLOCK so that a pipe cannot hold the open up), and
refused on that descriptor unless it is a regular file with a single name (a second hard link
lets someone outside rewrite it later); everything after reads that descriptor, never the path
again. A JPEG takes the quick way (daemon.posts.jpeg_files: picture data copied in the kernel,
the copy searched and proved as written); anything else is cleaned and proved as a stream.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from daemon.posts.jpeg_files import clean_jpeg_file
from policies.media.cleaning import CleanReport, UncleanableMedia, clean_stream, prove_clean
from policies.media.jpeg import SIGNATURE

__all__ = ["UncleanableMedia", "clean_file", "open_picture", "verify_clean"]

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def verify_clean(path: Path, original: CleanReport | None = None) -> CleanReport:
    """Run the cleaner over a cleaned file; raise UncleanableMedia if anything would go, or if
    its video samples differ from those `original` (the first cleaning's report) copied."""
    with open(path, "rb") as handle:
        return prove_clean(handle, original)


def open_picture(source: Path) -> int:
    """The descriptor of `source`, opened once without following a link, checked to be a
    regular file with one name; raise UncleanableMedia (in plain English) when it is not."""
    try:
        descriptor = os.open(source, _OPEN_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UncleanableMedia("it is a symbolic link; Steward cleans only real files. Clean "
                                   "the file it points to instead.") from None
        raise
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise UncleanableMedia("it is not a regular file (a folder, a device or a pipe). "
                                   "Copy the picture into a file and clean that.")
        if status.st_nlink != 1:
            raise UncleanableMedia("it has a second name (a hard link), through which it could be "
                                   "changed while Steward cleans it. Copy it and clean the copy.")
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def clean_file(source: Path, target: Path, *, durable: bool = True) -> CleanReport:
    """Clean `source` into `target` (atomically: temporary file, rename; `durable`: fsync
    first), then prove it.

    Raise UncleanableMedia (and leave no `target`) if the file cannot be cleaned or proved.
    """
    target = Path(target)
    descriptor = open_picture(Path(source))
    with os.fdopen(descriptor, "rb") as handle:
        output, temporary = tempfile.mkstemp(prefix=".cleaning-", dir=target.parent)
        try:
            with os.fdopen(output, "w+b") as written:
                if os.pread(descriptor, 2, 0) == SIGNATURE:
                    report = clean_jpeg_file(descriptor, output)
                else:
                    report = clean_stream(handle, written)
                    written.flush()
                    verify_clean(Path(temporary), report)
                if durable:
                    os.fsync(output)
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    return report
