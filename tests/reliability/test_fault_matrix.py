"""Every endpoint Steward calls, under every kind of fault the sandbox injects, ends in one of
the four project errors, so the caller's retry rules (back-off with jitter, the reset time when
the platform gives one, a report when the budget is spent) apply everywhere. Each fault costs
one request: a slow answer ends in the connector's timeout, never a hang or a retry of its own
(how long that takes is measured in benchmarks/slow_platform.py, not here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from connectors.domain import Post, Reply
from connectors.errors import RateLimited, TemporaryFailure
from connectors.facebook import FacebookPageConnector
from connectors.x import XConnector
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_X_CREDENTIALS

pytestmark = pytest.mark.slow  # 120 cases, a sandbox each, a fifth of them waiting for a timeout

SINCE = datetime.now(UTC) - timedelta(days=1)
REPLY = Reply("x", "1", "2", "someone", "text", "1", None)
FB_REPLY = Reply("facebook", "1_2", "3", "someone", "text", "1", None)

X_CALLS = {
    "users/me": ("GET", r"^/2/users/me$", lambda c: c.check()),
    "create post": ("POST", r"^/2/tweets$", lambda c: c.publish(Post("Fault test"))),
    "media upload": ("POST", r"^/2/media/upload$", None),
    "read post": ("GET", r"^/2/tweets/\d+$", lambda c: c.get_post("123")),
    "timeline": ("GET", r"/tweets$", lambda c: c.recent_posts(SINCE)),
    "conversation": ("GET", r"/search/recent$", lambda c: c.replies_in_conversation("1", None)),
    "mentions": ("GET", r"/mentions$", lambda c: c.mentions(None)),
    "hide": ("PUT", r"/hidden$", lambda c: c.hide(REPLY)),
    "mute": ("POST", r"/muting$", lambda c: c.mute("2")),
    "dm block": ("POST", r"/dm/block$", lambda c: c.dm_block("2")),
    "followers": ("GET", r"/followers$", lambda c: c.followers_page(None)),
    "following": ("GET", r"/following$", lambda c: c.following()),
    "unfollow": ("DELETE", r"/following/\d+$", lambda c: c.unfollow("2")),
    "direct messages": ("GET", r"^/2/dm_events$", lambda c: c.direct_messages(None)),
}
FB_CALLS = {
    "page": ("GET", r"^/v25.0/100000000000001$", lambda c: c.check()),
    "create post": ("POST", r"/feed$", lambda c: c.publish(Post("Fault test"))),
    "photo upload": ("POST", r"/photos$", None),
    "published posts": ("GET", r"/published_posts$", lambda c: c.recent_posts(SINCE)),
    "comments": ("GET", r"/comments$", lambda c: c.comments_on("1_2", None)),
    "hide comment": ("POST", r"^/v25.0/1_2$", lambda c: c.hide(FB_REPLY)),
    "block": ("POST", r"/blocked$", lambda c: c.block("3")),
    "conversations": ("GET", r"/conversations$", lambda c: c.conversations()),
}
FAULTS = {
    "429 with reset": ({"status": 429, "reset_in": 60}, RateLimited),
    "429 without reset": ({"status": 429}, RateLimited),
    "503": ({"status": 503}, TemporaryFailure),
    "slow (timeout)": ({"delay": 1.5}, TemporaryFailure),
    "connection reset": ({"drop": True}, TemporaryFailure),
    "malformed JSON": ({"status": 200, "raw_body": "{not json"}, TemporaryFailure),
}


def cases(calls):
    return [pytest.param(name, fault, id=f"{name}/{fault}") for name in calls
            for fault in FAULTS if calls[name][2] is not None]


@pytest.fixture
def x(sandbox):
    connector = XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=sandbox.url, timeout=0.5)
    connector.check()
    return connector


@pytest.fixture
def facebook(sandbox):
    return FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, sandbox_url=sandbox.url,
                                 timeout=0.5)


def requests_to(control, method: str, path: str) -> int:
    """How many requests the sandbox has had for the endpoint (`path` a pattern)."""
    return sum(count for key, count in control.state()["request_counts"].items()
               if key.split(" ", 1)[0] == method and re.search(path, key.split(" ", 1)[1]))


def provoke(connector, control, calls, name, fault):
    method, path, call = calls[name]
    settings, expected = FAULTS[fault]
    if fault == "429 with reset" and isinstance(connector, FacebookPageConnector):
        settings = {"status": 429}
    control.fault(method=method, path=path, times=1, **settings)
    before = requests_to(control, method, path)
    with pytest.raises(expected) as caught:
        call(connector)
    assert requests_to(control, method, path) - before == 1  # one try: no hang, no retry inside
    if fault == "429 with reset" and isinstance(connector, XConnector):
        assert 50 <= caught.value.retry_after <= 61
    if fault == "429 without reset":
        assert caught.value.retry_after is None


@pytest.mark.parametrize("name, fault", cases(X_CALLS))
def test_every_x_call_translates_every_fault(x, control, name, fault):
    provoke(x, control, X_CALLS, name, fault)


@pytest.mark.parametrize("name, fault", cases(FB_CALLS))
def test_every_facebook_call_translates_every_fault(facebook, control, name, fault):
    provoke(facebook, control, FB_CALLS, name, fault)
