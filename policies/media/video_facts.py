"""What a platform asks about a video, read from its index without decoding anything: length,
picture size as shown (turned by the track's matrix, as a phone's portrait videos are), frame
rate, codecs and sound channels.

Pure: the index's bytes in, `VideoFacts` out; IsoError for an index that does not add up.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from policies.media.audio_config import aac_config
from policies.media.boxes import Box, IsoError, Source, top_level
from policies.media.movie import MAX_INDEX
from policies.media.movie_index import MovieIndex, Track, read_index

VIDEO_CODECS = {b"avc1": "H.264", b"avc3": "H.264", b"hvc1": "HEVC", b"hev1": "HEVC",
                b"av01": "AV1", b"vp09": "VP9", b"mp4v": "MPEG-4 Part 2", b"apcn": "ProRes",
                b"apch": "ProRes", b"ap4h": "ProRes", b"dvh1": "Dolby Vision",
                b"dvhe": "Dolby Vision"}
AUDIO_CODECS = {b"mp4a": "AAC", b"alac": "Apple Lossless", b"Opus": "Opus", b"ac-3": "AC-3",
                b"ec-3": "E-AC-3", b"lpcm": "PCM", b"sowt": "PCM", b"twos": "PCM",
                b"fLaC": "FLAC"}


@dataclass(frozen=True)
class VideoFacts:
    """A video as a platform sees it. `audio_codec` is None for a silent video;
    `audio_channels` is None when the file does not say plainly."""

    seconds: float
    width: int
    height: int
    frame_rate: float
    video_codec: str
    audio_codec: str | None
    audio_channels: int | None
    size: int
    audio_profile: str | None = None  # 'AAC-LC', 'HE-AAC' for AAC

    def describe(self) -> str:
        """'1080×1920, 30 fps, H.264, 12 seconds', for messages."""
        return (f"{self.width}×{self.height}, {self.frame_rate:g} fps, {self.video_codec}, "
                f"{duration_words(self.seconds)}")


def duration_words(seconds: float) -> str:
    """'45 seconds', '3 minutes', '2 minutes 30 seconds', '1 hour 5 minutes'."""
    total = round(seconds) if seconds >= 1 else seconds
    if isinstance(total, float):
        return f"{total:.1f} seconds"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    words = [f"{count} {unit}{'s' if count != 1 else ''}" for count, unit in parts if count]
    return " ".join(words[:2]) if words else "0 seconds"


def video_facts(source: Source) -> VideoFacts:
    """Read the facts of the movie in `source`; raise IsoError if it has no video track."""
    movies = [box for box in top_level(source) if box.kind == b"moov"]
    if len(movies) != 1 or movies[0].end - movies[0].start > MAX_INDEX:
        raise IsoError("it has no single movie header (moov) of a plausible size")
    index = read_index(source.read_at(movies[0].start, movies[0].end - movies[0].start))
    pictures = [track for track in index.kept if track.handler == b"vide"]
    if not pictures:
        raise IsoError("it has no picture track (is it a sound recording?)")
    picture = pictures[0]
    sound = next((track for track in index.kept if track.handler == b"soun"), None)
    width, height = _shown_size(index.data, picture.boxes.get(b"tkhd"))
    media_seconds = _seconds(index.data, picture.boxes.get(b"mdhd"))
    count = picture.table.count if picture.table is not None else 0
    entry = _first_entry(index.data, sound) if sound else None
    aac = aac_config(index.data, entry) if entry is not None and entry.kind == b"mp4a" else None
    return VideoFacts(
        seconds=_movie_seconds(index) or media_seconds,
        width=width, height=height,
        frame_rate=round(count / media_seconds, 2) if media_seconds else 0.0,
        video_codec=_codec(index.data, picture, VIDEO_CODECS),
        audio_codec=_codec(index.data, sound, AUDIO_CODECS) if sound else None,
        audio_channels=(aac.channels if aac and aac.channels else
                        _channels(index.data, sound) if sound else None),
        size=source.size, audio_profile=aac.profile if aac else None)


def _movie_seconds(index: MovieIndex) -> float:
    """The presentation length from mvhd (duration / timescale)."""
    return _seconds(index.data, index.header)


def _seconds(data: bytes, box: Box | None) -> float:
    """duration / timescale of an mvhd or mdhd box (0 when absent or unknown)."""
    if box is None or box.end - box.payload < 4:
        return 0.0
    if data[box.payload] == 1:
        if box.payload + 32 > box.end:
            raise IsoError(f"a '{box.name}' header is cut off")
        scale, duration = struct.unpack_from(">IQ", data, box.payload + 20)
    else:
        if box.payload + 20 > box.end:
            raise IsoError(f"a '{box.name}' header is cut off")
        scale, duration = struct.unpack_from(">II", data, box.payload + 12)
    if duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF) or not scale:
        return 0.0
    return float(duration / scale)


def _shown_size(data: bytes, tkhd: Box | None) -> tuple[int, int]:
    """The track's width and height (16.16 fixed point), swapped when its matrix turns it by a
    quarter (a portrait video recorded by a phone held upright)."""
    if tkhd is None:
        raise IsoError("its picture track has no track header")
    version = data[tkhd.payload]
    matrix_at = tkhd.payload + (52 if version == 1 else 40)
    if matrix_at + 44 > tkhd.end:
        raise IsoError("its picture track header is cut off")
    a, b, _, c, d = struct.unpack_from(">iiiii", data, matrix_at)
    width, height = struct.unpack_from(">II", data, matrix_at + 36)
    width, height = width >> 16, height >> 16
    if a == 0 and d == 0 and b and c:
        width, height = height, width
    return width, height


def _codec(data: bytes, track: Track, names: dict[bytes, str]) -> str:
    entry = _first_entry(data, track)
    return names.get(entry.kind, f"'{entry.name}'") if entry else "unknown"


def _first_entry(data: bytes, track: Track) -> Box | None:
    stsd = track.boxes.get(b"stsd")
    if stsd is None or stsd.end - stsd.payload < 16:
        return None
    size, kind = struct.unpack_from(">I4s", data, stsd.payload + 8)
    if size < 8 or stsd.payload + 8 + size > stsd.end:
        raise IsoError("a track's sample description is cut off")
    return Box(kind, stsd.payload + 8, stsd.payload + 16, stsd.payload + 8 + size)


def _channels(data: bytes, track: Track) -> int | None:
    """The channel count of an ISO audio entry or a QuickTime version 0/1 sound description."""
    entry = _first_entry(data, track)
    if entry is None or entry.end - entry.payload < 18:
        return None
    version = struct.unpack_from(">H", data, entry.payload + 8)[0]
    if version not in (0, 1):
        return None
    channels: int = struct.unpack_from(">H", data, entry.payload + 16)[0]
    return channels
