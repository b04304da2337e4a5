"""The quick way a JPEG file is cleaned (mapped, its picture data copied by the kernel, proved
by walking its metadata again) gives the very bytes, and the very refusals, of the careful
way (a stream through Python), for camera photos and for hostile files alike; and
`steward media clean` of many files, on several processes, says the same lines in order."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli.pictures import plain_arguments
from daemon.posts.picture_files import clean_file
from policies.media import UncleanableMedia, clean_stream
from tests.media import dirty_jpeg, jpeg_with_two_frame_headers, plain_jpeg, segment

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def careful(data: bytes) -> bytes | str:
    sink = io.BytesIO()
    try:
        clean_stream(io.BytesIO(data), sink)
    except UncleanableMedia as error:
        return str(error)
    return sink.getvalue()


def quick(data: bytes, tmp_path: Path) -> bytes | str:
    source = tmp_path / "in.jpg"
    source.write_bytes(data)
    (tmp_path / "out.jpg").unlink(missing_ok=True)
    try:
        clean_file(source, tmp_path / "out.jpg", durable=False)
    except UncleanableMedia as error:
        assert not (tmp_path / "out.jpg").exists()
        return str(error)
    return (tmp_path / "out.jpg").read_bytes()


HOSTILE = {
    "a plain photo": lambda: dirty_jpeg(),
    "cut off in its picture data": lambda: dirty_jpeg()[:-40],
    "cut off in a segment": lambda: dirty_jpeg()[:30],
    "metadata after the end": lambda: dirty_jpeg() + segment(0xE1, b"Exif\x00\x00GPS") * 3,
    "a second frame header": lambda: jpeg_with_two_frame_headers(),
    "a comment between the scan and the end": lambda: plain_jpeg()[:-2] + segment(0xFE, b"hi")
    + b"\xff\xd9",
    "restart markers in the picture data": lambda: plain_jpeg()[:-2] + b"\xff\xd0\x12\xff\xd1"
    + b"\xff\xd9",
    "only its signature": lambda: b"\xff\xd8",
    "nothing after a scan header": lambda: plain_jpeg()[:plain_jpeg().index(b"\xff\xda") + 14],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_jpeg_is_cleaned_the_quick_way_into_what_the_careful_way_gives(tmp_path, case):
    data = HOSTILE[case]()
    assert quick(data, tmp_path) == careful(data)


def test_camera_jpegs_come_out_of_the_quick_way_as_from_the_careful_way(fixtures_dir, tmp_path):
    with open(fixtures_dir / "images" / "MANIFEST.tsv", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["format"] == "JPEG"]
    assert len(rows) >= 10
    for row in rows:
        data = (fixtures_dir / "images" / row["file"]).read_bytes()
        assert quick(data, tmp_path) == careful(data), row["file"]


@pytest.mark.parametrize(("arguments", "plain"), [
    (["a.jpg", "b.jpg", "-o", "out"], (["a.jpg", "b.jpg"], "out")),
    (["--output=out", "a.jpg"], (["a.jpg"], "out")),
    (["a.jpg", "--output", "out"], (["a.jpg"], "out")),
    (["--help"], None), (["a.jpg"], None), (["-o", "out"], None), (["a.jpg", "-oout"], None),
    (["a.jpg", "-o", "x", "-o", "y"], None), (["--", "-a.jpg", "-o", "out"], None),
    (["a.jpg", "-o", "--help"], None),
])
def test_only_plain_arguments_take_the_quick_start(arguments, plain):
    assert plain_arguments(arguments) == plain


def test_many_files_cleaned_at_once_say_the_same_lines_in_order_and_give_the_same_bytes(
        tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    names = []
    for number in range(12):
        name = f"photo-{number:02d}.jpg"
        data = dirty_jpeg(orientation=1 + number % 8) if number != 5 else b"not a picture"
        (photos / name).write_bytes(data)
        names.append(str(photos / name))
    command = [sys.executable, "-c", "import sys; from daemon.cli.main import main; "
               "sys.exit(main(sys.argv[1:]))", "media", "clean", *names, "-o",
               str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                          check=False)
    assert done.returncode == 1  # one was refused
    lines = done.stdout.splitlines()
    assert [line.split(" -> ")[0] for line in lines] == [n for i, n in enumerate(names) if i != 5]
    assert done.stderr.startswith(f"{names[5]}: refused: ")
    for name in names:
        if not name.endswith("05.jpg"):
            expected = careful(Path(name).read_bytes())
            assert (tmp_path / "out" / Path(name).name).read_bytes() == expected
