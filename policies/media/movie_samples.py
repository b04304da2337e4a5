"""The picture and sound samples of a movie, track by track: the proof that cleaning is lossless.

`track_samples` follows each video and audio track's sample table (stsz/stz2, stsc, stco/co64)
to the bytes of every sample, so that a file before and after cleaning can be compared sample
by sample: the tracks, their order and every byte must be the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from policies.media.boxes import IsoError, Source, top_level
from policies.media.movie import MAX_INDEX
from policies.media.movie_index import KEPT_HANDLERS, read_index
from policies.media.sample_tables import samples


@dataclass(frozen=True)
class TrackSamples:
    """One track's kind ('video' or 'sound'), its samples' bytes, and their SHA-256 together."""

    track_id: int
    kind: str
    samples: tuple[bytes, ...]

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for sample in self.samples:
            digest.update(len(sample).to_bytes(8, "big"))
            digest.update(sample)
        return digest.hexdigest()


def track_samples(source: Source) -> list[TrackSamples]:
    """Every video and audio track's samples, in the order the index lists the tracks.

    Raise IsoError if the file has no index or a table points outside the file.
    """
    movies = [box for box in top_level(source) if box.kind == b"moov"]
    if len(movies) != 1 or movies[0].end - movies[0].start > MAX_INDEX:
        raise IsoError("it has no single movie header (moov) of a plausible size")
    moov = movies[0]
    index = read_index(source.read_at(moov.start, moov.end - moov.start))
    return [TrackSamples(track.track_id, KEPT_HANDLERS[track.handler],
                         tuple(samples(source, track.table)))
            for track in index.kept if track.table is not None]
