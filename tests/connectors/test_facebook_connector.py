"""The Facebook Page connector, with the real facebook-sdk client, against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.domain import Post
from connectors.errors import AuthenticationFailed, RateLimited, Rejected, TemporaryFailure
from connectors.facebook import FacebookPageConnector
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS


def test_sets_a_current_graph_api_version_the_sdk_would_refuse(facebook_connector):
    assert facebook_connector.graph.version == "v25.0"
    assert facebook_connector.check().name == "Oakfield Primary School"


def test_publishes_several_photos_as_one_post(facebook_connector, control, photo):
    ref = facebook_connector.publish(Post("Our new library", (photo, photo, photo)))
    post = control.state()["facebook"]["posts"][ref.remote_id]
    assert post["message"] == "Our new library"
    assert len(post["photos"]) == 3
    photos = control.state()["facebook"]["photos"]
    assert all(not item["published"] for item in photos.values())
    assert all(item["alt_text_custom"] == photo.alt_text for item in photos.values())
    assert facebook_connector.get_post(ref.remote_id).media_count == 3


def test_never_sends_a_place_or_coordinates(facebook_connector, control, photo):
    facebook_connector.publish(Post("On the residential trip", (photo,)))
    state = control.state()["facebook"]
    assert all(not item["location_parameters"] for item in state["posts"].values())
    assert all(not item["location_parameters"] for item in state["photos"].values())


def test_captures_the_usage_headers_for_rate_limiting(facebook_connector):
    facebook_connector.check()
    assert "call_count" in facebook_connector.usage["x-app-usage"]


def test_finds_recent_posts_and_reads_deleted_ones_as_none(facebook_connector):
    ref = facebook_connector.publish(Post("Parents' evening reminder"))
    recent = facebook_connector.recent_posts(datetime.now(UTC) - timedelta(minutes=1))
    assert [post.ref for post in recent] == [ref]
    facebook_connector.delete(ref)
    assert facebook_connector.get_post(ref.remote_id) is None


def test_an_expired_page_token_becomes_authentication_failed(sandbox):
    credentials = DEFAULT_FACEBOOK_CREDENTIALS | {"page_access_token": "expired"}
    connector = FacebookPageConnector(**credentials, sandbox_url=sandbox.url)
    with pytest.raises(AuthenticationFailed, match="code 190"):
        connector.check()


def test_an_old_graph_api_version_is_refused_by_the_platform(sandbox):
    connector = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, sandbox_url=sandbox.url,
                                      graph_version="v2.8")
    with pytest.raises(Rejected, match="2635"):
        connector.check()


def test_throttling_becomes_rate_limited_with_the_wait_from_the_usage_header(
        facebook_connector, control):
    usage = '{"100000000000001": [{"type": "pages", "estimated_time_to_regain_access": 7}]}'
    control.fault(method="POST", path="/feed$", status=400,
                  body={"error": {"message": "(#32) Page request limit reached", "code": 32,
                                  "type": "OAuthException"}},
                  headers={"x-business-use-case-usage": usage})
    with pytest.raises(RateLimited) as caught:
        facebook_connector.publish(Post("Busy day"))
    assert caught.value.retry_after == 7 * 60


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_on_create_are_temporary_and_ambiguous(facebook_connector, control, status):
    control.fault(method="POST", path="/feed$", status=status)
    with pytest.raises(TemporaryFailure) as caught:
        facebook_connector.publish(Post("Server trouble"))
    assert caught.value.ambiguous


def test_an_html_error_page_is_a_temporary_failure(facebook_connector, control):
    control.fault(method="GET", path="^/v25.0/100000000000001$", status=502,
                  raw_body="<html>Bad gateway</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(TemporaryFailure):
        facebook_connector.check()


def test_malformed_json_is_a_temporary_failure(facebook_connector, control):
    control.fault(method="GET", path="^/v25.0/100000000000001$", status=200, raw_body="{oops")
    with pytest.raises(TemporaryFailure, match="could not read"):
        facebook_connector.check()


def test_a_timeout_on_create_is_ambiguous(facebook_connector, control):
    control.fault(method="POST", path="/feed$", delay=4)
    with pytest.raises(TemporaryFailure, match="in time") as caught:
        facebook_connector.publish(Post("Slow"))
    assert caught.value.ambiguous


def test_a_connection_reset_is_a_temporary_failure(facebook_connector, control):
    control.fault(method="GET", path="^/v25.0/100000000000001$", drop=True)
    with pytest.raises(TemporaryFailure, match="connection"):
        facebook_connector.check()


def test_a_permission_error_needs_a_person(facebook_connector, control):
    control.fault(method="POST", path="/feed$", status=403,
                  body={"error": {"message": "(#200) Requires pages_manage_posts", "code": 200,
                                  "type": "OAuthException"}})
    with pytest.raises(AuthenticationFailed):
        facebook_connector.publish(Post("No permission"))


@pytest.mark.parametrize("status, error", [
    (401, AuthenticationFailed), (404, Rejected), (429, RateLimited)])
def test_http_statuses_map_to_project_errors(facebook_connector, control, status, error):
    control.fault(method="GET", path="^/v25.0/100000000000001$", status=status)
    with pytest.raises(error):
        facebook_connector.check()


def test_a_delete_the_app_may_never_make_is_unsupported_not_retried(facebook_connector, control):
    """Graph's code 3 ("Application does not have the capability"): a person must delete the
    post; a takedown puts it on the checklist instead of asking again forever."""
    from connectors.errors import Unsupported  # noqa: PLC0415

    ref = facebook_connector.publish(Post("Sports day"))
    control.fault(method="DELETE", path=r"/[\d_]+$", status=400,
                  body={"error": {"message": "(#3) Application does not have the capability "
                                  "to make this API call.", "code": 3,
                                  "type": "OAuthException"}})
    with pytest.raises(Unsupported, match="a person must do it on facebook.com"):
        facebook_connector.delete(ref)
