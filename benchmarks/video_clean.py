"""Cleaning a phone-style video (H.264/AAC made by ffmpeg, noise so it does not compress, with a
GPS track, ©xyz, Apple keys and XMP added by tests/movies.py) against the tools people use to
strip a video's metadata, in interleaved rounds (medians, ratios, the machine):

- `clean_file` in process (clean, then the proof: cleaned again, samples' SHA-256 compared),
  without fsync;
- ffmpeg remuxing with only picture and sound, no metadata (`ffmpeg -i IN -map 0:v -map 0:a
  -map_metadata -1 -c copy OUT`), the usual way, whole command;
- `exiftool -all= -o OUT IN`, whole command (it cannot drop the GPS track: shown for scale);
- a plain copy.

Run: .venv/bin/python benchmarks/video_clean.py [SECONDS] [ROUNDS]   (needs ffmpeg, exiftool)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine, median  # noqa: E402

from daemon.posts.picture_files import clean_file  # noqa: E402
from tests.movies import with_phone_metadata  # noqa: E402


def make_video(folder: Path, seconds: int) -> Path:
    """A 1280x720 30 fps noise clip with sound, as ffmpeg writes it, plus a phone's metadata."""
    plain = folder / "plain.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "nullsrc=s=1280x720:r=30,geq=random(1)*255:128:128", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", str(seconds), "-c:v",
                    "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    str(plain)], check=True)
    phone = folder / "phone.mp4"
    phone.write_bytes(with_phone_metadata(plain.read_bytes()))
    plain.unlink()
    return phone


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for tool in ("ffmpeg", "exiftool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: run scripts/install-system-packages")
    root = Path(tempfile.mkdtemp(prefix="steward-video-bench-"))
    source = make_video(root, seconds)
    out = root / "out.mp4"

    def steward() -> None:
        clean_file(source, out, durable=False)

    def ffmpeg() -> None:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:v",
                        "-map", "0:a", "-map_metadata", "-1", "-c", "copy", str(out)],
                       check=True)

    def exiftool() -> None:
        out.unlink(missing_ok=True)
        subprocess.run(["exiftool", "-q", "-q", "-all=", "-o", str(out), str(source)],
                       check=False)

    def copy() -> None:
        shutil.copyfile(source, out)

    runs = {"steward": steward, "ffmpeg": ffmpeg, "exiftool": exiftool, "copy": copy}
    figures: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, action in runs.items():
            figures[name].append(timed(action))
    m = {name: median(values) for name, values in figures.items()}
    size = source.stat().st_size / 1e6
    print(f"a {seconds} s 1280x720 phone-style video ({size:.0f} MB, GPS track, ©xyz, Apple "
          f"keys, XMP); medians of {rounds} interleaved rounds:")
    for name, label in (("steward", "clean_file (clean + proof), no fsync"),
                        ("ffmpeg", "ffmpeg -map 0:v -map 0:a -map_metadata -1 -c copy"),
                        ("exiftool", "exiftool -all= -o OUT (keeps the GPS track)"),
                        ("copy", "plain copy")):
        print(f"  {label:<52} {m[name]:7.3f} s  {size / m[name]:7.0f} MB/s")
    print(f"  Steward vs ffmpeg's remux: {m['ffmpeg'] / m['steward']:.2f}x as fast; vs ExifTool: "
          f"{m['exiftool'] / m['steward']:.2f}x; vs a plain copy: "
          f"{m['copy'] / m['steward']:.0%} of its speed")
    print(machine())
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
