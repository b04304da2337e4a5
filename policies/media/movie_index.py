"""A movie's index (the `moov` box) rebuilt with nothing in it but what plays the picture and sound.

Kept: the movie and track headers (with their recording dates set to zero, as a photo loses
its EXIF dates), edit lists, references between kept tracks, and the media boxes of the video
and audio tracks. Dropped: user data (©xyz, ©mak, Samsung's smta/SDLN/auth...), metadata
(keys/ilst, com.apple.quicktime.location.ISO6709, make, model, software, creation date), XMP
and vendor `uuid` boxes, any box Steward does not know, and every track that is not picture or
sound (timed metadata such as Apple's mebx, Google's camm, GoPro's gpmd; text, timecode). A
kept track's chunk offsets are rewritten when the index precedes the media data and shrinks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from policies.media.boxes import Box, IsoError, children
from policies.media.descriptions import anonymous_descriptions, anonymous_handler
from policies.media.sample_tables import MAX_CHUNKS, SampleTable, read_table

KEPT_HANDLERS = {b"vide": "video", b"soun": "sound"}
MOVIE_KEEPS = {b"mvhd", b"trak", b"iods"}
TRACK_KEEPS = {b"tkhd", b"tref", b"edts", b"mdia", b"tapt"}
MEDIA_KEEPS = {b"mdhd", b"hdlr", b"minf", b"elng"}
MEDIA_INFO_KEEPS = {b"vmhd", b"smhd", b"gmhd", b"nmhd", b"hmhd", b"sthd", b"hdlr", b"dinf",
                    b"stbl"}
TABLE_KEEPS = {b"stsd", b"stts", b"ctts", b"cslg", b"stss", b"stps", b"sdtp", b"stsh", b"sgpd",
               b"sbgp", b"subs", b"padb", b"stdp", b"stsc", b"stsz", b"stz2", b"stco", b"co64"}
DATED = {b"mvhd", b"tkhd", b"mdhd"}
LABELS = {b"udta": "user data (place, camera, dates)", b"meta": "metadata (keys, location)",
          b"uuid": "XMP or vendor data", b"XMP_": "XMP or vendor data"}
PADDING = {b"free", b"skip", b"wide"}
# Boxes whose content the cleaner reads: two of one kind would be read differently by players.
UNIQUE = {b"tkhd", b"tref", b"edts", b"mdia", b"mdhd", b"hdlr", b"minf", b"dinf", b"stbl",
          b"stsd", b"stsz", b"stz2", b"stsc", b"stco", b"co64"}
NAMED = "the camera or software named in the tracks"
TRACK_LABELS = {b"meta": "a timed metadata track (location or camera data, frame by frame)",
                b"text": "a text track (captions, chapters or location)",
                b"sbtl": "a text track (captions, chapters or location)",
                b"subt": "a text track (captions, chapters or location)",
                b"tmcd": "a timecode track (the time of day it was recorded)"}


@dataclass
class Track:
    """One `trak` of the index: its id, handler, and (for kept tracks) its sample table."""

    box: Box
    track_id: int
    handler: bytes
    table: SampleTable | None = None
    boxes: dict[bytes, Box] = field(default_factory=dict)  # tkhd, mdhd, stsd of a kept track

    @property
    def kept(self) -> bool:
        return self.handler in KEPT_HANDLERS


@dataclass
class MovieIndex:
    """The parsed index: its bytes, tracks and what rebuilding it removes."""

    data: bytes
    tracks: list[Track] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    header: Box | None = None  # mvhd

    @property
    def kept(self) -> list[Track]:
        return [track for track in self.tracks if track.kept]

    def rebuild(self, shift: int = 0, after: int = 0) -> bytes:
        """The index with only what plays; chunk offsets at or after `after` moved by `shift`."""
        dropped = {track.track_id for track in self.tracks if not track.kept}
        kept = {track.box.start: track for track in self.kept}
        parts = []
        for box in children(self.data, 8 if self.data[:4] != b"\x00\x00\x00\x01" else 16,
                            len(self.data)):
            if box.kind == b"trak":
                if box.start in kept:
                    parts.append(_track(self.data, box, kept[box.start], dropped, shift, after))
            elif box.kind in MOVIE_KEEPS:
                parts.append(_dateless(self.data, box))
        return _box(b"moov", b"".join(parts))


def read_index(data: bytes) -> MovieIndex:
    """Parse the `moov` box whose bytes (header included) are `data`; raise IsoError."""
    index = MovieIndex(data)
    header = 16 if data[:4] == b"\x00\x00\x00\x01" else 8
    for box in children(data, header, len(data)):
        if box.kind == b"trak":
            index.tracks.append(_read_track(data, box, index.removed))
        elif box.kind == b"mvex":
            raise IsoError("it is a fragmented (streaming) video")
        elif box.kind in MOVIE_KEEPS:
            _note_dates(data, box, index.removed)
            if box.kind == b"mvhd":
                index.header = box
        else:
            _note_dropped(data, box, index.removed)
    if not index.kept:
        raise IsoError("it has no picture or sound track")
    if sum(len(track.table.chunk_offsets) for track in index.kept if track.table) > MAX_CHUNKS:
        raise IsoError("its tracks claim an implausible number of pieces (chunks)")
    return index


def _read_track(data: bytes, trak: Box, removed: list[str]) -> Track:
    boxes = _by_kind(data, trak)
    track_id = 0
    if b"tkhd" in boxes:
        tkhd = boxes[b"tkhd"]
        version = data[tkhd.payload] if tkhd.end > tkhd.payload else 0
        at = tkhd.payload + (20 if version == 1 else 12)
        if at + 4 > tkhd.end:
            raise IsoError("a track header is cut off")
        track_id = struct.unpack_from(">I", data, at)[0]
    media = _by_kind(data, boxes[b"mdia"]) if b"mdia" in boxes else {}
    handler = _handler(data, media.get(b"hdlr"))
    track = Track(trak, track_id, handler)
    if not track.kept:
        removed.append(TRACK_LABELS.get(handler, f"a '{handler.decode('latin-1')}' track"))
        return track
    for kind, box in boxes.items():
        if kind in TRACK_KEEPS:
            _note_dates(data, box, removed)
        else:
            _note_dropped(data, box, removed)
    if b"minf" not in media:
        raise IsoError(f"its {KEPT_HANDLERS[handler]} track has no media information")
    _note_dates(data, media.get(b"mdhd"), removed)
    _note_all_dropped(data, media, MEDIA_KEEPS, removed)
    information = _by_kind(data, media[b"minf"])
    _note_all_dropped(data, information, MEDIA_INFO_KEEPS, removed)
    for hdlr in (media.get(b"hdlr"), information.get(b"hdlr")):
        if hdlr is not None and anonymous_handler(data, hdlr) != data[hdlr.start:hdlr.end]:
            removed.append(NAMED)
    if b"dinf" in information:
        _refuse_external_data(data, information[b"dinf"])
    if b"stbl" not in information:
        raise IsoError(f"its {KEPT_HANDLERS[handler]} track has no sample table")
    table = _by_kind(data, information[b"stbl"])
    _note_all_dropped(data, table, TABLE_KEEPS, removed)
    stsd = table.get(b"stsd")
    if stsd is not None and (anonymous_descriptions(data, stsd, handler == b"vide")
                             != data[stsd.start:stsd.end]):
        removed.append(NAMED)
    track.table = read_table(data, table)
    track.boxes = {kind: box for kind, box in ((b"tkhd", boxes.get(b"tkhd")),
                                                (b"mdhd", media.get(b"mdhd")), (b"stsd", stsd))
                   if box is not None}
    return track


def _by_kind(data: bytes, parent: Box) -> dict[bytes, Box]:
    """The children of `parent` by type; refuse two of a kind that must be unique."""
    found: dict[bytes, Box] = {}
    for box in children(data, parent.payload, parent.end):
        if box.kind in found and box.kind in UNIQUE:
            raise IsoError(f"a '{parent.name}' box holds two '{box.name}' boxes")
        found.setdefault(box.kind, box)
    for pair in ((b"stsz", b"stz2"), (b"stco", b"co64")):
        if all(kind in found for kind in pair):
            raise IsoError(f"a track has both '{pair[0].decode()}' and '{pair[1].decode()}' "
                           "tables")
    return found


def _handler(data: bytes, hdlr: Box | None) -> bytes:
    if hdlr is None or hdlr.end - hdlr.payload < 12:
        return b"????"
    return bytes(data[hdlr.payload + 8:hdlr.payload + 12])


def _refuse_external_data(data: bytes, dinf: Box) -> None:
    """Media kept in another file (a data reference without the self-contained flag)."""
    for dref in children(data, dinf.payload, dinf.end):
        if dref.kind != b"dref":
            continue
        for entry in children(data, dref.payload + 8, dref.end):
            if entry.end - entry.payload < 4 or not data[entry.payload + 3] & 1:
                raise IsoError("its pictures or sound are kept in another file")


def _note_dates(data: bytes, box: Box | None, removed: list[str]) -> None:
    if box is not None and box.kind in DATED and any(_dates(data, box)):
        removed.append("recording dates")


def _dates(data: bytes, box: Box) -> bytes:
    """The creation and modification times of an mvhd, tkhd or mdhd box."""
    if box.end - box.payload < 4:
        raise IsoError(f"a '{box.name}' header is cut off")
    width = 16 if data[box.payload] == 1 else 8
    if box.payload + 4 + width > box.end:
        raise IsoError(f"a '{box.name}' header is cut off")
    return bytes(data[box.payload + 4:box.payload + 4 + width])


def _note_dropped(data: bytes, box: Box, removed: list[str]) -> None:
    if box.kind in PADDING:
        if data.count(0, box.payload, box.end) != box.end - box.payload:
            removed.append("unused space holding data")
        return
    removed.append(LABELS.get(box.kind, f"a '{box.name}' box"))


def _note_all_dropped(data: bytes, boxes: dict[bytes, Box], keeps: set[bytes],
                      removed: list[str]) -> None:
    for kind, box in boxes.items():
        if kind not in keeps:
            _note_dropped(data, box, removed)


def _box(kind: bytes, payload: bytes) -> bytes:
    if len(payload) + 8 > 0xFFFFFFFF:
        raise IsoError("the movie's index is implausibly large")
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _dateless(data: bytes, box: Box) -> bytes:
    """The box as it is, or with its creation and modification times zeroed."""
    copy = bytearray(data[box.start:box.end])
    if box.kind in DATED:
        start = box.header + 4
        copy[start:start + len(_dates(data, box))] = bytes(len(_dates(data, box)))
    return bytes(copy)


def _track(data: bytes, trak: Box, track: Track, dropped: set[int], shift: int,
           after: int) -> bytes:
    parts = []
    for box in children(data, trak.payload, trak.end):
        if box.kind == b"tref":
            parts.append(_references(data, box, dropped))
        elif box.kind == b"mdia":
            parts.append(_media(data, box, track, shift, after))
        elif box.kind in TRACK_KEEPS:
            parts.append(_dateless(data, box))
    return _box(b"trak", b"".join(parts))


def _media(data: bytes, mdia: Box, track: Track, shift: int, after: int) -> bytes:
    parts = []
    for box in children(data, mdia.payload, mdia.end):
        if box.kind == b"minf":
            inner = []
            for info in children(data, box.payload, box.end):
                if info.kind == b"stbl":
                    inner.append(_table(data, info, track, shift, after))
                elif info.kind == b"hdlr":
                    inner.append(anonymous_handler(data, info))
                elif info.kind in MEDIA_INFO_KEEPS:
                    inner.append(_dateless(data, info))
            parts.append(_box(b"minf", b"".join(inner)))
        elif box.kind == b"hdlr":
            parts.append(anonymous_handler(data, box))
        elif box.kind in MEDIA_KEEPS:
            parts.append(_dateless(data, box))
    return _box(b"mdia", b"".join(parts))


def _table(data: bytes, stbl: Box, track: Track, shift: int, after: int) -> bytes:
    assert track.table is not None  # every kept track has one (read_index)
    parts = []
    for box in children(data, stbl.payload, stbl.end):
        if box.kind in (b"stco", b"co64"):
            parts.append(track.table.offsets_box(shift, after))
        elif box.kind == b"stsd":
            parts.append(anonymous_descriptions(data, box, track.handler == b"vide"))
        elif box.kind in TABLE_KEEPS:
            parts.append(_dateless(data, box))
    return _box(b"stbl", b"".join(parts))


def _references(data: bytes, tref: Box, dropped: set[int]) -> bytes:
    """The track references without those to dropped tracks (b"" when none is left)."""
    parts = []
    for reference in children(data, tref.payload, tref.end):
        count = (reference.end - reference.payload) // 4
        ids = struct.unpack_from(f">{count}I", data, reference.payload)
        kept = [track_id for track_id in ids if track_id not in dropped]
        if kept:
            parts.append(_box(reference.kind, struct.pack(f">{len(kept)}I", *kept)))
    return _box(b"tref", b"".join(parts)) if parts else b""

