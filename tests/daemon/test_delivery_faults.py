"""Platform faults and crashes during publishing: retried with back-off, resolved by looking,
never lost and never published twice."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.domain import Post
from daemon.accounts.platforms import build_connectors
from tests.daemon.harness import StewardUnderTest


def request_count(steward, key: str) -> int:
    return steward.world()["request_counts"].get(key, 0)


def test_a_rate_limited_post_waits_for_the_reset_and_goes_out_once(steward):
    steward.fault(method="POST", path="^/2/tweets$", status=429, reset_in=1, times=1)
    steward.post("rate-limited", "Patience is a virtue.")
    assert steward.wait_for_status("rate-limited")
    assert steward.published_texts()["x"] == ["Patience is a virtue."]
    [limited] = steward.events_named("delivery.rate_limited")
    assert limited["platform"] == "x"


def test_a_429_without_a_reset_header_backs_off_instead_of_hammering(steward):
    steward.fault(method="POST", path="^/2/tweets$", status=429, times=3)
    steward.post("no-reset", "Backing off politely.")
    assert steward.wait_for_status("no-reset", timeout=30)
    assert request_count(steward, "POST /2/tweets") == 4
    assert steward.published_texts()["x"] == ["Backing off politely."]


@pytest.mark.parametrize("platform, path, key", [
    ("x", "^/2/tweets$", "POST /2/tweets"),
    ("facebook", "/feed$", "POST /v25.0/100000000000001/feed"),
])
def test_a_connection_dropped_after_posting_is_resolved_by_looking_not_reposting(
        steward, platform, path, key):
    steward.fault(method="POST", path=path, drop=True, after=True, times=1)
    steward.post("dropped", "Did it go out? Steward checks before trying again.")
    assert steward.wait_for_status("dropped", timeout=30)
    assert steward.published_texts()[platform] == [
        "Did it go out? Steward checks before trying again."]
    assert request_count(steward, key) == 1
    recovered = [event for event in steward.events_named("post.published")
                 if event.get("found_after_interruption")]
    assert [event["platform"] for event in recovered] == [platform]


def test_server_errors_on_create_are_checked_then_retried_once_each(steward):
    steward.fault(method="POST", path="/feed$", status=503, times=2)
    steward.post("flaky", "Third time lucky.")
    assert steward.wait_for_status("flaky", timeout=30)
    assert steward.published_texts()["facebook"] == ["Third time lucky."]
    assert len(steward.events_named("delivery.not_found_will_retry")) == 2


def test_a_timeout_on_create_is_resolved_by_looking(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.settings.x.timeout_seconds = 1
    steward.start()
    try:
        steward.fault(method="POST", path="^/2/tweets$", delay=2, after=True, times=1)
        steward.post("slow", "Slow but sure.")
        assert steward.wait_for_status("slow", timeout=30)
        assert steward.published_texts()["x"] == ["Slow but sure."]
    finally:
        steward.stop()


def test_a_post_the_platform_refuses_is_failed_and_reported_while_others_go_out(steward):
    steward.fault(method="POST", path="^/2/tweets$", status=403, times=-1,
                  body={"title": "Forbidden", "detail": "not permitted", "type": "about:blank"})
    steward.post("refused-by-x", "X will not take this one.")
    assert steward.wait_for_status("refused-by-x", statuses=("partly-failed",))
    assert steward.published_texts() == {"x": [], "facebook": ["X will not take this one."]}
    [failure] = steward.events_named("post.failed")
    assert failure["platform"] == "x" and failure["audience"] == "admin"
    receipt = (steward.archive / "refused-by-x.receipt.txt").read_text()
    assert "x: NOT published" in receipt


def test_refused_credentials_hold_the_post_without_spending_its_attempts(steward):
    steward.fault(method="POST", path="/feed$", status=400, times=-1,
                  body={"error": {"message": "Error validating access token", "code": 190,
                                  "type": "OAuthException"}})
    steward.post("expired-token", "Waiting for a new token.")
    assert steward.service.wait_until(
        lambda: steward.events_named("delivery.credentials_refused"), timeout=20)
    [delivery] = [d for d in steward.service.store.deliveries(
        steward.service.store.query("SELECT id FROM submissions")[0]["id"])
        if d.platform == "facebook"]
    assert delivery.state == "pending" and delivery.attempts == 0


def test_gives_up_after_the_attempt_budget_and_says_so(tmp_path):
    steward = StewardUnderTest(tmp_path, max_attempts=3)
    steward.start()
    try:
        steward.fault(method="POST", path="^/2/media/upload$", status=500, times=-1)
        steward.post("never", "This photo will not upload.", images=1, platforms=["x"])
        assert steward.wait_for_status("never", statuses=("failed",), timeout=30)
        [failure] = steward.events_named("post.failed")
        assert "gave up after 3 attempts" in failure["reason"]
        assert request_count(steward, "POST /2/media/upload") == 3
    finally:
        steward.stop()


def _crash_in_sending(steward: StewardUnderTest, name: str, text: str, *,
                      already_posted: bool) -> str:
    """Leave a delivery in `sending` as a crash would: accepted, claimed, maybe posted."""
    steward.post(name, text, publish_at=steward.soon(3600), platforms=["x"])
    assert steward.service.wait_until(lambda: steward.events_named("post.scheduled"), 10)
    steward.stop()
    database = sqlite3.connect(steward.state_dir / "steward.sqlite3")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    database.execute("UPDATE submissions SET publish_at = ?", (now,))
    database.execute("UPDATE deliveries SET state = 'sending', attempts = 1, sending_since = ?",
                     (now,))
    database.commit()
    database.close()
    remote_id = ""
    if already_posted:
        from sandbox.app import start_sandbox  # noqa: PLC0415

        sandbox = start_sandbox(state_file=steward.root / "sandbox-state.json")
        try:
            connector = build_connectors(steward.settings, sandbox.url)["x"]
            remote_id = connector.publish(Post(text)).remote_id
        finally:
            sandbox.stop()
    steward.start()
    return remote_id


def test_after_a_crash_mid_publish_a_post_already_made_is_recorded_not_repeated(steward):
    remote_id = _crash_in_sending(steward, "crashed", "Posted just before the crash.",
                                  already_posted=True)
    assert steward.wait_for_status("crashed")
    assert steward.published_texts()["x"] == ["Posted just before the crash."]
    [delivery] = steward.service.store.query("SELECT remote_id, state FROM deliveries")
    assert (delivery["state"], delivery["remote_id"]) == ("sent", remote_id)


def test_after_a_crash_before_the_platform_saw_the_post_it_is_published_once(steward):
    _crash_in_sending(steward, "crashed-early", "The crash came first.", already_posted=False)
    assert steward.wait_for_status("crashed-early")
    assert steward.published_texts()["x"] == ["The crash came first."]


def test_a_post_that_fell_due_long_ago_while_stopped_is_held_and_reported(tmp_path):
    steward = StewardUnderTest(tmp_path, grace_minutes=0.01)
    steward.start()
    try:
        steward.post("missed", "This was for this morning.", publish_at=steward.soon(3600))
        assert steward.service.wait_until(lambda: steward.events_named("post.scheduled"), 10)
        steward.stop()
        steward.move_publish_time("missed", steward.clock.now() - timedelta(hours=3))
        steward.start()
        [held] = steward.events_named("post.held")
        assert held["name"] == "missed" and held["audience"] == "SLT"
        notice = Path(held["file"]).read_text()  # where SLT read refusals
        assert Path(held["file"]).name == "missed.held.txt"
        assert "never will be" in notice and "signed again" in notice
        assert steward.wait_for_status("missed", ("held",))
        armed = {job for job, _ in steward.service.scheduler.next_runs(limit=1000)}
        assert held["submission"] not in armed  # nothing will publish it later either
        assert steward.published_texts() == {"x": [], "facebook": []}
    finally:
        steward.stop()


def test_a_post_due_while_stopped_within_the_grace_window_goes_out_at_start(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    try:
        steward.post("catch-up", "Slightly late, still welcome.", publish_at=steward.soon(3600))
        assert steward.service.wait_until(lambda: steward.events_named("post.scheduled"), 10)
        steward.stop()
        steward.move_publish_time("catch-up", steward.clock.now() - timedelta(minutes=5))
        steward.start()
        assert steward.wait_for_status("catch-up")
    finally:
        steward.stop()
