"""A track's sample table (stsz/stz2, stsc, stco/co64): where each of its samples lies in the file.

Read defensively: a count that the box is too short to hold, chunks that do not start at 1 or
do not increase, samples the chunks do not account for, are all refused (IsoError). The
table's chunk offsets can be rewritten (`offsets_box`) when the bytes before the media data
change size, and `extents` gives the byte ranges a track's samples occupy, so that a cleaner
can keep exactly those bytes and prove them unchanged (`samples`).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from policies.media.boxes import Box, IsoError, Source

MAX_SAMPLES = 8_000_000   # listed sizes: about four hours of 60 fps video with its sound
MAX_CHUNKS = 2_000_000    # in all kept tracks together: a chunk per sample for hours


@dataclass(frozen=True)
class SampleTable:
    """Chunk offsets, samples per chunk, and sample sizes (`uniform` when all are equal)."""

    chunk_offsets: tuple[int, ...]
    samples_per_chunk: tuple[int, ...]
    sizes: array  # type: ignore[type-arg]  # array's element type is not generic before 3.12
    uniform: int
    count: int
    wide_offsets: bool

    def extents(self) -> Iterator[tuple[int, int]]:
        """Yield (start, end) of each non-empty chunk: its samples, back to back."""
        sample = 0
        for offset, count in zip(self.chunk_offsets, self.samples_per_chunk, strict=True):
            if self.uniform:
                length = self.uniform * count
            else:
                length = sum(self.sizes[sample:sample + count])
            sample += count
            if length:
                yield offset, offset + length

    def sample_ranges(self) -> Iterator[tuple[int, int]]:
        """Yield (start, end) of every sample, in decoding order."""
        sample = 0
        for offset, count in zip(self.chunk_offsets, self.samples_per_chunk, strict=True):
            position = offset
            for index in range(sample, sample + count):
                size = self.uniform or self.sizes[index]
                yield position, position + size
                position += size
            sample += count

    def offsets_box(self, shift: int, after: int) -> bytes:
        """The stco (or co64) box with every offset at or beyond `after` moved by `shift`."""
        moved = [offset + shift if offset >= after else offset for offset in self.chunk_offsets]
        if any(offset < 0 for offset in moved):
            raise IsoError("a chunk would move before the start of the file")
        kind, code = (b"co64", "Q") if self.wide_offsets else (b"stco", "I")
        payload = struct.pack(f">4xI{len(moved)}{code}", len(moved), *moved)
        return struct.pack(">I4s", 8 + len(payload), kind) + payload


def read_table(stbl: bytes, boxes: dict[bytes, Box]) -> SampleTable:
    """Parse the sample table whose boxes (by type, inside the bytes `stbl`) are given."""
    sizes_box = boxes.get(b"stsz") or boxes.get(b"stz2")
    offsets_box = boxes.get(b"stco") or boxes.get(b"co64")
    chunks_box = boxes.get(b"stsc")
    if sizes_box is None or offsets_box is None or chunks_box is None:
        raise IsoError("a track has no complete sample table (sizes, chunks and offsets)")
    uniform, count, sizes = _sizes(stbl, sizes_box)
    wide = offsets_box.kind == b"co64"
    offsets = _numbers(stbl, offsets_box, "Q" if wide else "I", MAX_CHUNKS)
    per_chunk = _samples_per_chunk(stbl, chunks_box, len(offsets))
    if sum(per_chunk) != count:
        raise IsoError(f"a track's chunks hold {sum(per_chunk):,} samples but it lists "
                       f"{count:,}")
    return SampleTable(tuple(offsets), tuple(per_chunk), sizes, uniform, count, wide)


def _numbers(data: bytes, box: Box, code: str, limit: int) -> list[int]:
    """A FullBox holding an entry count and that many numbers of struct type `code`."""
    if box.end - box.payload < 8:
        raise IsoError(f"a track's '{box.name}' table is cut off")
    count = struct.unpack_from(">I", data, box.payload + 4)[0]
    width = struct.calcsize(code)
    if count > limit or box.payload + 8 + count * width > box.end:
        raise IsoError(f"a track's '{box.name}' table claims more entries than it holds")
    return list(struct.unpack_from(f">{count}{code}", data, box.payload + 8))


def _sizes(data: bytes, box: Box) -> tuple[int, int, array]:  # type: ignore[type-arg]
    """(uniform size or 0, sample count, listed sizes) from an stsz or stz2 box."""
    if box.end - box.payload < 12:
        raise IsoError("a track's sample sizes are cut off")
    if box.kind == b"stsz":
        uniform, count = struct.unpack_from(">II", data, box.payload + 4)
        if uniform:
            return uniform, count, array("I")
        listed = _numbers(data, Box(box.kind, box.start, box.payload + 4, box.end), "I",
                          MAX_SAMPLES)
        return 0, count, _checked(listed, count)
    field = data[box.payload + 7]
    count = struct.unpack_from(">I", data, box.payload + 8)[0]
    if field not in (4, 8, 16) or count > MAX_SAMPLES:
        raise IsoError("a track's compact sample sizes are implausible")
    needed = (count * field + 7) // 8
    raw = bytes(data[box.payload + 12:box.payload + 12 + needed])
    if len(raw) < needed or box.payload + 12 + needed > box.end:
        raise IsoError("a track's compact sample sizes are cut off")
    if field == 16:
        listed = list(struct.unpack(f">{count}H", raw))
    elif field == 8:
        listed = list(raw)
    else:
        listed = [nibble for byte in raw for nibble in (byte >> 4, byte & 0x0F)][:count]
    return 0, count, _checked(listed, count)


def _checked(listed: list[int], count: int) -> array:  # type: ignore[type-arg]
    if len(listed) != count:
        raise IsoError("a track's sample sizes do not match its sample count")
    return array("Q", listed)


def _samples_per_chunk(data: bytes, box: Box, chunks: int) -> list[int]:
    """How many samples each of `chunks` chunks holds, from the stsc runs."""
    if box.end - box.payload < 8:
        raise IsoError("a track's chunk table is cut off")
    runs = struct.unpack_from(">I", data, box.payload + 4)[0]
    if box.payload + 8 + runs * 12 > box.end:
        raise IsoError("a track's chunk table claims more entries than it holds")
    if runs > chunks:
        raise IsoError("a track's chunk table describes chunks its offset table does not have")
    per_chunk: list[int] = []
    entries = [struct.unpack_from(">III", data, box.payload + 8 + 12 * index)
               for index in range(runs)]
    for index, (first, samples, _description) in enumerate(entries):
        following = entries[index + 1][0] if index + 1 < runs else chunks + 1
        if first != len(per_chunk) + 1 or following <= first or following > chunks + 1:
            raise IsoError("a track's chunk table is out of order")
        if samples > MAX_SAMPLES:
            raise IsoError("a track's chunk table claims an implausible number of samples")
        per_chunk.extend([samples] * (following - first))
    if len(per_chunk) != chunks:
        raise IsoError("a track's chunk table does not cover its chunks")
    return per_chunk


def samples(source: Source, table: SampleTable) -> Iterator[bytes]:
    """Each sample's bytes, read from `source` (the proof that cleaning kept them)."""
    for start, end in table.sample_ranges():
        yield source.read_at(start, end - start)
