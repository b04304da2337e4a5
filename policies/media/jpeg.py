"""JPEG: copy the segments that draw the picture, drop every metadata segment.

Kept byte for byte: quantisation and Huffman tables, the frame header, restart intervals, scan
headers and the entropy-coded scan data (so the picture is identical). Rewritten: JFIF without
its thumbnail; EXIF reduced to the Orientation alone (so portrait photos stay upright); the ICC
colour profile reassembled from its APP2 pieces and rebuilt (policies.media.icc: no text, no
bytes a decoder does not use); Adobe's colour-transform segment cut to its 12 documented bytes.
Dropped: the rest of EXIF (GPS, maker notes, serial numbers, owner, thumbnail), XMP (with drone
vendors' fields), IPTC/Photoshop, MPF previews, comments, other APPn blocks, and anything after
the end-of-image marker.

A JPEG with more than one frame header is refused: decoders allocate what the first says, and
a cleaner that believed another would let a small picture hide an enormous one.
"""

from __future__ import annotations

import re
import struct

from policies.media.icc import MAX_PROFILE, rebuild_profile
from policies.media.streams import Ambiguous, Damaged, Reader, Sink
from policies.media.tiff import orientation_only, read_orientation

SIGNATURE = b"\xff\xd8"
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_TABLES = {0xDB, 0xC4, 0xCC, 0xDD, 0xDC}  # DQT, DHT, DAC, DRI, DNL
EXIF_PREFIX = b"Exif\x00\x00"
XMP_PREFIXES = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
ICC_PREFIX = b"ICC_PROFILE\x00"
ICC_PIECE = 0xFFFF - 2 - len(ICC_PREFIX) - 2  # profile bytes in one APP2 segment
ADOBE_LENGTH = 12  # "Adobe", version (2), flags0 (2), flags1 (2), colour transform (1)


class JpegError(Damaged):
    """The JPEG cannot be followed to its end."""


def minimal_exif(orientation: int) -> bytes:
    return EXIF_PREFIX + orientation_only(orientation)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _jfif_without_thumbnail(payload: bytes) -> bytes | None:
    if len(payload) < 14:
        return None
    return payload[:12] + b"\x00\x00"


class _Profile:
    """The pieces of an ICC profile (APP2 "ICC_PROFILE" segments, numbered 1 to N), gathered
    until the first segment that is not APPn or a comment, then written rebuilt in one place."""

    def __init__(self) -> None:
        self.pieces: dict[int, bytes] = {}
        self.total = 0
        self.written = False
        self.size = 0

    def add(self, payload: bytes) -> None:
        if self.written:
            raise Ambiguous("its colour profile is split around the picture's other parts")
        if len(payload) < len(ICC_PREFIX) + 2:
            raise JpegError("a piece of its colour profile is cut short")
        number, total = payload[len(ICC_PREFIX)], payload[len(ICC_PREFIX) + 1]
        if not 1 <= number <= total or (self.total and total != self.total) \
                or number in self.pieces:
            raise JpegError("the pieces of its colour profile are numbered inconsistently")
        self.total = total
        self.pieces[number] = payload[len(ICC_PREFIX) + 2:]
        self.size += len(self.pieces[number])
        if self.size > MAX_PROFILE:
            raise JpegError("its colour profile is implausibly large")

    def write(self, sink: Sink) -> list[str]:
        """Write the rebuilt profile (if any pieces came); return what rebuilding removed."""
        if self.written or not self.pieces:
            return []
        self.written = True
        if len(self.pieces) != self.total:
            raise JpegError("pieces of its colour profile are missing")
        profile, removed = rebuild_profile(b"".join(self.pieces[n] for n in sorted(self.pieces)))
        count = -(-len(profile) // ICC_PIECE)
        if count > 255:  # the pieces are numbered in one byte
            raise JpegError("its colour profile is implausibly large")
        for index in range(count):
            piece = profile[index * ICC_PIECE:(index + 1) * ICC_PIECE]
            sink.write(_segment(0xE2, ICC_PREFIX + bytes((index + 1, count)) + piece))
        return removed


def clean_jpeg(reader: Reader, sink: Sink) -> tuple[list[str], int | None, tuple[int, int]]:
    """Copy the JPEG from `reader` to `sink` without metadata.

    Return what was removed (kinds, in order found), the orientation kept and the picture's
    (width, height). Raise JpegError when the structure is damaged or unknown.
    """
    if reader.exact(2) != SIGNATURE:
        raise JpegError("it does not start like a JPEG")
    sink.write(SIGNATURE)
    removed: list[str] = []
    orientation = None
    frames = scans = 0
    size = (0, 0)
    exif_written = False
    profile = _Profile()
    adobe: bytes | None = None
    while True:
        if reader.exact(1) != b"\xff":
            raise JpegError(f"expected a marker at byte {reader.position - 1}")
        marker = reader.exact(1)[0]
        while marker == 0xFF:
            marker = reader.exact(1)[0]
        if marker == 0xD9:
            sink.write(b"\xff\xd9")
            trailing = reader.skip_rest()
            if trailing:
                removed.append(f"data after the end of the picture ({trailing:,} bytes)")
            break
        if marker in (0x01, *range(0xD0, 0xD8)) or marker == 0xD8:
            raise JpegError(f"unexpected marker 0x{marker:02X} at byte {reader.position - 2}")
        (length,) = struct.unpack(">H", reader.exact(2))
        if length < 2:
            raise JpegError(f"a segment at byte {reader.position - 4} has an impossible length")
        payload = reader.exact(length - 2)
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            removed += profile.write(sink)
        if marker == 0xE0:
            kept = _jfif_without_thumbnail(payload) if payload.startswith(b"JFIF\x00") else None
            if kept is None:
                removed.append("JFIF extension (thumbnail)")
                continue
            if kept != payload:
                removed.append("JFIF thumbnail")
            sink.write(_segment(marker, kept))
        elif marker == 0xE1 and payload.startswith(EXIF_PREFIX):
            found = read_orientation(payload[len(EXIF_PREFIX):])
            if orientation is None:
                orientation = found
            if found is not None and payload == minimal_exif(found) and not exif_written:
                sink.write(_segment(marker, payload))  # already clean: Steward's own output
                exif_written = True
                continue
            removed.append("EXIF (GPS, camera details, serial numbers, thumbnail)")
            if found not in (None, 1) and not exif_written:
                sink.write(_segment(marker, minimal_exif(found)))
                exif_written = True
        elif marker == 0xE1 and payload.startswith(XMP_PREFIXES):
            removed.append("XMP")
        elif marker == 0xE2 and payload.startswith(ICC_PREFIX):
            profile.add(payload)
        elif marker == 0xE2 and payload.startswith(b"MPF\x00"):
            removed.append("embedded preview images (MPF)")
        elif marker == 0xED:
            removed.append("IPTC / Photoshop information")
        elif marker == 0xEE and payload.startswith(b"Adobe") and len(payload) >= ADOBE_LENGTH:
            if adobe is not None:  # decoders take the colour transform from the last one
                if payload[ADOBE_LENGTH - 1] != adobe[ADOBE_LENGTH - 1]:
                    raise Ambiguous("it has two Adobe colour segments that disagree")
                removed.append("a repeated Adobe segment")
                continue
            adobe = payload[:ADOBE_LENGTH]
            if adobe != payload:
                removed.append("extra bytes in the Adobe segment")
            sink.write(_segment(marker, adobe))
        elif 0xE0 <= marker <= 0xEF:
            removed.append(f"APP{marker - 0xE0} block")
        elif marker == 0xFE:
            removed.append("comment")
        elif marker in _SOF:
            if len(payload) < 6:
                raise JpegError("its frame header is too short")
            if frames:  # decoders read the first, some tools the last: never agree to differ
                raise Ambiguous("it has more than one frame header (the part that says how "
                                "large the picture is), so programs would disagree about its size")
            frames += 1
            height, width = struct.unpack(">HH", payload[1:5])
            if not width or not height:
                raise Ambiguous("its frame header gives the picture no size (a width or height "
                                "of 0, which most programs cannot show)")
            size = (width, height)
            sink.write(_segment(marker, payload))
        elif marker in _TABLES:
            sink.write(_segment(marker, payload))
        elif marker == 0xDA:
            if not frames:
                raise JpegError("picture data comes before the frame header")
            scans += 1
            sink.write(_segment(marker, payload))
            reader.copy_until(_SCAN_END, sink)
        else:
            raise JpegError(f"unknown marker 0x{marker:02X} at byte {reader.position - length - 2}")
    if not frames or not scans:
        raise JpegError("it has no picture data")
    return removed, orientation, size
