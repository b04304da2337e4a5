"""Choose the cleaner for a file by its content (never its name), run it, and prove the result.

Pure: a stream in, a stream out. `clean_stream` cleans; `prove_clean` runs the cleaner over a
result again, where a second pass must find nothing to remove. Files are the daemon's
(daemon.posts.picture_files.clean_file writes one atomically and proves it). The cleaners of
formats other than JPEG are imported when a file of theirs comes, so that `steward media clean`
of photos starts without them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from policies.media.jpeg import clean_jpeg
from policies.media.streams import (
    Ambiguous,
    BufferReader,
    Damaged,
    Reader,
    SeekableSink,
    Sink,
    Truncated,
)

if TYPE_CHECKING:
    from policies.media.boxes import Source

UNSUPPORTED = (
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
    (b"II+\x00", "a BigTIFF"),
    (b"MM\x00+", "a BigTIFF"),
)
ADVICE = "Export the picture as JPEG or PNG and add it again."
VIDEO_ADVICE = ("Save the video again as a standard MP4 (on a phone: share or export it from the "
                "Photos or Gallery app; on a computer: export it from a video editor), then add "
                "it again; or record it again with location turned off for the camera.")


class UncleanableMedia(Exception):
    """Steward cannot prove this file free of location data; the message says why, in plain
    English, and what to do."""


@dataclass(frozen=True)
class CleanReport:
    """What cleaning did: the format, what was removed, the orientation kept, sizes."""

    format: str
    removed: tuple[str, ...]
    orientation: int | None
    bytes_in: int
    bytes_out: int
    width: int = 0
    height: int = 0
    # A video's picture and sound samples, hashed as they were copied (see policies.media.movie)
    samples_sha256: str = ""

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


class _Counting:
    """Counts what is written; passes seeking through when the sink can seek (WebP needs it)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        # hasattr first: a Protocol's isinstance costs tens of microseconds, once per file
        self._seekable = sink if hasattr(sink, "seekable") and isinstance(sink, SeekableSink) \
            and sink.seekable() else None
        self.start = self._seekable.tell() if self._seekable is not None else 0
        self._written = 0

    @property
    def count(self) -> int:
        if self._seekable is not None:
            return self._seekable.tell() - self.start
        return self._written

    def write(self, data: bytes | bytearray) -> int:
        self._written += len(data)
        return self.sink.write(data)

    @property
    def copies_ranges(self) -> bool:
        return bool(getattr(self.sink, "copies_ranges", False))

    def copy_range(self, start: int, end: int) -> None:
        self._written += end - start
        self.sink.copy_range(start, end)  # type: ignore[attr-defined]

    def seekable(self) -> bool:
        return self._seekable is not None

    def seek(self, position: int, whence: int = 0) -> int:
        return self._seekable_sink().seek(position, whence)

    def tell(self) -> int:
        return self._seekable_sink().tell()

    def _seekable_sink(self) -> SeekableSink:
        if self._seekable is None:
            raise io.UnsupportedOperation("the sink cannot seek")  # callers ask seekable() first
        return self._seekable


def describe_unsupported(head: bytes) -> str:
    for signature, name in UNSUPPORTED:
        if head.startswith(signature):
            return name
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "a video"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc"):
            return "a HEIC/HEIF"
        if brand in (b"avif", b"avis"):
            return "an AVIF"
        return "a video"
    return "not an image Steward recognises"


def _kind(head: bytes) -> str:
    return ("PNG" if head.startswith(b"\x89PNG") else "WebP" if head[:4] == b"RIFF"
            else "GIF" if head[:3] == b"GIF" else "TIFF" if head[:2] in (b"II", b"MM")
            else "JPEG")


def clean_stream(source: BinaryIO, sink: Sink) -> CleanReport:
    """Clean `source` into `sink`; raise UncleanableMedia if that cannot be done safely."""
    return _clean(Reader(source), source, sink)


def clean_with(reader: Reader, sink: Sink) -> CleanReport:
    """Clean what `reader` reads into `sink`, with a Reader of the caller's (the daemon's reads a
    file descriptor and lets the sink copy picture data in the kernel: daemon/posts/jpeg_files).
    A TIFF needs a file: use clean_stream."""
    return _clean(reader, None, sink)


def prove_clean_with(reader: Reader) -> CleanReport:
    """prove_clean for what a Reader of the caller's reads (see clean_with)."""
    report = _clean(reader, None, _NullSink())
    if report.removed:
        raise UncleanableMedia("after cleaning, the file still holds: " + ", ".join(report.removed))
    return report


def _clean(reader: Reader | BufferReader, source: BinaryIO | None, sink: Sink) -> CleanReport:
    counting = _Counting(sink)
    samples = ""
    head = reader.peek(16)
    if not head:
        raise UncleanableMedia(f"the file is empty. {ADVICE}")
    from policies.media.boxes import IsoError  # noqa: PLC0415 - light; needed by the except

    try:
        if head.startswith(b"\xff\xd8"):
            kind = "JPEG"
            removed, orientation, (width, height) = clean_jpeg(reader, counting)
        elif head.startswith(b"\x89PNG\r\n\x1a\n"):
            from policies.media.png import clean_png  # noqa: PLC0415

            kind = "PNG"
            removed, orientation, (width, height) = clean_png(reader, counting)
        elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            from policies.media.webp import clean_webp  # noqa: PLC0415

            kind = "WebP"
            removed, orientation, (width, height) = clean_webp(reader, counting)
        elif head[:6] in (b"GIF87a", b"GIF89a"):
            from policies.media.gif import clean_gif  # noqa: PLC0415

            kind = "GIF"
            removed, orientation, (width, height) = clean_gif(reader, counting)
        elif head[:4] in (b"II*\x00", b"MM\x00*"):
            from policies.media.tiff_file import clean_tiff  # noqa: PLC0415

            kind = "TIFF"
            if source is None or not getattr(source, "seekable", lambda: False)():
                raise UncleanableMedia(f"a TIFF can only be cleaned from a file. {ADVICE}")
            source.seek(0)
            removed, orientation, (width, height) = clean_tiff(source, counting)
            reader.position = source.tell()
        elif head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
            kind = {"a HEIC/HEIF": "HEIF", "an AVIF": "AVIF"}.get(describe_unsupported(head),
                                                                  "video")
            if kind == "video":
                from policies.media.movie import clean_movie  # noqa: PLC0415

                movie = _random_access(reader, source)
                cleaned_movie = clean_movie(movie, counting)
                removed, orientation, (width, height) = cleaned_movie.removed, None, (0, 0)
                samples = cleaned_movie.samples_sha256
                reader.position = movie.size
            else:
                from policies.media.isobmff import clean_isobmff  # noqa: PLC0415

                removed, orientation, (width, height) = clean_isobmff(reader, counting)
        else:
            what = describe_unsupported(head)
            raise UncleanableMedia(
                f"it is {what} file, from which Steward cannot yet remove location data "
                f"safely. {ADVICE}" if not what.startswith("not") else f"it is {what}. {ADVICE}")
    except IsoError as error:
        what = describe_unsupported(head)
        advice = VIDEO_ADVICE if what == "a video" else ADVICE
        raise UncleanableMedia(f"Steward cannot safely clean this {what.split(' ', 1)[1]} "
                               f"file: {error}. {advice}") from None
    except (Damaged, Truncated) as error:  # JpegError, PngError, IccError, ...: all Damaged
        raise UncleanableMedia(f"the {_kind(head)} file is damaged: {error}. {ADVICE}") from None
    except Ambiguous as error:
        kind = _kind(head)
        standard = "a standard JPEG" if kind == "JPEG" else f"a standard {kind} or as a JPEG"
        raise UncleanableMedia(
            f"the {kind} file is built in a way Steward refuses: {error}. Export the photo again "
            f"as {standard} from your photo app and add it again.") from None
    return CleanReport(kind, tuple(removed), orientation, reader.position, counting.count,
                       width, height, samples)


def _random_access(reader: Reader | BufferReader, source: BinaryIO | None) -> Source:
    """The whole file, readable at any offset: a video's index may come after its media.
    From a stream that cannot seek (a pipe), what is left is read into memory."""
    from policies.media.boxes import Source  # noqa: PLC0415

    if isinstance(reader, BufferReader):
        return Source(data=reader.data)
    if source is not None and getattr(source, "seekable", lambda: False)():
        return Source(stream=source)
    parts = []
    while not reader.at_end():
        parts.append(reader.exact(len(reader.buffer)))
    return Source(data=b"".join(parts))


def prove_clean(cleaned: BinaryIO, original: CleanReport | None = None) -> CleanReport:
    """Run the cleaner over something already cleaned; raise UncleanableMedia if anything
    would still go (a cleaner that left something behind is a bug, never passed through), or
    if a video's picture and sound samples differ from those of the `original` cleaning."""
    report = clean_stream(cleaned, _NullSink())
    if report.removed:
        raise UncleanableMedia("after cleaning, the file still holds: " + ", ".join(report.removed))
    if original is not None and original.samples_sha256 != report.samples_sha256:
        raise UncleanableMedia("the cleaned copy's pictures or sound differ from the original's "
                               "(a fault in Steward: the file was not used). Report it to the "
                               "administrator with the file.")
    return report


class _NullSink:
    copies_ranges = True  # a range of a buffer is not even sliced

    def write(self, data: bytes | bytearray) -> int:
        return len(data)

    def copy_range(self, start: int, end: int) -> None:
        pass
