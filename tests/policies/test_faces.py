"""Faces are found (two detectors must agree), blurred beyond detection when the school says so,
and pictures too large to examine are refused before being decoded."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from daemon.posts.face_detection import blur_faces, blurred, count_faces
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


def animation(kind: str, frames) -> bytes:
    output = io.BytesIO()
    frames[0].save(output, format=kind, save_all=True, append_images=frames[1:], duration=400,
                   loop=0)
    return output.getvalue()


@pytest.mark.parametrize("kind", ["GIF", "PNG", "WEBP"])
def test_finds_a_face_in_a_later_frame_of_an_animation(kind):
    face = Image.open(io.BytesIO(photo_with_face())).convert("RGB")
    garden = Image.new("RGB", face.size, (90, 160, 70))
    assert count_faces(animation(kind, [garden, face])) == 1


def test_refuses_to_blur_an_animation():
    face = Image.open(io.BytesIO(photo_with_face())).convert("RGB")
    garden = Image.new("RGB", face.size, (90, 160, 70))
    with pytest.raises(ValueError, match="only in still photos"):
        blurred(animation("GIF", [garden, face]))


def test_refuses_an_animation_with_more_frames_than_it_can_examine():
    frames = [Image.new("RGB", (100, 100), (shade, 90, 60)) for shade in range(0, 250, 10)]
    with pytest.raises(ValueError, match="more than 20 frames"):
        count_faces(animation("GIF", frames), max_pixels=200_000)
