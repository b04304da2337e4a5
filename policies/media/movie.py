"""MP4 and MOV videos (ISO base media / QuickTime): location and identifying data removed, the
picture and sound samples copied byte for byte.

The file is read once, in two steps: the top-level box headers and the index (`moov`, which
phones often write after the media data) first, then everything in order into the sink. The
index is rebuilt with only the video and audio tracks (`movie_index`); inside the media data
(`mdat`), every byte that no kept track's sample uses (the samples of a dropped GPS track, and
anything hidden between samples) is written as zero, so nothing moves and no offset changes
there. Only when the index comes before the media data and shrinks do the kept tracks' chunk
offsets move, by exactly the bytes the index lost. The kept bytes are hashed as they are
copied; cleaning the result again must give the same hash (`prove_clean` checks), so every
file Steward cleans is proved lossless, not only the tests' files. Other top-level boxes (XMP `uuid`, `udta`,
`meta`, vendor boxes) become `free` boxes of the same size, zero-filled; padding is zeroed; a
trailer that is not a box is dropped.

Refused: fragmented (streaming) files, whose samples are indexed piece by piece (`moof`); media
kept in another file; samples that point outside the media data; any structure that does not
add up.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from dataclasses import dataclass

from policies.media.boxes import Box, IsoError, Source, top_level
from policies.media.movie_index import LABELS, PADDING, MovieIndex, read_index
from policies.media.streams import Digest, Sink

MAX_INDEX = 64 * 1024 * 1024
FRAGMENTED = {b"moof", b"mfra", b"sidx", b"styp", b"ssix", b"emsg", b"prft"}
KEPT_AS_IS = {b"ftyp"}
MAX_FILE_TYPE = 1024  # a phone's ftyp is 20 to 40 bytes: its brands, four characters each


@dataclass(frozen=True)
class CleanedMovie:
    """What cleaning removed, and the SHA-256 of every picture and sound sample byte, in file
    order: the same for the original and the cleaned copy, or cleaning lost something."""

    removed: list[str]
    samples_sha256: str


def clean_movie(source: Source, sink: Sink) -> CleanedMovie:
    """Write the cleaned movie to `sink`. Raise IsoError if the file cannot be cleaned safely
    (nothing useful is written then: the caller discards it)."""
    try:
        return _clean(source, sink)
    except (IndexError, struct.error, ValueError, OverflowError) as error:
        raise IsoError(f"its structure is damaged ({error.__class__.__name__})") from None


def _clean(source: Source, sink: Sink) -> CleanedMovie:
    boxes = list(top_level(source))
    fragments = [box for box in boxes if box.kind in FRAGMENTED]
    if fragments:
        raise IsoError("it is a fragmented (streaming) video, whose index comes in pieces")
    movies = [box for box in boxes if box.kind == b"moov"]
    if not movies:
        raise IsoError("it has no movie header (moov): it is incomplete")
    if len(movies) > 1:
        raise IsoError("it has two movie headers (moov), which players would read differently")
    if any(box.end - box.start > MAX_FILE_TYPE for box in boxes if box.kind in KEPT_AS_IS):
        raise IsoError("its file type box (ftyp) is implausibly large")
    moov = movies[0]
    if moov.end - moov.start > MAX_INDEX:
        raise IsoError("its movie header is implausibly large")
    index = read_index(source.read_at(moov.start, moov.end - moov.start))
    removed = list(index.removed)
    media = [(box.payload, box.end) for box in boxes if box.kind == b"mdat"]
    kept = _kept_ranges(index, media)
    rebuilt = index.rebuild()
    shift = len(rebuilt) - (moov.end - moov.start)
    if shift and any(start >= moov.end for start, _ in kept):
        rebuilt = index.rebuild(shift, moov.end)
    if boxes and boxes[-1].end < source.size:
        removed.append("data after the end of the video")
    digest = hashlib.sha256()
    for box in boxes:
        if box is moov:
            sink.write(rebuilt)
        elif box.kind == b"mdat":
            sink.write(source.read_at(box.start, box.header))
            if _copy_keeping(source, sink, box, kept, digest):
                removed.append("data no picture or sound track uses")
        elif box.kind in KEPT_AS_IS:
            sink.write(source.read_at(box.start, box.end - box.start))
        else:
            if box.kind not in PADDING:
                removed.append(LABELS.get(box.kind, f"a '{box.name}' box"))
            if _zeroed(source, sink, box) and box.kind in PADDING:
                removed.append("unused space holding data")
    return CleanedMovie(list(dict.fromkeys(removed)), digest.hexdigest())


def _kept_ranges(index: MovieIndex, media: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The merged byte ranges of every kept track's samples; refuse any outside `mdat`."""
    media.sort()
    starts = [start for start, _ in media]
    extents = sorted(extent for track in index.kept if track.table is not None
                     for extent in track.table.extents())
    merged: list[tuple[int, int]] = []
    for start, end in extents:
        holder = bisect.bisect_right(starts, start) - 1
        if holder < 0 or end > media[holder][1]:
            raise IsoError("its samples point outside its media data (the file is damaged or "
                           "built to mislead)")
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _copy_keeping(source: Source, sink: Sink, box: Box, kept: list[tuple[int, int]],
                  digest: Digest) -> bool:
    """Copy the payload of `box`, keeping the bytes in `kept` (and feeding them to `digest`)
    and zeroing the rest; return whether any byte zeroed was not zero already."""
    position, found = box.payload, False
    first = max(0, bisect.bisect_right(kept, (box.payload, box.payload)) - 1)
    for start, end in kept[first:]:
        if start >= box.end:
            break
        if end <= position:
            continue
        if start > position:
            found = _write_zeros(source, sink, position, start - position) or found
            position = start
        for block in source.blocks(position, end - position):
            sink.write(block)
            digest.update(block)
        position = end
    if position < box.end:
        found = _write_zeros(source, sink, position, box.end - position) or found
    return found


def _zeroed(source: Source, sink: Sink, box: Box) -> bool:
    """Write `box` as a zero-filled `free` box of the same size; return whether it held data."""
    header = bytearray(source.read_at(box.start, box.header))
    header[4:8] = b"free"
    sink.write(header)
    return _write_zeros(source, sink, box.payload, box.end - box.payload)


def _write_zeros(source: Source, sink: Sink, start: int, length: int) -> bool:
    """Write `length` zero bytes in place of those at `start`; return whether they held any."""
    found = False
    for block in source.blocks(start, length):
        found = found or block.count(0) != len(block)
        sink.write(bytes(len(block)))
    return found
