"""A fault in a connector's own code is a bug, not an outage: an answer of a shape the connector
does not know (injected at the wire by the sandbox) raises ConnectorBug, logged with its
traceback, never TemporaryFailure, which the daemon would retry as if the platform were down.
A body that is not JSON at all is still the platform's fault (tests/reliability/test_fault_matrix)."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from connectors.domain import AccountSettings, DirectMessage, FollowerPage, PlatformUser, Post
from connectors.errors import ConnectorBug, TemporaryFailure

UNKNOWN_SHAPE = json.dumps({"data": {"note": "no id here"}})


def test_an_x_answer_of_an_unknown_shape_is_a_bug_not_an_outage(x_connector, control):
    x_connector.check()
    control.fault(method="POST", path=r"^/2/tweets$", status=200, raw_body=UNKNOWN_SHAPE)
    with capture_logs() as logged, pytest.raises(ConnectorBug) as raised:
        x_connector.publish(Post("Our choir sang beautifully"))
    bug = raised.value
    assert not isinstance(bug, TemporaryFailure)
    assert (bug.platform, bug.error_class, bug.ambiguous) == ("x", "KeyError", True)
    assert isinstance(bug.__cause__, KeyError)
    assert "not an outage" in bug.message and "create the post" in bug.message
    [line] = [entry for entry in logged if entry["event"] == "connector.bug"]
    assert line["log_level"] == "error" and line["error_class"] == "KeyError"
    assert "connectors/x.py" in line["traceback"] and "missing key 'id'" in line["traceback"]


def test_a_facebook_answer_of_an_unknown_shape_is_a_bug_not_an_outage(facebook_connector,
                                                                       control):
    control.fault(method="POST", path=r"/feed$", status=200, raw_body='{"post": "made"}')
    with pytest.raises(ConnectorBug) as raised:
        facebook_connector.publish(Post("Our choir sang beautifully"))
    assert (raised.value.platform, raised.value.error_class) == ("facebook", "KeyError")
    assert raised.value.ambiguous


def test_a_follower_without_a_handle_is_a_bug_raised_inside_the_connector(x_connector, control):
    x_connector.check()
    control.fault(method="GET", path=r"/followers$", status=200,
                  raw_body=json.dumps({"data": [{"id": "4000000000000000009"}]}))
    with pytest.raises(ConnectorBug) as raised:
        x_connector.followers_page(None)
    assert raised.value.error_class == "KeyError" and not raised.value.ambiguous


def test_the_log_of_a_bug_never_repeats_what_the_platform_sent(x_connector, control):
    x_connector.check()
    words = "you are a disgrace Mr Example"
    control.fault(method="GET", path=r"^/2/dm_events$", status=200, raw_body=json.dumps(
        {"data": [{"id": "5000000000000000002", "event_type": "MessageCreate", "text": "hi",
                   "sender_id": "4000000000000000004", "created_at": words}]}))
    with capture_logs() as logged, pytest.raises(ConnectorBug) as raised:
        x_connector.direct_messages(None)
    assert raised.value.error_class == "ValueError"
    assert words not in json.dumps(logged, default=str)
    assert words not in raised.value.message


def test_an_x_setting_of_an_unknown_type_is_a_bug_not_a_guess(x_connector, control):
    control.fault(method="GET", path=r"^/2/users/me$", status=200, raw_body=json.dumps(
        {"data": {"id": "1500000000000000001", "username": "OakfieldPrimary",
                  "name": "Oakfield Primary School", "protected": "yes"}}))
    with pytest.raises(ConnectorBug) as raised:
        x_connector.read_settings()
    assert raised.value.error_class == "TypeError"


def test_connectors_hand_back_domain_types(x_connector, sandbox):
    with sandbox.state.change() as world:
        x = world["x"]
        x["users"]["4000000000000000001"] = {"id": "4000000000000000001",
                                             "username": "AParent", "name": "A Parent"}
        x["followers"] = ["4000000000000000001"]
        x["dm_events"].append({"id": "5000000000000000001", "event_type": "MessageCreate",
                               "text": "Hello", "sender_id": "4000000000000000001",
                               "created_at": "2026-11-22T09:00:00.000Z",
                               "dm_conversation_id": "4000000000000000001-x"})
    x_connector.check()
    page = x_connector.followers_page(None)
    assert page == FollowerPage((PlatformUser("4000000000000000001", "AParent", "A Parent"),),
                                None)
    [message] = x_connector.direct_messages(None)
    assert isinstance(message, DirectMessage)
    assert (message.message_id, message.sender_id, message.text) == (
        "5000000000000000001", "4000000000000000001", "Hello")
    assert message.created_at is not None and message.created_at.year == 2026
    settings = x_connector.read_settings()
    assert isinstance(settings, AccountSettings)
    assert settings.observed() == {"protected": False}
