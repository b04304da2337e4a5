"""An AAC track's profile and channel count, from its decoder configuration (`esds`).

The channel count in an MP4 audio sample entry is not to be trusted for AAC (encoders write 2
whatever the stream holds): the AudioSpecificConfig inside the `esds` box's descriptors says
what a decoder will find, and which AAC profile it is (X takes only AAC-LC, mono or stereo).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from policies.media.boxes import Box, IsoError, children

# QuickTime sound description versions add fields before the entry's boxes.
_BOXES_AT = {0: 28, 1: 44, 2: 64}
PROFILES = {1: "AAC Main", 2: "AAC-LC", 3: "AAC SSR", 4: "AAC LTP", 5: "HE-AAC", 29: "HE-AAC v2",
            23: "AAC-LD", 39: "AAC-ELD"}
CHANNELS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8}


@dataclass(frozen=True)
class AacConfig:
    """The profile's name ('AAC-LC', 'HE-AAC') and the channels (None: not stated)."""

    profile: str
    channels: int | None


def aac_config(data: bytes, entry: Box) -> AacConfig | None:
    """The configuration of the `mp4a` sample entry `entry` inside `data`, or None if it has
    none Steward can find. Raise IsoError for descriptors that do not add up."""
    if entry.end - entry.payload < 10:
        return None
    version = struct.unpack_from(">H", data, entry.payload + 8)[0]
    start = entry.payload + _BOXES_AT.get(version, 28)
    if start > entry.end:
        return None
    esds = _find_esds(data, start, entry.end)
    if esds is None:
        return None
    return _from_descriptors(bytes(data[esds.payload + 4:esds.end]))


def _find_esds(data: bytes, start: int, end: int) -> Box | None:
    for box in children(data, start, end):
        if box.kind == b"esds":
            return box
        if box.kind == b"wave":  # QuickTime keeps it one level down
            return _find_esds(data, box.payload, box.end)
    return None


def _descriptor(data: bytes, position: int) -> tuple[int, int, int]:
    """(tag, payload start, payload end) of the descriptor at `position`."""
    if position + 2 > len(data):
        raise IsoError("a sound track's decoder settings are cut off")
    tag, length, at = data[position], 0, position + 1
    for _ in range(4):
        byte = data[at]
        at += 1
        length = length << 7 | byte & 0x7F
        if not byte & 0x80:
            break
    if at + length > len(data):
        raise IsoError("a sound track's decoder settings are cut off")
    return tag, at, at + length


def _from_descriptors(data: bytes) -> AacConfig | None:
    tag, at, end = _descriptor(data, 0)
    if tag != 3 or at + 3 > end:
        return None
    flags = data[at + 2]
    at += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
    if flags & 0x40:
        at += 1 + data[at]
    tag, at, end = _descriptor(data, at)
    if tag != 4 or at + 13 > end:
        return None
    tag, at, end = _descriptor(data, at + 13)
    if tag != 5 or end - at < 2:
        return None
    bits = int.from_bytes(data[at:min(end, at + 8)], "big")
    width = 8 * min(end - at, 8)

    def take(count: int) -> int:
        nonlocal width
        width -= count
        if width < 0:
            raise IsoError("a sound track's decoder settings are cut off")
        return bits >> width & ((1 << count) - 1)

    profile = take(5)
    if profile == 31:
        profile = 32 + take(6)
    if take(4) == 15:
        take(24)
    channels = CHANNELS.get(take(4))
    return AacConfig(PROFILES.get(profile, f"AAC (object type {profile})"), channels)
