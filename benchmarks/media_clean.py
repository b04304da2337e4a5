"""Cleaning 12-megapixel JPEGs (about 4.5 MB, like a phone's, with EXIF and GPS, XMP, IPTC and
a thumbnail), generated, against ExifTool removing all metadata (`exiftool -all= -o OUT/ IN/`,
one process) and a plain copy, in interleaved rounds (medians, ratios, the machine):

- `steward media clean IN/* -o OUT/`, the whole command (start-up included), against the
  whole ExifTool command (target, issue 21: at least 3x faster);
- cleaning in process, `clean_file` without fsync, against the same ExifTool run (target: at
  least 5x) and a plain copy;
- `clean_file` with fsync (the durable way) against a plain copy with fsync (target: >= 50%).

Also the CPU time of both commands, which other programs on the cores change far less.

Run: .venv/bin/python benchmarks/media_clean.py [COUNT] [ROUNDS]   (needs Pillow and exiftool)
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine, median  # noqa: E402

from daemon.posts.picture_files import clean_file  # noqa: E402
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


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def main() -> None:
    global COUNT
    COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else COUNT
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if shutil.which("exiftool") is None:
        raise SystemExit("exiftool is not installed: run scripts/install-system-packages")
    root = Path(tempfile.mkdtemp(prefix="steward-media-bench-"))
    source = root / "photos"
    source.mkdir()
    total = make_photos(source)
    files = sorted(source.iterdir())
    out = root / "out"
    steward_command = [str(Path(sys.executable).parent / "steward"), "media", "clean",
                       *map(str, files), "-o", str(out)]

    def command() -> None:
        subprocess.run(steward_command, check=True, stdout=subprocess.DEVNULL)

    def exiftool() -> None:
        subprocess.run(["exiftool", "-q", "-all=", "-o", str(out) + "/", str(source)],
                       check=True)

    def in_process(durable: bool):
        def clean() -> None:
            for path in files:
                clean_file(path, out / path.name, durable=durable)
        return clean

    def copy(durable: bool):
        def copy_files() -> None:
            for path in files:
                target = out / path.name
                shutil.copyfile(path, target)
                if durable:
                    with open(target, "rb+") as handle:
                        os.fsync(handle.fileno())
        return copy_files

    runs = {"command": command, "exiftool": exiftool, "clean_file": in_process(False),
            "copy": copy(False), "clean_file+fsync": in_process(True),
            "copy+fsync": copy(True)}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {"command": [], "exiftool": []}  # the commands' user + system
    for _ in range(rounds):
        for name, action in runs.items():
            fresh(out)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds[name].append(timed(action))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if name in cpu:
                cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    shutil.rmtree(out, ignore_errors=True)
    m = {name: median(values) for name, values in seconds.items()}
    print(f"{COUNT} JPEGs of {WIDTH}x{HEIGHT} ({total / COUNT / 1e6:.1f} MB each, EXIF with GPS, "
          f"XMP, IPTC, thumbnail); medians of {rounds} interleaved rounds:")
    for name, label in (("command", "steward media clean (whole command)"),
                        ("exiftool", "exiftool -all= -o OUT/ (whole command)"),
                        ("clean_file", "clean_file in process, no fsync"),
                        ("copy", "plain copy, no fsync"),
                        ("clean_file+fsync", "clean_file in process, fsync"),
                        ("copy+fsync", "plain copy, fsync")):
        print(f"  {label:<40} {m[name]:7.3f} s  {COUNT / m[name]:7.1f} files/s")
    print(f"  steward media clean vs ExifTool: {m['exiftool'] / m['command']:.2f}x as fast "
          "(target >= 3x)")
    ours, theirs = median(cpu["command"]), median(cpu["exiftool"])
    print(f"  CPU time (user + system): steward media clean {ours:.3f} s, ExifTool {theirs:.3f} s: "
          f"{theirs / ours:.2f}x less work (the command spreads it over the cores)")
    print(f"  clean_file vs ExifTool: {m['exiftool'] / m['clean_file']:.2f}x as fast (target "
          f">= 5x); vs a plain copy: {m['copy'] / m['clean_file']:.0%} of its speed")
    print(f"  clean_file with fsync vs a plain copy with fsync: "
          f"{m['copy+fsync'] / m['clean_file+fsync']:.0%} of its speed (target >= 50%)")
    tracemalloc.start()
    clean_file(files[0], root / "peak.jpg")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  peak memory cleaning one {files[0].stat().st_size / 1e6:.1f} MB file: "
          f"{peak / 1e6:.1f} MB (Python allocations)")
    print(machine())
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
