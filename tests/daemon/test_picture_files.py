"""clean_file on hostile files: opened once without following links, refused unless a regular
file with one name; a JPEG's picture data copied by the kernel in pieces and searched in the
copy, so that an input rewritten or cut short while it is cleaned gives a clean copy or a
refusal (never metadata let through, never a partial output); the same bytes whichever way the
copy goes (kernel, sendfile's fallback, memory) and whichever search (RE2 or re) finds the end."""

from __future__ import annotations

import errno
import io
import os
import random
import re
from pathlib import Path

import pytest

from daemon.posts import jpeg_files
from daemon.posts.picture_files import clean_file
from policies.media import UncleanableMedia, clean_stream
from policies.media.jpeg import _SCAN_END
from tests.media import dirty_jpeg, plain_jpeg, scan_data, segment


def careful(data: bytes) -> bytes:
    sink = io.BytesIO()
    clean_stream(io.BytesIO(data), sink)
    return sink.getvalue()


def photo(tmp_path: Path, data: bytes | None = None) -> Path:
    source = tmp_path / "in.jpg"
    source.write_bytes(dirty_jpeg(320, 240, noisy=True) if data is None else data)
    return source


def no_output(tmp_path: Path) -> bool:
    return not [p for p in tmp_path.iterdir() if p.name.startswith((".cleaning-", "out"))]


def test_a_symbolic_link_is_refused_not_followed(tmp_path):
    real = photo(tmp_path)
    (tmp_path / "link.jpg").symlink_to(real)
    with pytest.raises(UncleanableMedia, match="symbolic link"):
        clean_file(tmp_path / "link.jpg", tmp_path / "out.jpg")
    assert no_output(tmp_path)


def test_a_file_with_a_second_hard_link_is_refused(tmp_path):
    real = photo(tmp_path)
    os.link(real, tmp_path / "elsewhere.jpg")
    with pytest.raises(UncleanableMedia, match="hard link"):
        clean_file(real, tmp_path / "out.jpg")
    assert no_output(tmp_path)


def test_a_pipe_or_a_folder_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")  # nobody writes to it: an open that blocked would hang
    for special in (tmp_path / "pipe.jpg", tmp_path):
        with pytest.raises(UncleanableMedia, match="not a regular file"):
            clean_file(special, tmp_path / "out.jpg")
    assert no_output(tmp_path)


@pytest.mark.parametrize("piece", [1, 2, 7, 4096, 1 << 20])
def test_pieces_of_any_size_give_the_careful_ways_bytes(tmp_path, monkeypatch, piece):
    """A scan's end found across the boundary of two pieces (a 0xFF ending one) as well."""
    monkeypatch.setattr(jpeg_files, "FIRST_PIECE", piece)
    for data in (dirty_jpeg(320, 240, noisy=True), dirty_jpeg(96, 64, progressive=True),
                 plain_jpeg()[:-2] + b"\xff\xd0\x12\xff\xd1\xff\xff\xff\xd9"):
        source = photo(tmp_path, data)
        clean_file(source, tmp_path / "out.jpg", durable=False)
        assert (tmp_path / "out.jpg").read_bytes() == careful(data)


def test_without_copy_file_range_the_copy_goes_through_memory(tmp_path, monkeypatch):
    def cross_device(*_: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(jpeg_files.os, "copy_file_range", cross_device)
    data = dirty_jpeg(320, 240, noisy=True)
    clean_file(photo(tmp_path, data), tmp_path / "out.jpg")
    assert (tmp_path / "out.jpg").read_bytes() == careful(data)


def test_without_re2_the_search_is_res_and_the_bytes_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(jpeg_files, "re2", None)
    jpeg_files.fast_pattern.cache_clear()
    try:
        assert jpeg_files.fast_pattern(_SCAN_END) is _SCAN_END
        data = dirty_jpeg(320, 240, noisy=True)
        clean_file(photo(tmp_path, data), tmp_path / "out.jpg")
        assert (tmp_path / "out.jpg").read_bytes() == careful(data)
    finally:
        jpeg_files.fast_pattern.cache_clear()


def test_re2_finds_the_end_of_picture_data_where_re_does():
    """Both searches, on bytes made mostly of the ones that matter around markers."""
    fast = jpeg_files.fast_pattern(_SCAN_END)
    assert fast is not _SCAN_END  # google-re2 is a dependency: the tests use it
    chooser = random.Random(21)
    alphabet = [0xFF, 0x00, 0xD0, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xFE, 0x12, 0xC4, 0x80]
    for _ in range(3000):
        data = bytes(chooser.choice(alphabet) for _ in range(chooser.randint(0, 24)))
        start = chooser.randint(0, len(data))
        slow, quick = _SCAN_END.search(data, start), fast.search(data, start)
        assert (slow and slow.start()) == (quick and quick.start()), (data, start)


def rewriting_copy(rewrite):
    """os.copy_file_range that lets `rewrite(descriptor)` change the input first, once: an
    attacker writing to the file between Steward's walk of it and the kernel's copy."""
    real = os.copy_file_range
    done = []

    def copy(source: int, *arguments: int) -> int:
        if not done:
            done.append(True)
            rewrite(source)
        return real(source, *arguments)
    return copy


def test_metadata_written_into_the_picture_data_during_the_copy_never_comes_out(
        tmp_path, monkeypatch):
    data = dirty_jpeg(320, 240, noisy=True)
    middle = data.index(scan_data(data)) + len(scan_data(data)) // 2
    hidden = segment(0xE1, b"Exif\x00\x00GPS 51.5N 0.1W") + segment(0xFE, b"at 1 Example Road")
    source = photo(tmp_path, data)

    def rewrite(_: int) -> None:
        with open(source, "r+b") as handle:  # the same file, rewritten in place
            handle.seek(middle)
            handle.write(hidden)

    monkeypatch.setattr(jpeg_files.os, "copy_file_range", rewriting_copy(rewrite))
    try:
        clean_file(source, tmp_path / "out.jpg")
    except UncleanableMedia:
        assert no_output(tmp_path)
        return
    cleaned = (tmp_path / "out.jpg").read_bytes()
    assert b"GPS" not in cleaned and b"Example Road" not in cleaned


def test_a_file_cut_short_during_the_copy_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    data = dirty_jpeg(320, 240, noisy=True)
    source = photo(tmp_path, data)
    monkeypatch.setattr(jpeg_files.os, "copy_file_range",
                        rewriting_copy(lambda _: os.truncate(source, len(data) // 2)))
    with pytest.raises(UncleanableMedia, match="ends inside the picture data"):
        clean_file(source, tmp_path / "out.jpg")
    assert no_output(tmp_path)


def test_a_file_whose_start_changes_after_the_first_look_is_refused(tmp_path, monkeypatch):
    source = photo(tmp_path)
    real = os.pread

    def first_look_then_change(descriptor: int, count: int, offset: int) -> bytes:
        seen = real(descriptor, count, offset)
        if count == 2 and offset == 0:
            with open(source, "r+b") as handle:  # the same file, rewritten in place
                handle.write(b"\x89PNG")
        return seen

    monkeypatch.setattr(jpeg_files.os, "pread", first_look_then_change)
    monkeypatch.setattr("daemon.posts.picture_files.os.pread", first_look_then_change)
    with pytest.raises(UncleanableMedia):
        clean_file(source, tmp_path / "out.jpg")
    assert no_output(tmp_path)


def test_the_scan_pattern_is_the_cleaners_own():
    assert isinstance(_SCAN_END, re.Pattern)
    assert jpeg_files.fast_pattern(_SCAN_END).pattern == _SCAN_END.pattern
