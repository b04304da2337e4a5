"""Cleaning throughput on 200 generated 12-megapixel JPEGs (about 4.5 MB, like a phone's) carrying
EXIF with GPS, XMP, IPTC and a thumbnail, measured in one run against ExifTool removing all
metadata over the same folder (`exiftool -all= -o OUT/ IN/`, one process) and a plain file copy.

Steward is measured three ways, all in one process: cleaning in memory (the CPU cost), writing
files without fsync (what ExifTool and `cp` do), and the intake's own path (temporary file,
fsync, prove clean by a second pass, rename). Like is compared with like: without fsync against
ExifTool and a plain copy; with fsync against a plain copy with fsync. Targets (issue 3): at
least 5x ExifTool's throughput, at least 30% of a plain copy; memory bounded by the metadata.
Run: .venv/bin/python benchmarks/media_clean.py   (needs Pillow and exiftool: `make test` installs both)
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.posts.media_fixing import clean_file  # noqa: E402
from policies.media import clean_stream  # noqa: E402
from tests.media import XMP, _iptc_city, _noise, segment  # noqa: E402

COUNT = 200
WIDTH, HEIGHT = 4000, 3000  # 12 megapixels


def make_photos(folder: Path) -> int:
    """Write COUNT distinct 12 MP JPEGs (one encode, different metadata each); return bytes."""
    from PIL import Image  # noqa: PLC0415

    base = io.BytesIO()
    channels = [Image.effect_noise((WIDTH, HEIGHT), 20) for _ in range(3)]
    Image.merge("RGB", channels).save(base, "JPEG", quality=85)
    thumbnail = io.BytesIO()
    _noise(160, 120).save(thumbnail, "JPEG")
    body = base.getvalue()[2:]
    total = 0
    for number in range(COUNT):
        exif = _exif_with_gps(number, thumbnail.getvalue())
        data = (b"\xff\xd8" + segment(0xE1, exif) + segment(0xE1, XMP)
                + segment(0xED, _iptc_city(f"Town {number}".encode())) + body)
        (folder / f"photo-{number:03d}.jpg").write_bytes(data)
        total += len(data)
    return total


def _exif_with_gps(number: int, thumbnail: bytes) -> bytes:
    from PIL import Image  # noqa: PLC0415

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "ExampleCam"
    exif.get_ifd(0x8769)[0xA431] = f"SERIAL-{number:05d}"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, float(number % 60), 0.0), 3: "W",
                                 4: (0.0, 7.0, 0.0)})
    tiff = exif.tobytes()
    return b"Exif\x00\x00" + tiff[6:] + thumbnail[:20000] if tiff.startswith(b"Exif") else \
        b"Exif\x00\x00" + tiff


def timed(label: str, action) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"  {label:<34} {elapsed:7.2f} s  {COUNT / elapsed:7.1f} files/s")
    return elapsed


def main() -> None:
    if shutil.which("exiftool") is None:
        raise SystemExit("exiftool is not installed: run scripts/install-system-packages")
    root = Path(tempfile.mkdtemp(prefix="steward-media-bench-"))
    source = root / "photos"
    source.mkdir()
    total = make_photos(source)
    files = sorted(source.iterdir())
    print(f"{COUNT} JPEGs of {WIDTH}x{HEIGHT} ({total / COUNT / 1e6:.1f} MB each, EXIF with GPS, "
          "XMP, IPTC, thumbnail) in one run:")
    for name in ("steward", "copy", "exiftool"):
        (root / name).mkdir()

    def steward() -> None:
        for path in files:
            clean_file(path, root / "steward" / path.name)

    def copy() -> None:
        for path in files:
            target = root / "copy" / path.name
            shutil.copyfile(path, target)
            with open(target, "rb+") as handle:
                os.fsync(handle.fileno())

    def exiftool() -> None:
        subprocess.run(["exiftool", "-q", "-all=", "-o", str(root / "exiftool") + "/",
                        str(source)], check=True)

    def steward_in_memory() -> None:
        for path in files:
            clean_stream(io.BytesIO(path.read_bytes()), io.BytesIO())

    def steward_no_fsync() -> None:
        for path in files:
            with open(path, "rb") as source_file, \
                    open(root / "steward" / path.name, "wb") as target_file:
                clean_stream(source_file, target_file)

    def copy_no_fsync() -> None:
        for path in files:
            shutil.copyfile(path, root / "copy" / path.name)

    memory = timed("Steward, in memory", steward_in_memory)
    plain = timed("Steward, to files (no fsync)", steward_no_fsync)
    copied = timed("plain copy (no fsync)", copy_no_fsync)
    exiftool_seconds = timed("ExifTool -all= (one process)", exiftool)
    for name in ("steward", "copy"):
        shutil.rmtree(root / name)
        (root / name).mkdir()
    synced = timed("Steward, intake path (fsync, prove)", steward)
    copied_synced = timed("plain copy (with fsync)", copy)
    print(f"  Steward vs ExifTool (no fsync either): {exiftool_seconds / plain:.1f}x its "
          f"throughput, {exiftool_seconds / memory:.1f}x in memory (target >= 5x)")
    print(f"  Steward vs plain copy: {copied / plain:.0%} without fsync, "
          f"{copied_synced / synced:.0%} with fsync (target >= 30%)")
    tracemalloc.start()
    clean_file(files[0], root / "peak.jpg")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  peak memory cleaning one {files[0].stat().st_size / 1e6:.1f} MB file: "
          f"{peak / 1e6:.1f} MB (Python allocations)")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
