"""How long a call waits for a platform that answers late: Steward's connectors, which give
every request a timeout, against the same connectors with the SDKs' own default, which is no
timeout at all (neither tweepy nor facebook-sdk sets one).

The sandbox holds each faulted request for `delay` seconds before answering. Prints, for each
platform and call, Steward's figure (until TemporaryFailure), the SDK default's (until the late
answer) and their ratio. The SDK default's figure is only the sandbox's delay: against a platform
that never answers, it never returns. The two set-ups are the ones the tests used to time: the fault matrix
(timeout 0.5 s, answer after 1.5 s; target under 1.4 s) and the X connector's slow answer
(timeout 2 s, answer after 4 s; target under 3.9 s). The tests now count requests instead: one
per fault, no hang and no retry inside a connector (tests/reliability/test_fault_matrix.py).

Run: .venv/bin/python benchmarks/slow_platform.py
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.domain import Post  # noqa: E402
from connectors.errors import TemporaryFailure  # noqa: E402
from connectors.facebook import FacebookPageConnector  # noqa: E402
from connectors.x import XConnector  # noqa: E402
from sandbox.app import start_sandbox  # noqa: E402
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_X_CREDENTIALS  # noqa: E402

# (timeout, delay, target): the figures the tests asserted before they counted requests
SETUPS = ((0.5, 1.5, 1.4), (2.0, 4.0, 3.9))
NUMBERS = itertools.count(1)  # X refuses the same text twice: each post says something new


def post() -> Post:
    return Post(f"A slow platform, post {next(NUMBERS)}")

CALLS = {
    "x": (XConnector, DEFAULT_X_CREDENTIALS, {
        "publish": ("POST", r"^/2/tweets$", lambda c: c.publish(post())),
        "check": ("GET", r"^/2/users/me$", lambda c: c.check()),
    }),
    "facebook": (FacebookPageConnector, DEFAULT_FACEBOOK_CREDENTIALS, {
        "publish": ("POST", r"/feed$", lambda c: c.publish(post())),
        "check": ("GET", r"/100000000000001$", lambda c: c.check()),
    }),
}


def seconds_until_done(connector, call: Callable, url: str, method: str, path: str,
                       delay: float) -> tuple[float, str]:
    """Fault the next request to the endpoint with `delay`, make the call, time it."""
    requests.post(f"{url}/_sandbox/faults", json={"method": method, "path": path, "times": 1,
                                                  "delay": delay}, timeout=5).raise_for_status()
    started = time.perf_counter()
    try:
        call(connector)
        outcome = "answered"
    except TemporaryFailure:
        outcome = "gave up"
    return time.perf_counter() - started, outcome


def main() -> None:
    server = start_sandbox()
    try:
        print(f"{'timeout':>7} {'delay':>6}  {'platform':<9} {'call':<8} {'Steward':>9} "
              f"{'SDK default':>12} {'ratio':>6}  target")
        for timeout, delay, target in SETUPS:
            for platform, (kind, credentials, calls) in CALLS.items():
                steward = kind(**credentials, sandbox_url=server.url, timeout=timeout)
                default = kind(**credentials, sandbox_url=server.url, timeout=None)
                for name, (method, path, call) in calls.items():
                    ours, how = seconds_until_done(steward, call, server.url, method, path, delay)
                    theirs, _ = seconds_until_done(default, call, server.url, method, path,
                                                   delay)
                    verdict = "met" if ours < target and how == "gave up" else "MISSED"
                    print(f"{timeout:>6.1f}s {delay:>5.1f}s  {platform:<9} {name:<8} "
                          f"{ours:>8.2f}s {theirs:>11.2f}s {theirs / ours:>5.1f}x  "
                          f"< {target} s: {verdict}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
