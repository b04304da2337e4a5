"""The sandbox refuses what X refuses: requests outside X's OpenAPI specification, bad OAuth
signatures, made-up pagination tokens, more calls than X's rate limits allow. Each of Steward's
old mistakes is sent here in its old shape, signed as tweepy signs it, and refused as X would."""

from __future__ import annotations

import pytest
import requests
from requests_oauthlib import OAuth1

from connectors.domain import Post
from sandbox.state import DEFAULT_X_CREDENTIALS

ME = DEFAULT_X_CREDENTIALS["access_token"].split("-", 1)[0]


def signed(credentials: dict[str, str] | None = None) -> OAuth1:
    """OAuth 1.0a user context, signed with HMAC-SHA1 as tweepy signs it."""
    values = credentials or DEFAULT_X_CREDENTIALS
    return OAuth1(values["consumer_key"], values["consumer_secret"], values["access_token"],
                  values["access_token_secret"])


def call(sandbox, method: str, path: str, auth: OAuth1 | None = None,
         **arguments) -> requests.Response:
    return requests.request(method, sandbox.url + path, auth=auth or signed(), timeout=5,
                            **arguments)


def x_messages(response: requests.Response) -> list[str]:
    body = response.json()
    assert body["title"] == "Invalid Request"
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    return [error["message"] for error in body["errors"]]


# -- the mistakes of issue 19, in their old shapes -------------------------------------------------

def test_refuses_since_id_on_dm_events_which_x_does_not_have(sandbox):
    old = {"dm_event.fields": "id,text,created_at,dm_conversation_id,event_type",
           "max_results": 100, "since_id": "5000000000000000001"}
    response = call(sandbox, "GET", "/2/dm_events", params=old)
    assert response.status_code == 400
    [message] = x_messages(response)
    assert message.startswith("The query parameter [since_id] is not one of [")


def test_refuses_sender_id_as_a_dm_event_field_but_takes_it_as_an_expansion(sandbox):
    old = call(sandbox, "GET", "/2/dm_events", params={"dm_event.fields": "id,sender_id"})
    assert old.status_code == 400
    assert "`dm_event.fields` query parameter value [id,sender_id]" in x_messages(old)[0]
    new = call(sandbox, "GET", "/2/dm_events", params={"expansions": "sender_id"})
    assert new.status_code == 200


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_has_no_account_settings_endpoint_as_x_has_none(sandbox, method):
    response = call(sandbox, method, "/2/users/me/settings", json={"protected": True}
                    if method == "PUT" else None)
    assert response.status_code in (404, 405)


def test_refuses_author_id_as_a_post_field_but_takes_it_as_an_expansion(sandbox):
    old = {"query": "conversation_id:1500000000000000009", "max_results": 100,
           "tweet.fields": "author_id,created_at,conversation_id,in_reply_to_user_id"}
    response = call(sandbox, "GET", "/2/tweets/search/recent", params=old)
    assert response.status_code == 400
    assert "`tweet.fields` query parameter value" in x_messages(response)[0]
    new = {"query": "conversation_id:1500000000000000009", "max_results": 100,
           "tweet.fields": "created_at,conversation_id", "expansions": "author_id"}
    assert call(sandbox, "GET", "/2/tweets/search/recent", params=new).status_code == 200


# -- the specification: parameters, values, bodies ----------------------------------------------

@pytest.mark.parametrize("path, params, says", [
    (f"/2/users/{ME}/followers", {"max_results": 1001}, "is not between 1 and 1000"),
    (f"/2/users/{ME}/mentions", {"max_results": 4}, "is not between 5 and 100"),
    ("/2/tweets/search/recent", {"query": "conversation_id:1", "max_results": 5},
     "is not between 10 and 100"),
    ("/2/tweets/search/recent", {}, "The `query` query parameter can not be empty"),
    (f"/2/users/{ME}/followers", {"pagination_token": "100"}, "is shorter than 16 characters"),
    ("/2/users/not-a-number/followers", {}, "does not match ^[0-9]{1,19}$"),
    (f"/2/users/{ME}/tweets", {"start_time": "yesterday"}, "is not a valid RFC 3339"),
])
def test_refuses_values_out_of_the_specifications_range(sandbox, path, params, says):
    response = call(sandbox, "GET", path, params=params)
    assert response.status_code == 400
    assert says in x_messages(response)[0]


@pytest.mark.parametrize("body, says", [
    ({"text": "Hello", "place_id": "abc"}, "$.place_id: is not defined in the schema"),
    ({"text": 42}, "$.text: integer found, string expected"),
    ({"text": "Hi", "reply_settings": "everyone"}, "$.reply_settings: does not have a value"),
    ({"text": "Hi", "media": {"media_ids": ["1", "2", "3", "4", "5"]}},
     "$.media.media_ids: there must be a maximum of 4 items"),
])
def test_refuses_a_post_body_the_specification_does_not_allow(sandbox, body, says):
    response = call(sandbox, "POST", "/2/tweets", json=body)
    assert response.status_code == 400
    assert any(message.startswith(says) for message in x_messages(response))


def test_takes_a_multipart_media_upload_which_the_specification_allows(sandbox, photo):
    response = call(sandbox, "POST", "/2/media/upload",
                    data={"media_category": "tweet_image"},
                    files={"media": ("photo.png", photo.data, "image/png")})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"]


# -- credentials ----------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", ["consumer_secret", "access_token_secret"])
def test_a_signature_made_with_a_wrong_secret_gets_xs_401(sandbox, wrong):
    credentials = DEFAULT_X_CREDENTIALS | {wrong: "not-the-secret"}
    response = call(sandbox, "GET", "/2/users/me", auth=signed(credentials))
    assert response.status_code == 401
    assert response.json() == {"title": "Unauthorized", "detail": "Unauthorized",
                               "type": "about:blank", "status": 401}


def test_a_signature_does_not_cover_a_query_changed_after_signing(sandbox):
    prepared = requests.Request("GET", f"{sandbox.url}/2/users/me",
                                params={"user.fields": "protected"}, auth=signed()).prepare()
    prepared.url = prepared.url.replace("protected", "created_at")
    with requests.Session() as session:
        assert session.send(prepared, timeout=5).status_code == 401


def test_an_unknown_bearer_token_gets_401(sandbox):
    response = requests.get(f"{sandbox.url}/2/users/me", timeout=5,
                            headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 401


# -- pagination and rate limits -----------------------------------------------------------------

def test_pagination_tokens_are_opaque_and_only_good_where_they_were_given(sandbox, control):
    with sandbox.state.change() as world:
        world["x"]["followers"] = [str(4100000000000000000 + n) for n in range(30)]
    first = call(sandbox, "GET", f"/2/users/{ME}/followers", params={"max_results": 10}).json()
    token = first["meta"]["next_token"]
    assert len(token) >= 16 and not token.isdigit()
    second = call(sandbox, "GET", f"/2/users/{ME}/followers",
                  params={"max_results": 10, "pagination_token": token}).json()
    assert second["data"][0]["id"] == str(4100000000000000019)  # newest first, as on X
    elsewhere = call(sandbox, "GET", f"/2/users/{ME}/following", params={"pagination_token": token})
    assert elsewhere.status_code == 400


def test_followers_are_limited_to_xs_15_requests_per_15_minutes(sandbox):
    answers = [call(sandbox, "GET", f"/2/users/{ME}/followers") for _ in range(16)]
    assert [answer.status_code for answer in answers] == [200] * 15 + [429]
    assert answers[0].headers["x-rate-limit-limit"] == "15"
    assert answers[14].headers["x-rate-limit-remaining"] == "0"
    assert int(answers[15].headers["x-rate-limit-reset"]) > 0


@pytest.mark.parametrize("path, limit", [("/2/dm_events", "300"), ("/2/users/me", "75")])
def test_documented_rate_limits_are_in_the_headers(sandbox, path, limit):
    assert call(sandbox, "GET", path).headers["x-rate-limit-limit"] == limit


def test_mutes_are_limited_to_50(sandbox, x_connector):
    x_connector.mute("4000000000000000001")
    response = call(sandbox, "POST", f"/2/users/{ME}/muting",
                    json={"target_user_id": "4000000000000000002"})
    assert response.headers["x-rate-limit-limit"] == "50"
    assert response.headers["x-rate-limit-remaining"] == "48"


def test_the_connectors_own_requests_pass(x_connector, photo):
    x_connector.publish(Post("Harvest festival", (photo,)))
    assert x_connector.direct_messages(None) == []


def test_a_signed_request_sent_twice_is_refused_as_a_replay(sandbox):
    prepared = requests.Request("GET", f"{sandbox.url}/2/users/me", auth=signed()).prepare()
    with requests.Session() as session:
        assert session.send(prepared, timeout=5).status_code == 200
        assert session.send(prepared, timeout=5).status_code == 401


def test_a_signature_from_an_hour_ago_is_refused(sandbox):
    import time  # noqa: PLC0415

    auth = OAuth1(DEFAULT_X_CREDENTIALS["consumer_key"], DEFAULT_X_CREDENTIALS["consumer_secret"],
                  DEFAULT_X_CREDENTIALS["access_token"],
                  DEFAULT_X_CREDENTIALS["access_token_secret"],
                  timestamp=str(int(time.time()) - 3600))
    assert call(sandbox, "GET", "/2/users/me", auth=auth).status_code == 401
