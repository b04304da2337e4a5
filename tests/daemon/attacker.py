"""An attacker with write access to the inbox, as a second process: `python -m
tests.daemon.attacker MODE ...`. It plays the attacks of the hostile-inbox tests the way a person
would, with inotify on the folders it can see, racing Steward's intake.

Modes:
- `hold-open POST INBOX EVIL`: chdir into the signed post folder POST, rename it into INBOX,
  then keep rewriting `photo.jpg` (by relative path, through the folder it still holds) with
  the bytes of EVIL until the folder it holds is no longer in the inbox or in anything Steward
  might publish from; then a little longer.
- `swap-clean WATCHED EVIL`: wait (inotify) for Steward to write `photo.jpg` into the folder
  WATCHED (the target of a planted `.steward-clean` link), then replace it with EVIL.
- `rewrite-link OUTSIDE EVIL`: keep rewriting the file OUTSIDE (a second hard link of the
  post's picture) with EVIL, in place.
- `plant-links FOLDER TARGET`: in a draft folder it may write in, keep `REFUSED.txt` and
  `.REFUSED.txt.partial` symbolic links to TARGET (the submitter's key), and turn every new
  `.partial` file that appears there (inotify) into such a link, racing `steward submit`.

Each mode prints "ready" once it is in position and exits 0 after `--rounds` rewrites or when
the test's STOP file appears.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer


def hand_in(post: Path, inbox: Path) -> Path:
    """Rename a post into the inbox the way `steward submit` does (a hidden name inside the
    inbox first, then its own name), so the intake takes it at once, settled or not."""
    staging = inbox / f".tmp-attacker-{post.name}"
    os.rename(post, staging)
    os.rename(staging, inbox / post.name)
    return inbox / post.name


def _rewrite(path: str, data: bytes) -> bool:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError:
        return False
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)
    return True


def hold_open(post: Path, inbox: Path, evil: bytes, rounds: int, stop: Path) -> None:
    os.chdir(post)  # the folder stays ours, whatever name Steward gives it
    hand_in(post, inbox)
    print("ready", flush=True)
    done = 0
    while done < rounds and not stop.exists():
        if _rewrite("photo.jpg", evil):
            done += 1


class _Written(FileSystemEventHandler):
    def __init__(self, target: Path) -> None:
        self.target = target
        self.seen = False

    def on_any_event(self, event) -> None:
        if Path(getattr(event, "dest_path", "") or event.src_path).name == self.target.name:
            self.seen = True


def swap_clean(watched: Path, evil: bytes, rounds: int, stop: Path) -> None:
    target = watched / "photo.jpg"
    handler = _Written(target)
    observer = Observer()
    observer.schedule(handler, str(watched))
    observer.start()
    print("ready", flush=True)
    done = 0
    try:
        while done < rounds and not stop.exists():
            if handler.seen or target.exists():
                temporary = watched / ".evil"
                temporary.write_bytes(evil)
                os.replace(temporary, target)
                done += 1
    finally:
        observer.stop()


def rewrite_link(outside: Path, evil: bytes, rounds: int, stop: Path) -> None:
    print("ready", flush=True)
    done = 0
    while done < rounds and not stop.exists():
        if _rewrite(str(outside), evil):
            done += 1


class _Created(FileSystemEventHandler):
    def __init__(self) -> None:
        self.names: list[str] = []

    def on_any_event(self, event) -> None:
        self.names.append(Path(getattr(event, "dest_path", "") or event.src_path).name)


def _plant(folder: Path, name: str, target: Path) -> bool:
    link = folder / name
    try:
        if link.is_symlink() and os.readlink(link) == str(target):
            return False
        temporary = folder / f".link-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target)
        os.replace(temporary, link)
    except OSError:
        return False
    return True


def plant_links(folder: Path, target: Path, rounds: int, stop: Path) -> None:
    handler = _Created()
    observer = Observer()
    observer.schedule(handler, str(folder))
    observer.start()
    for name in ("REFUSED.txt", ".REFUSED.txt.partial"):
        _plant(folder, name, target)
    print("ready", flush=True)
    done = 0
    try:
        while done < rounds and not stop.exists():
            seen, handler.names = handler.names, []
            for name in {"REFUSED.txt", ".REFUSED.txt.partial", *seen}:
                if name in ("REFUSED.txt", ".REFUSED.txt.partial") or name.endswith(".partial"):
                    done += _plant(folder, name, target)
    finally:
        observer.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("hold-open", "swap-clean", "rewrite-link",
                                         "plant-links"))
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--rounds", type=int, default=200_000)
    parser.add_argument("--stop", required=True)
    arguments = parser.parse_args(argv)
    stop = Path(arguments.stop)
    if arguments.mode == "plant-links":
        plant_links(Path(arguments.paths[0]), Path(arguments.paths[1]), arguments.rounds, stop)
        return 0
    *places, evil_path = arguments.paths
    evil = Path(evil_path).read_bytes()
    if arguments.mode == "hold-open":
        hold_open(Path(places[0]), Path(places[1]), evil, arguments.rounds, stop)
    elif arguments.mode == "swap-clean":
        swap_clean(Path(places[0]), evil, arguments.rounds, stop)
    else:
        rewrite_link(Path(places[0]), evil, arguments.rounds, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
