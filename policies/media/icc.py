"""ICC colour profiles: rebuilt from the parts that say how to show colours, and nothing else.

A profile is a 128-byte header, a tag table and the tags' data. Photo apps embed a standard one
(sRGB, Display P3, Adobe RGB, a printer's CMYK), but any tool can write text of its choice into
its description, copyright or device tags and header fields, or add bytes that no tag points at
(a whole ZIP archive fits, and stays extractable from the "cleaned" photo). So Steward never
copies a profile: it rebuilds one from

- the header's colour fields (version, class, colour space, connection space, flags and
  attributes the ICC defines, rendering intent, illuminant); every other header field (CMM,
  platform, maker, model, creator, date, profile ID, vendor bits) is set to a fixed value;
- the tags that colour management uses (white and black points, primaries, tone curves, the
  adaptation matrix, chromaticities, cicp, the A2B/B2A/gamut/preview tables), each checked
  against its type and copied only as far as its type says it reaches (inside the table
  types, bytes between the documented parts are zeroed);
- a description and a copyright of fixed, neutral wording (both tags are required).

Everything else goes: text tags (descriptions of devices and viewing conditions, Apple's
make-and-model and localised names, calibration dates, named colours, metadata dictionaries),
private tags, and every byte no kept tag uses. The colours are the same, byte for byte in the
tables that define them. Why not replace the profile with a standard one of the same colour
space: a wide-gamut (Display P3, Adobe RGB) or CMYK photo would then show wrong colours unless
Steward recognised its primaries and shipped a matching profile for each.

Rebuilding is idempotent: a rebuilt profile rebuilds to itself (zeros after it, where a TIFF's
profile was rebuilt in place, count as nothing), so a second cleaning pass finds nothing to
remove.
"""

from __future__ import annotations

import math
import struct

from policies.media.streams import Damaged

MAX_PROFILE = 16 * 1024 * 1024  # JPEG's limit (255 segments); real ones are under 4 MB
MAX_TAGS = 200
HEADER = 128
CLASSES = {b"mntr", b"scnr", b"prtr", b"spac"}
SPACES = {b"RGB ": "RGB", b"GRAY": "grey", b"CMYK": "CMYK"}
CONNECTION_SPACES = {b"XYZ ", b"Lab "}
TABLE_TYPES = {b"mft1", b"mft2", b"mAB ", b"mBA "}
KEPT_TAGS = {
    **{tag: {b"XYZ "} for tag in (b"wtpt", b"bkpt", b"rXYZ", b"gXYZ", b"bXYZ", b"lumi")},
    **{tag: {b"curv", b"para"} for tag in (b"rTRC", b"gTRC", b"bTRC", b"kTRC")},
    **{tag: TABLE_TYPES for tag in (b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2",
                                    b"gamt", b"pre0", b"pre1", b"pre2")},
    b"chad": {b"sf32"},
    b"chrm": {b"chrm"},
    b"cicp": {b"cicp"},
}
PARAMETERS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}  # parametric curve function type -> parameter count
FIXED_DATE = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
COPYRIGHT = "Copyright text removed"
REMOVED = "text, vendor data and unused bytes in the colour profile"


class IccError(Damaged):
    """The colour profile cannot be followed, or is of a kind Steward does not keep."""


def _u8(data: bytes, at: int) -> int:
    return data[at]


def _u16(data: bytes, at: int) -> int:
    value: int = struct.unpack(">H", data[at:at + 2])[0]
    return value


def _u32(data: bytes, at: int) -> int:
    value: int = struct.unpack(">I", data[at:at + 4])[0]
    return value


def _align(position: int) -> int:
    return (position + 3) & ~3


def _curve_length(tag: bytes, at: int, room: int) -> int:
    """Length of the curv or para element at `at` in `tag` (at most `room` bytes)."""
    if room < 12:
        raise IccError("a tone curve in the colour profile is cut short")
    kind = tag[at:at + 4]
    if kind == b"curv":
        length = 12 + 2 * _u32(tag, at + 8)
    elif kind == b"para" and _u16(tag, at + 8) in PARAMETERS:
        length = 12 + 4 * PARAMETERS[_u16(tag, at + 8)]
    else:
        raise IccError("a tone curve in the colour profile is of an unknown kind")
    if length > room:
        raise IccError("a tone curve in the colour profile is cut short")
    return length


def _grid_product(grid: bytes, channels: int) -> int:
    return math.prod(grid[:channels])


def _simple_length(tag: bytes) -> int:
    """How far a tag of a fixed-layout type reaches (its declared size may be padded)."""
    kind = tag[:4]
    if kind == b"XYZ ":
        return 20
    if kind in (b"curv", b"para"):
        return _curve_length(tag, 0, len(tag))
    if kind == b"sf32":
        return 44
    if kind == b"cicp":
        return 12
    if kind == b"chrm":
        return 12 + 8 * _u16(tag, 8)
    inputs, outputs, grid = _u8(tag, 8), _u8(tag, 9), _u8(tag, 10)
    if not 1 <= inputs <= 15 or not 1 <= outputs <= 15:
        raise IccError("a colour table in the colour profile has an impossible number of channels")
    cells: int = grid ** inputs  # int ** int is typed Any (a negative power is a float); not here
    if kind == b"mft1":
        return 48 + 256 * inputs + cells * outputs + 256 * outputs
    input_entries, output_entries = _u16(tag, 48), _u16(tag, 50)
    return 52 + 2 * (input_entries * inputs + cells * outputs + output_entries * outputs)


def _element_table(tag: bytes) -> bytes:
    """An mAB or mBA tag with only its documented parts (gaps zeroed), cut after the last."""
    inputs, outputs = _u8(tag, 8), _u8(tag, 9)
    if not 1 <= inputs <= 15 or not 1 <= outputs <= 15:
        raise IccError("a colour table in the colour profile has an impossible number of channels")
    to_device = tag[:4] == b"mAB "  # A curves, CLUT, M curves, matrix, B curves
    b_count = outputs if to_device else inputs
    m_count = outputs if to_device else inputs
    a_count = inputs if to_device else outputs
    b_at, matrix_at, m_at, clut_at, a_at = struct.unpack(">5I", tag[12:32])
    extents = [(0, 32)]

    def curves(start: int, count: int) -> None:
        position = start
        for _ in range(count):
            length = _curve_length(tag, position, len(tag) - position)
            extents.append((position, position + length))
            position = _align(position + length)

    for start, count in ((b_at, b_count), (m_at, m_count), (a_at, a_count)):
        if start:
            curves(start, count)
    if matrix_at:
        extents.append((matrix_at, matrix_at + 48))
    if clut_at:
        precision = _u8(tag, clut_at + 16) if clut_at + 17 <= len(tag) else 0
        if precision not in (1, 2):
            raise IccError("a colour table in the colour profile has an impossible precision")
        points = _grid_product(tag[clut_at:clut_at + 16], inputs)
        extents.append((clut_at, clut_at + 20 + points * outputs * precision))
    if any(start < 32 or end > len(tag) for start, end in extents[1:]):
        raise IccError("a colour table in the colour profile points outside itself")
    kept = bytearray(max(end for _, end in extents))
    for start, end in extents:
        kept[start:end] = tag[start:end]
    return bytes(kept)


def _tag_data(profile: bytes, offset: int, size: int) -> bytes:
    """The bytes of a kept tag, as far as its type says it reaches."""
    tag = profile[offset:offset + size]
    if len(tag) < 12:
        raise IccError("a tag in the colour profile is cut short")
    if tag[:4] in (b"mAB ", b"mBA "):
        return _element_table(tag)
    length = _simple_length(tag)
    if length > size:
        raise IccError("a tag in the colour profile is cut short")
    return tag[:length]


def _text_tags(version: int, space: str) -> list[tuple[bytes, bytes]]:
    description = f"{space} colour profile"
    if version >= 4:
        def mluc(text: str) -> bytes:
            encoded = text.encode("utf-16-be")
            return (b"mluc\x00\x00\x00\x00" + struct.pack(">II", 1, 12) + b"enUS"
                    + struct.pack(">II", len(encoded), 28) + encoded)
        return [(b"desc", mluc(description)), (b"cprt", mluc(COPYRIGHT))]
    ascii_description = description.encode("ascii") + b"\x00"
    desc = (b"desc\x00\x00\x00\x00" + struct.pack(">I", len(ascii_description))
            + ascii_description + bytes(4 + 4 + 2 + 1 + 67))
    return [(b"desc", desc), (b"cprt", b"text\x00\x00\x00\x00" + COPYRIGHT.encode() + b"\x00")]


def _header(profile: bytes) -> bytearray:
    """A header with only the colour fields of `profile`'s; raise IccError if unknown."""
    if profile[36:40] != b"acsp":
        raise IccError("its colour profile is not an ICC profile")
    if profile[8] not in (2, 4):
        raise IccError(f"its colour profile is of a version Steward does not know ({profile[8]})")
    if profile[12:16] not in CLASSES or profile[16:20] not in SPACES \
            or profile[20:24] not in CONNECTION_SPACES:
        raise IccError("its colour profile is of a kind Steward does not keep (only RGB, grey "
                       "and CMYK profiles for devices are)")
    header = bytearray(HEADER)
    header[8:10] = profile[8:10]
    header[12:24] = profile[12:24]
    header[24:36] = FIXED_DATE
    header[36:40] = b"acsp"
    header[44:48] = struct.pack(">I", _u32(profile, 44) & 0x3)  # the ICC's two flags
    header[56:64] = struct.pack(">Q", struct.unpack(">Q", profile[56:64])[0] & 0xF)
    intent = _u32(profile, 64)
    header[64:68] = struct.pack(">I", intent if intent <= 3 else 0)
    header[68:80] = profile[68:80]  # the illuminant (numbers, D50)
    return header


def rebuild_profile(profile: bytes) -> tuple[bytes, list[str]]:
    """Return a profile describing the same colours with nothing else in it, and what went
    (empty when `profile` is already one that Steward rebuilt). Raise IccError when it cannot
    be followed or is not a device profile for RGB, grey or CMYK."""
    try:
        return _rebuild(profile)
    except (struct.error, IndexError):
        raise IccError("its colour profile is cut short inside a tag") from None


def _rebuild(profile: bytes) -> tuple[bytes, list[str]]:
    if len(profile) < HEADER + 4:
        raise IccError("its colour profile is cut short")
    declared = _u32(profile, 0)
    if declared > len(profile):
        raise IccError("its colour profile is cut short")
    if declared > MAX_PROFILE:
        raise IccError("its colour profile is implausibly large")
    if declared < HEADER + 4:
        raise IccError("its colour profile gives itself an impossible size")
    body = profile[:declared]
    header = _header(body)
    count = _u32(body, HEADER)
    if count > MAX_TAGS or HEADER + 4 + 12 * count > declared:
        raise IccError("its colour profile claims an implausible number of tags")
    kept: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", body[HEADER + 4 + 12 * index:
                                                             HEADER + 16 + 12 * index])
        if signature in seen or signature not in KEPT_TAGS:
            continue
        seen.add(signature)
        if offset < HEADER + 4 + 12 * count or offset + size > declared:
            raise IccError("a tag of its colour profile lies outside the profile")
        if body[offset:offset + 4] not in KEPT_TAGS[signature]:
            raise IccError("a tag of its colour profile is of the wrong kind")
        kept.append((signature, _tag_data(body, offset, size)))
        if len(kept[-1][1]) > declared:
            raise IccError("a tag of its colour profile lies outside the profile")
    if sum(len(content) for content in set(content for _, content in kept)) > declared:
        raise IccError("the tags of its colour profile overlap")  # never so in a real one
    space = SPACES[body[16:20]]
    defines = {tag for tag, _ in kept}
    if not ({b"A2B0", b"kTRC"} & defines or {b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC",
                                             b"bTRC"} <= defines):
        raise IccError("its colour profile does not describe any colours")
    tags = _text_tags(body[8], space) + kept
    table_end = HEADER + 4 + 12 * len(tags)
    placed: dict[bytes, int] = {}  # identical data is stored once and shared, as profiles do
    data = bytearray()
    entries = []
    for signature, content in tags:
        if content not in placed:
            placed[content] = table_end + len(data)
            data += content + bytes(_align(len(content)) - len(content))
        entries.append(struct.pack(">4sII", signature, placed[content], len(content)))
    assembled = header + struct.pack(">I", len(tags)) + b"".join(entries) + data
    assembled[0:4] = struct.pack(">I", len(assembled))
    rebuilt = bytes(assembled)
    padding = profile[len(rebuilt):]  # zeros after a profile rebuilt in place (TIFF) hide nothing
    same = profile.startswith(rebuilt) and not padding.strip(b"\x00")
    return rebuilt, ([] if same else [REMOVED])
