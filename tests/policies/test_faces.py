"""Faces are found (two detectors must agree), blurred beyond detection when the school says so,
and pictures too large to examine are refused before being decoded."""

from __future__ import annotations

import struct

import pytest

from policies.media.faces import blur_faces, count_faces
from tests.media import dirty_jpeg, photo_with_face


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("size", [120, 480])
def test_finds_a_face(tmp_path, size):
    assert count_faces(write(tmp_path, "face.jpg", photo_with_face(size))) == 1


def test_finds_a_face_in_a_photo_stored_sideways(tmp_path):
    assert count_faces(write(tmp_path, "sideways.jpg", photo_with_face(orientation=6))) == 1


def test_finds_no_face_where_there_is_none(tmp_path):
    assert count_faces(write(tmp_path, "garden.jpg", dirty_jpeg(640, 480))) == 0


@pytest.mark.parametrize("kind, name", [("JPEG", "face.jpg"), ("PNG", "face.png")])
def test_blurring_leaves_no_face_to_find(tmp_path, kind, name):
    source = write(tmp_path, name, photo_with_face(kind=kind))
    target = tmp_path / f"blurred-{name}"
    assert blur_faces(source, target) == 1
    assert count_faces(target) == 0


def test_finds_the_statue_face_in_the_iptc_reference_photo(fixtures_dir):
    path = fixtures_dir / "images" / "exifr" / "iptc-agency-photographer-example.jpg"
    assert count_faces(path) == 1


def test_an_undecodable_picture_is_an_error(tmp_path):
    with pytest.raises(ValueError):
        count_faces(write(tmp_path, "broken.jpg", b"\xff\xd8\xff\xe0 not really"))


def huge_jpeg_header() -> bytes:
    """A small JPEG whose frame header claims 12,000 x 10,000 pixels."""
    data = bytearray(dirty_jpeg(32, 24))
    position = 2
    while data[position + 1] not in (0xC0, 0xC2):
        position += 2 + struct.unpack(">H", data[position + 2:position + 4])[0]
    data[position + 5:position + 9] = struct.pack(">HH", 10_000, 12_000)
    return bytes(data)
