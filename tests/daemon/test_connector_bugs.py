"""When a connector's own code fails (the sandbox answers in a shape the connector does not know,
which raises KeyError inside it), the daemon tells the administrator, with the exception's
class, and does not retry it as if the platform were down: a post is not lost (its delivery
ends failed with a reason that says so, or sent when the post is found on the platform),
moderation and reconciling skip what broke and go on with the rest."""

from __future__ import annotations

import json

from tests.daemon.harness import StewardUnderTest
from tests.daemon.test_moderation import ABUSE, event, moderated_steward, school_post, wait
from tests.daemon.test_reconcile import reconciling_steward

UNKNOWN_SHAPE = json.dumps({"data": {"note": "no id here"}})


def create_requests(steward) -> int:
    return steward.world()["request_counts"].get("POST /2/tweets", 0)


def delivery(steward, platform):
    [row] = steward.service.store.query(
        "SELECT d.state, d.last_error, d.attempts FROM deliveries d JOIN submissions s ON "
        "s.id = d.submission_id WHERE d.platform = ?", (platform,))
    return row


def test_a_post_whose_create_answer_the_connector_cannot_read_ends_failed_and_is_not_retried(
        tmp_path):
    steward = StewardUnderTest(tmp_path / "steward")
    steward.settings.moderation.enabled = False
    steward.start()
    try:
        steward.fault(method="POST", path=r"^/2/tweets$", status=200, raw_body=UNKNOWN_SHAPE,
                      times=-1)
        steward.post("concert", "The winter concert is on Thursday at 6pm.")
        assert steward.wait_for_status("concert", statuses=("partly-failed",))
        x = delivery(steward, "x")
        assert x["state"] == "failed" and x["attempts"] == 1
        assert "KeyError" in x["last_error"] and "not retried" in x["last_error"]
        assert "was not on x when Steward looked" in x["last_error"]
        assert create_requests(steward) == 1
        assert delivery(steward, "facebook")["state"] == "sent"
        [failed] = [e for e in steward.events_named("post.failed") if e["platform"] == "x"]
        assert failed["error_class"] == "KeyError" and failed["connector_bug"] is True
        assert failed["audience"] == "admin"
        receipt = next(steward.archive.glob("*.receipt.txt")).read_text()
        assert "x: NOT published" in receipt and "KeyError" in receipt
    finally:
        steward.stop()


def test_a_post_made_before_the_connector_failed_is_found_and_counted_as_sent(tmp_path):
    steward = StewardUnderTest(tmp_path / "steward")
    steward.settings.moderation.enabled = False
    steward.start()
    try:  # X made the post; only its answer is of a shape the connector does not know
        steward.fault(method="POST", path=r"^/2/tweets$", status=200, raw_body=UNKNOWN_SHAPE,
                      after=True, times=-1)
        steward.post("fair", "The summer fair raised a lot for the library.")
        assert steward.wait_for_status("fair")
        assert delivery(steward, "x")["state"] == "sent"
        assert create_requests(steward) == 1
        [published] = [e for e in steward.events_named("post.published")
                       if e["platform"] == "x"]
        assert published["found_after_interruption"] and published["connector_bug"] == "KeyError"
        assert steward.published_texts()["x"] == ["The summer fair raised a lot for the library."]
    finally:
        steward.stop()


def test_replies_the_connector_cannot_read_are_reported_once_and_the_rest_is_moderated(tmp_path):
    steward = moderated_steward(tmp_path)
    try:
        school_post(steward)
        steward.fault(method="GET", path=r"^/2/tweets/search/recent$", status=200,
                      raw_body=json.dumps({"data": [{"id": "7"}]}), times=-1)
        mention = event(steward, kind="x.mention", user_id="3100000000000000011",
                        username="AnAngryAccount", text=ABUSE)
        wait(steward, lambda: len(steward.events_named("moderation.connector_bug")) >= 2)
        wait(steward, lambda: steward.world()["x"]["tweets"][mention]["hidden"]
             or steward.events_named("incident.recorded"))
        bug = steward.events_named("moderation.connector_bug")[0]
        assert (bug["platform"], bug["error_class"], bug["audience"]) == ("x", "KeyError",
                                                                          "admin")
        assert bug["part"] == "replies:together"  # every watched post, in one search
        assert not steward.events_named("moderation.collect_failed")
        alerts = [path.read_text() for path in (steward.state_dir / "outbox").rglob("*")
                  if path.is_file() and "A fault in Steward's x connector" in path.read_text()]
        assert len(alerts) == 1  # once, however many sweeps meet the same fault
    finally:
        steward.stop()


def test_a_follower_list_the_connector_cannot_read_stops_that_area_only(tmp_path):
    steward = reconciling_steward(tmp_path)
    try:
        steward.fault(method="GET", path=r"/followers$", status=200,
                      raw_body=json.dumps({"data": [{"id": "4000000000000000009"}]}), times=-1)
        outcomes = steward.service.reconciler.run(areas=("followers", "following"),
                                                  platforms=["x"])
        followers = next(o for o in outcomes if o.area == "followers")
        assert followers.notes[0].startswith("stopped: ") and "KeyError" in followers.notes[0]
        assert next(o for o in outcomes if o.area == "following").actions
        [bug] = steward.events_named("reconcile.connector_bug")
        assert (bug["area"], bug["error_class"], bug["audience"]) == ("followers", "KeyError",
                                                                      "admin")
        counts = steward.world()["request_counts"]
        assert sum(n for key, n in counts.items() if key.endswith("/followers")) == 1
    finally:
        steward.stop()
