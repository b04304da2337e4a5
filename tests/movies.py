"""Phone-style MP4/MOV files for the video cleaner's tests, built here (never copied in).

`movie` builds a whole file from tracks whose samples are invented bytes (the cleaner never
decodes): video, sound, and what phones add, a GPS track (Google's `camm` format, which ExifTool
reads with -ee), ©xyz, Apple's keys/ilst ISO6709 entry, Samsung's udta boxes and XMP. `with_phone_metadata`
adds the same to a real file ffmpeg made, keeping its samples where they are. The builder is
independent of the cleaner: it shares no code with policies/media.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PLACE = b"+51.5007-000.1246/"
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
XMP_PACKET = (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/"
              b"02/22-rdf-syntax-ns#'><rdf:Description xmlns:exif='http://ns.adobe.com/exif/1.0/'"
              b" exif:GPSLatitude='51,30.04N' exif:GPSLongitude='0,7.47W'/></rdf:RDF></x:xmpmeta>")
DATE = 3_786_000_000  # seconds since 1904: a recording date in 2024


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags) + payload)


def gps_sample(latitude: float = 51.5007, longitude: float = -0.1246) -> bytes:
    """A camm sample of type 5 (latitude, longitude, altitude; little-endian doubles)."""
    return struct.pack("<HH3d", 0, 5, latitude, longitude, 11.0)


@dataclass
class Track:
    handler: bytes
    samples: list[bytes]
    entry: bytes = b"avc1"
    per_chunk: int = 3
    references: dict[bytes, list[int]] = field(default_factory=dict)
    turned: bool = False  # the matrix turns the picture a quarter (a phone held upright)
    size: tuple[int, int] = (64, 48)
    entry_boxes: bytes = b""  # boxes inside the sample entry, after its fixed fields


def video(count: int = 12, seed: int = 1) -> Track:
    return Track(b"vide", [bytes([seed, index]) * (40 + index) for index in range(count)])


def sound(count: int = 20, seed: int = 7) -> Track:
    return Track(b"soun", [bytes([seed, index]) * (10 + index % 5) for index in range(count)],
                 entry=b"mp4a", per_chunk=5)


def gps(count: int = 4) -> Track:
    return Track(b"meta", [gps_sample(51.5 + index / 1e4) for index in range(count)],
                 entry=b"camm", per_chunk=1, references={b"cdsc": [1]})


def user_data() -> bytes:
    """udta as phones write it: ©xyz, 3GPP loci, Samsung's smta/SDLN/auth, make and model."""
    loci = full(b"loci", b"\x15\xc7School\x00\x00" + struct.pack(">iii", int(-0.1246 * 65536),
                                                                  int(51.5007 * 65536), 0)
                + b"earth\x00\x00")
    return box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(PLACE), 0x15C7) + PLACE) + loci
               + box(b"\xa9mak", struct.pack(">HH", 10, 0x15C7) + b"ExampleCam")
               + box(b"smta", b"\x00\x00\x00\x00" + box(b"saut", b"\x00" * 4))
               + box(b"SDLN", b"PLAYBACK") + box(b"auth", b"\x00\x00\x00\x00Owner Name"))


def apple_keys() -> bytes:
    """moov/meta with keys/ilst: com.apple.quicktime.location.ISO6709 and model."""
    names = [b"com.apple.quicktime.location.ISO6709", b"com.apple.quicktime.model"]
    keys = full(b"keys", struct.pack(">I", len(names))
                + b"".join(box(b"mdta", name) for name in names))
    values = [PLACE, b"Example Phone 15"]
    ilst = box(b"ilst", b"".join(box(struct.pack(">I", index + 1),
                                     box(b"data", struct.pack(">II", 1, 0) + value))
                                 for index, value in enumerate(values)))
    return box(b"meta", full(b"hdlr", b"\x00" * 4 + b"mdta" + b"\x00" * 13) + keys + ilst)


def xmp_box() -> bytes:
    return box(b"uuid", XMP_UUID + XMP_PACKET)


def _sample_entry(kind: bytes, boxes: bytes = b"") -> bytes:
    body = b"\x00" * 6 + struct.pack(">H", 1)
    if kind == b"avc1":
        body += b"\x00" * 16 + struct.pack(">HH", 64, 48) + b"\x00" * 50
    elif kind == b"mp4a":
        body += b"\x00" * 8 + struct.pack(">HHHHI", 1, 16, 0, 0, 16000 << 16)
    return box(kind, body + boxes)


def _trak(track_id: int, track: Track, offsets: list[int], wide: bool) -> bytes:
    dated = struct.pack(">II", DATE, DATE)
    matrix = (0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30) if track.turned else \
        (1 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30)
    width, height = track.size
    tkhd = full(b"tkhd", dated + struct.pack(">II", track_id, 0) + struct.pack(">I", 100)
                + b"\x00" * 16 + struct.pack(">9i", *matrix)
                + struct.pack(">II", width << 16, height << 16), flags=3)
    mdhd = full(b"mdhd", dated + struct.pack(">II", 1000, 100) + b"\x55\xc4\x00\x00")
    hdlr = full(b"hdlr", b"\x00" * 4 + track.handler + b"\x00" * 12 + b"Example\x00")
    header = {b"vide": full(b"vmhd", b"\x00" * 8, flags=1),
              b"soun": full(b"smhd", b"\x00" * 4)}.get(track.handler, full(b"nmhd", b""))
    dinf = box(b"dinf", full(b"dref", struct.pack(">I", 1) + full(b"url ", b"", flags=1)))
    count = len(track.samples)
    stsd = full(b"stsd", struct.pack(">I", 1) + _sample_entry(track.entry, track.entry_boxes))
    stts = full(b"stts", struct.pack(">III", 1, count, 10))
    last = count % track.per_chunk
    chunks = len(offsets)
    runs = struct.pack(">III", 1, track.per_chunk if chunks > 1 or not last else last, 1)
    if last and chunks > 1:
        runs += struct.pack(">III", chunks, last, 1)
    stsc = full(b"stsc", struct.pack(">I", len(runs) // 12) + runs)
    stsz = full(b"stsz", struct.pack(f">II{count}I", 0, count,
                                     *(len(sample) for sample in track.samples)))
    code = "Q" if wide else "I"
    stco = full(b"co64" if wide else b"stco", struct.pack(f">I{chunks}{code}", chunks, *offsets))
    stbl = box(b"stbl", stsd + stts + stsc + stsz + stco)
    minf = box(b"minf", header + dinf + stbl)
    references = b"".join(box(kind, struct.pack(f">{len(ids)}I", *ids))
                          for kind, ids in track.references.items())
    tref = box(b"tref", references) if references else b""
    udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(PLACE), 0x15C7) + PLACE))
    return box(b"trak", tkhd + tref + box(b"mdia", mdhd + hdlr + minf) + udta)


def _chunks(tracks: list[Track]) -> list[tuple[int, bytes]]:
    """(track index, chunk bytes), interleaved one chunk of each track in turn."""
    queues = [[b"".join(track.samples[start:start + track.per_chunk])
               for start in range(0, len(track.samples), track.per_chunk)] for track in tracks]
    order = []
    while any(queues):
        for index, queue in enumerate(queues):
            if queue:
                order.append((index, queue.pop(0)))
    return order


def movie(tracks: list[Track] | None = None, *, index_first: bool = False, wide: bool = False,
          movie_boxes: bytes | None = None, after: bytes = b"", gap: bytes = b"") -> bytes:
    """A whole MP4: ftyp, then the index before or after the media data; `movie_boxes` go in
    the index (default: phone metadata), `after` follows everything, `gap` sits between
    chunks in the media data (bytes no track uses)."""
    tracks = tracks if tracks is not None else [video(), sound(), gps()]
    extra = movie_boxes if movie_boxes is not None else user_data() + apple_keys() + xmp_box()
    ftyp = box(b"ftyp", b"mp42\x00\x00\x00\x00mp42isom")
    layout = _chunks(tracks)

    def index(offsets: list[list[int]]) -> bytes:
        mvhd = full(b"mvhd", struct.pack(">IIII", DATE, DATE, 1000, 100) + b"\x00\x01\x00\x00"
                    + b"\x01\x00" + b"\x00" * 10 + b"\x00" * 36 + b"\x00" * 24
                    + struct.pack(">I", len(tracks) + 1))
        return box(b"moov", mvhd + b"".join(_trak(number + 1, track, offsets[number], wide)
                                            for number, track in enumerate(tracks)) + extra)

    placeholder = index([[0] * sum(1 for owner, _ in layout if owner == number)
                         for number in range(len(tracks))])
    start = len(ftyp) + (len(placeholder) if index_first else 0) + 8
    offsets: list[list[int]] = [[] for _ in tracks]
    payload = b""
    for owner, chunk in layout:
        payload += gap
        offsets[owner].append(start + len(payload))
        payload += chunk
    mdat = box(b"mdat", payload)
    moov = index(offsets)
    body = ftyp + moov + mdat if index_first else ftyp + mdat + moov
    return body + after


def top_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of the top-level boxes (64-bit sizes understood)."""
    found, position = [], 0
    while position + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, position)
        if size == 1:
            size = struct.unpack_from(">Q", data, position + 8)[0]
        found.append((kind, position, position + size))
        position += size
    return found


def with_phone_metadata(original: bytes) -> bytes:
    """A file ffmpeg wrote (index at the end) with a phone's additions: a GPS track whose
    samples go in a second media data box, ©xyz and Samsung boxes, Apple keys, XMP."""
    (moov_kind, moov_start, moov_end), = [entry for entry in top_boxes(original)
                                          if entry[0] == b"moov"]
    assert moov_end == len(original), "ffmpeg wrote the index last (no +faststart)"
    gps_track = gps(6)
    samples = gps_track.samples
    gps_data = box(b"mdat", b"".join(samples))
    offsets = [moov_start + 8 + len(samples[0]) * index for index in range(len(samples))]
    track_ids = [struct.unpack_from(">I", original, at + 20)[0]
                 for at in _positions(original[moov_start:moov_end], b"tkhd", moov_start)]
    gps_track.references = {b"cdsc": [track_ids[0]]}
    trak = _trak(max(track_ids) + 1, gps_track, offsets, wide=False)
    moov = original[moov_start + 8:moov_end]
    new_moov = box(b"moov", moov + trak + user_data() + apple_keys() + xmp_box())
    return original[:moov_start] + gps_data + new_moov + xmp_box()


def _positions(data: bytes, kind: bytes, base: int) -> list[int]:
    """Absolute positions of every `kind` box header (by a plain search: test data only)."""
    found, at = [], data.find(kind)
    while at >= 0:
        found.append(base + at - 4)
        at = data.find(kind, at + 1)
    return found
