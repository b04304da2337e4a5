"""A module written as a policy must NOT be, for tests/test_structure.py: the purity reader must
flag every line marked `impure` and none marked `pure`. It is never imported or run (it would
read the clock, the disk and the network). It lives here, not in policies/, so that policies/
stays pure."""

# ruff: noqa: S310, S311, S113, S307, S108, S603, S607, S324
from __future__ import annotations

import datetime as calendar  # pure
import os  # impure
import random  # impure
import secrets  # impure
import socket  # impure
import subprocess  # impure
import time  # impure
import urllib.request  # impure
from datetime import date, datetime, timedelta  # pure
from datetime import time as time_of_day  # pure
from importlib import resources  # pure
from pathlib import Path  # pure
from time import monotonic as ticks  # impure

import requests  # impure


def judge(context, text: str, folder: Path, match) -> list:
    found = []
    found.append(datetime.now())  # impure
    found.append(datetime.utcnow())  # impure
    found.append(datetime.today())  # impure
    found.append(date.today())  # impure
    found.append(calendar.datetime.now(calendar.UTC))  # impure
    found.append(time.time())  # impure
    found.append(ticks())  # impure
    found.append(time.perf_counter)  # impure
    found.append(open("/etc/hostname").read())  # impure
    found.append(folder.read_text())  # impure
    (folder / "out.txt").write_bytes(b"")  # impure
    found.append(folder.open("rb"))  # impure
    found.append(folder.exists())  # impure
    found.append(folder.stat())  # impure
    found.append(list(folder.iterdir()))  # impure
    found.append(os.environ.get("HOME"))  # impure
    found.append(os.path.join("a", "b"))  # impure
    found.append(random.random())  # impure
    found.append(secrets.token_hex(4))  # impure
    found.append(socket.gethostname())  # impure
    found.append(subprocess.run(["true"], check=False))  # impure
    found.append(requests.get("https://example.invalid"))  # impure
    found.append(urllib.request.urlopen("https://example.invalid"))  # impure
    found.append(__import__("shutil"))  # impure
    print(text)  # impure
    found.append(context.now)  # pure
    found.append(context.now + timedelta(minutes=5))  # pure
    found.append(text.replace("a", "b"))  # pure
    found.append(match.group(1))  # pure
    found.append(datetime(2026, 11, 22, 9, 0))  # pure
    found.append(time_of_day(9, 30))  # pure
    found.append(folder.name + folder.suffix)  # pure
    found.append(resources.files("better_profanity").joinpath("profanity_wordlist.txt")  # pure
                 .read_text(encoding="utf-8"))  # pure
    found.append(calendar.timedelta(days=1))  # pure
    return found
