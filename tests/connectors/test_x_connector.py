"""The X connector, with the real tweepy client, against the sandbox over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.domain import Post, Profile, comparable_text
from connectors.errors import AuthenticationFailed, RateLimited, Rejected, TemporaryFailure
from connectors.x import XConnector
from sandbox.state import DEFAULT_X_CREDENTIALS


def test_reads_the_account_it_acts_as(x_connector):
    account = x_connector.check()
    assert (account.platform, account.handle) == ("x", "OakfieldPrimary")


def test_publishes_text_with_images_and_alt_text(x_connector, control, photo):
    ref = x_connector.publish(Post("Sports day was a joy!", (photo, photo)))
    tweet = control.state()["x"]["tweets"][ref.remote_id]
    assert tweet["text"] == "Sports day was a joy!"
    media = control.state()["x"]["media"]
    keys = tweet["attachments"]["media_keys"]
    assert len(keys) == 2
    assert all(item["alt_text"] == photo.alt_text for item in media.values())
    assert all(item["sha256"] == photo.sha256 for item in media.values())
    assert ref.url.endswith(f"/status/{ref.remote_id}")


def test_never_sends_a_place_or_coordinates(x_connector, control, photo):
    x_connector.publish(Post("On the school trip", (photo,)))
    assert all("geo" not in tweet for tweet in control.state()["x"]["tweets"].values())


def test_sends_the_configured_reply_settings(sandbox, control):
    connector = XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=sandbox.url,
                           reply_settings="following")
    ref = connector.publish(Post("Replies from people we follow only"))
    assert control.state()["x"]["tweets"][ref.remote_id]["reply_settings"] == "following"


def test_refuses_unknown_reply_settings():
    with pytest.raises(ValueError, match="reply_settings"):
        XConnector(**DEFAULT_X_CREDENTIALS, reply_settings="everyone")


def test_reads_a_post_back_and_finds_recent_posts(x_connector, photo):
    ref = x_connector.publish(Post("Harvest festival & bake sale https://example.org/a", (photo,)))
    read = x_connector.get_post(ref.remote_id)
    assert read.media_count == 1
    recent = x_connector.recent_posts(datetime.now(UTC) - timedelta(minutes=1))
    assert [post.ref.remote_id for post in recent] == [ref.remote_id]
    assert comparable_text(read.text) == comparable_text(
        "Harvest festival &amp; bake sale https://t.co/abc")


def test_a_deleted_post_reads_back_as_none(x_connector):
    ref = x_connector.publish(Post("A post to delete"))
    x_connector.delete(ref)
    assert x_connector.get_post(ref.remote_id) is None


def test_refused_credentials_become_authentication_failed(sandbox):
    credentials = DEFAULT_X_CREDENTIALS | {"access_token": "1500000000000000001-wrong"}
    connector = XConnector(**credentials, sandbox_url=sandbox.url)
    with pytest.raises(AuthenticationFailed, match="401"):
        connector.check()


def test_a_rate_limit_with_a_reset_header_says_how_long_to_wait(x_connector, control):
    control.fault(method="POST", path="^/2/tweets$", status=429, reset_in=120)
    with pytest.raises(RateLimited) as caught:
        x_connector.publish(Post("Too soon"))
    assert 100 <= caught.value.retry_after <= 121


def test_a_rate_limit_without_a_reset_header_leaves_the_wait_to_the_caller(x_connector, control):
    control.fault(method="POST", path="^/2/tweets$", status=429)
    with pytest.raises(RateLimited) as caught:
        x_connector.publish(Post("Too soon"))
    assert caught.value.retry_after is None


@pytest.mark.slow  # a hundred posts
def test_the_sandbox_enforces_x_rate_limits_itself(x_connector, control):
    for index in range(100):
        x_connector.publish(Post(f"Post number {index}"))
    with pytest.raises(RateLimited) as caught:
        x_connector.publish(Post("The hundred and first post"))
    assert caught.value.retry_after > 800


def test_a_forbidden_post_is_rejected(x_connector):
    x_connector.publish(Post("Same words twice"))
    with pytest.raises(Rejected, match="403"):
        x_connector.publish(Post("Same words twice"))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_on_create_are_temporary_and_ambiguous(x_connector, control, status):
    control.fault(method="POST", path="^/2/tweets$", status=status)
    with pytest.raises(TemporaryFailure) as caught:
        x_connector.publish(Post("Server trouble"))
    assert caught.value.ambiguous and caught.value.status == status


def test_server_errors_on_upload_are_temporary_but_not_ambiguous(x_connector, control, photo):
    control.fault(method="POST", path="^/2/media/upload$", status=503)
    with pytest.raises(TemporaryFailure) as caught:
        x_connector.publish(Post("Upload trouble", (photo,)))
    assert not caught.value.ambiguous


def test_a_slow_answer_times_out_instead_of_hanging(x_connector, control):
    control.fault(method="POST", path="^/2/tweets$", delay=4)
    with pytest.raises(TemporaryFailure, match="in time") as caught:  # not an answer 4 s late
        x_connector.publish(Post("Slow platform"))
    assert caught.value.ambiguous
    # what stopped the wait: the 2 s timeout the connector puts on every request to X
    # (sent where the configuration says X is: here the sandbox)
    session = x_connector.client.session
    assert session.get_adapter(session.target + "/2/tweets").timeout == 2.0


def test_a_dropped_connection_after_the_post_was_made_is_ambiguous_and_findable(
        x_connector, control):
    control.fault(method="POST", path="^/2/tweets$", drop=True, after=True)
    with pytest.raises(TemporaryFailure) as caught:
        x_connector.publish(Post("Did this go out?"))
    assert caught.value.ambiguous
    recent = x_connector.recent_posts(datetime.now(UTC) - timedelta(minutes=1))
    assert [post.text for post in recent] == ["Did this go out?"]


def test_malformed_json_is_a_temporary_failure(x_connector, control):
    control.fault(method="GET", path="^/2/users/me$", status=200, raw_body="{not json")
    with pytest.raises(TemporaryFailure, match="could not read"):
        x_connector.check()


def test_a_missing_post_is_not_found(x_connector, control):
    control.fault(method="DELETE", path="^/2/tweets/", status=404)
    with pytest.raises(Rejected) as caught:
        x_connector.delete(x_connector._ref("123"))
    assert caught.value.status == 404


def test_nothing_leaves_for_a_real_host_in_sandbox_mode(x_connector):
    with pytest.raises(Exception, match="sandbox mode"):
        x_connector.client.session.get("https://upload.twitter.com/1.1/media/upload.json")


# -- issue 19: what X's specification and answers really are --------------------------------------

def test_calls_api_x_com_by_default_the_host_of_xs_specification():
    connector = XConnector(**DEFAULT_X_CREDENTIALS)
    assert connector.client.session.target == "https://api.x.com"


def _direct_messages(sandbox, count: int, first_id: int = 5000000000000000001) -> list[str]:
    ids = [str(first_id + n) for n in range(count)]
    with sandbox.state.change() as world:
        world["x"]["dm_events"] += [
            {"id": event_id, "event_type": "MessageCreate", "text": f"Message {n}",
             "sender_id": "4000000000000000004", "created_at": "2026-11-22T09:00:00.000Z",
             "dm_conversation_id": "4000000000000000004-1500000000000000001"}
            for n, event_id in enumerate(ids)]
    return ids


def test_direct_messages_page_back_only_to_the_last_event_already_seen(x_connector, sandbox,
                                                                       control):
    ids = _direct_messages(sandbox, 250)
    x_connector.check()
    newer = x_connector.direct_messages(ids[119])  # 130 events are newer than the 120th
    assert [message.message_id for message in newer] == list(reversed(ids[120:]))
    # pages of 1, 1, 2, 4, ..., 64 and 100 (X charges per event): 228 read, not all 250
    assert control.state()["request_counts"]["GET /2/dm_events"] == 9


def test_a_poll_with_no_new_direct_message_reads_one_event(x_connector, sandbox, control):
    ids = _direct_messages(sandbox, 40)
    assert x_connector.direct_messages(ids[-1]) == []
    assert control.state()["request_counts"]["GET /2/dm_events"] == 1


def test_direct_messages_from_the_start_read_every_page(x_connector, sandbox):
    ids = _direct_messages(sandbox, 250)
    messages = x_connector.direct_messages(None)
    assert len(messages) == 250 and messages[0].message_id == ids[-1]
    assert {message.sender_id for message in messages} == {"4000000000000000004"}


def test_a_direct_message_whose_sender_x_did_not_give_has_an_unknown_sender(x_connector,
                                                                            control):
    x_connector.check()
    control.fault(method="GET", path=r"^/2/dm_events$", status=200, body={
        "data": [{"id": "5000000000000000002", "event_type": "MessageCreate", "text": "hi"}],
        "meta": {"result_count": 1}})
    [message] = x_connector.direct_messages(None)
    assert message.sender_id == ""


def test_a_reply_whose_author_x_did_not_return_has_an_unknown_author_not_none(x_connector,
                                                                             control):
    x_connector.check()
    control.fault(method="GET", path=r"^/2/tweets/search/recent$", status=200, body={
        "data": [{"id": "1600000000000000002", "text": "@OakfieldPrimary hello",
                  "conversation_id": "1600000000000000001",
                  "edit_history_tweet_ids": ["1600000000000000002"]}],
        "meta": {"result_count": 1}})
    [reply] = x_connector.replies("1600000000000000001", None).replies
    assert (reply.author_id, reply.author_handle) == ("", "")
    assert reply.url == "https://x.com/i/status/1600000000000000002"


def test_reply_authors_come_from_the_author_id_expansion(x_connector, control):
    post = x_connector.publish(Post("Our harvest festival"))
    reply = control.event(kind="x.reply", user_id="4000000000000000001", username="AParent",
                          text="Lovely!", in_reply_to=post.remote_id)
    [found] = x_connector.replies(post.remote_id, None).replies
    assert (found.reply_id, found.author_id, found.author_handle) == (
        reply["id"], "4000000000000000001", "AParent")


def test_settings_are_read_from_the_account_alone(x_connector, control):
    settings = x_connector.read_settings()
    assert settings.observed() == {"protected": False}
    assert not any("settings" in key for key in control.state()["request_counts"])
    assert not hasattr(x_connector, "write_settings")


# -- another account's profile: how a parent proves they control their account -----------------

def test_a_profile_is_looked_up_by_handle_with_its_bio(x_connector, control):
    control.event(kind="x.user", user_id="2000000000000000009", username="A_Parent",
                  name="A Parent", description="Gardener. STEWARD-1A2B-3C4D")
    profile = x_connector.profile("@a_parent")
    assert profile == Profile("2000000000000000009", "A_Parent", "A Parent",
                              "Gardener. STEWARD-1A2B-3C4D")


def test_a_handle_x_does_not_know_has_no_profile(x_connector):
    assert x_connector.profile("NoSuchParent") is None


def test_a_suspended_account_x_answers_404_for_has_no_profile(x_connector, control):
    control.fault(method="GET", path="^/2/users/by/username/", status=404)
    assert x_connector.profile("GoneAway") is None


def test_a_handle_x_could_not_hold_is_refused_before_asking(x_connector, control):
    with pytest.raises(Rejected, match="not an X handle"):
        x_connector.profile("a parent; DROP")
    assert "GET /2/users/by/username" not in str(control.state()["request_counts"])


def test_an_app_whose_access_level_lacks_user_lookup_is_told_so(x_connector, control):
    control.fault(method="GET", path="^/2/users/by/username/", status=403, body={
        "client_id": "1", "title": "Client Forbidden", "reason": "client-not-enrolled",
        "required_enrollment": "Appropriate Level of API Access",
        "registration_url": "https://developer.x.com/en/portal/product",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
                  "keys and tokens from a Twitter developer App that is attached to a Project.",
        "type": "https://api.twitter.com/2/problems/client-forbidden"})
    with pytest.raises(AuthenticationFailed, match="lacks permission to look up @AParent"):
        x_connector.profile("AParent")


def test_replies_to_many_posts_are_read_with_one_search_per_query_length(x_connector, control):
    posts = [x_connector.publish(Post(f"Post number {n}")).remote_id for n in range(20)]
    replies = [control.event(kind="x.reply", user_id="4000000000000000001", text=f"Reply {n}",
                             in_reply_to=post)["id"] for n, post in enumerate(posts)]
    page = x_connector.replies_to_posts(posts, None)
    assert sorted(reply.reply_id for reply in page.replies) == sorted(replies)
    # 20 terms of 35 characters: two queries within X's 512, not 20 searches
    assert control.state()["request_counts"]["GET /2/tweets/search/recent"] == 2
    assert x_connector.replies_to_posts(posts, page.cursor).replies == ()
