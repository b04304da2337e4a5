"""What X charges for each call Steward makes (docs.x.com pricing: reads per resource
returned, writes per request), as the connector reports it to the daemon's ledger."""

from __future__ import annotations

import pytest

from connectors.domain import Post
from connectors.x import XConnector
from connectors.x_costs import usage
from sandbox.state import DEFAULT_X_CREDENTIALS


@pytest.mark.parametrize("method, path, body, answer, expected", [
    ("GET", "/2/users/1/followers", None, {"data": [{"id": str(n)} for n in range(3)]},
     ("Following/Followers: Read", 3, 0.03)),
    ("GET", "/2/tweets/search/recent", None, {"meta": {"result_count": 0}},
     ("Posts: Read", 0, 0.0)),
    ("GET", "/2/dm_events", None, {"data": [{"id": "1"}]}, ("DM Event: Read", 1, 0.01)),
    ("POST", "/2/tweets", b'{"text": "Sports day"}', {"data": {"id": "1"}},
     ("Content: Create", 1, 0.015)),
    ("POST", "/2/tweets", b'{"text": "See https://oakfield.example/trip"}',
     {"data": {"id": "1"}}, ("Content: Create (with URL)", 1, 0.2)),
    ("POST", "/2/users/1/muting", b"{}", {"data": {"muting": True}},
     ("User Interaction: Create", 1, 0.015)),
    ("POST", "/2/media/upload/initialize", b"{}", {"data": {"id": "1"}},
     ("Content: Manage", 1, 0.005)),
    ("POST", "/2/media/upload/1/append", b"{}", {"data": {}}, ("Content: Manage", 1, 0.005)),
    ("POST", "/2/media/upload/1/finalize", None, {"data": {"id": "1"}},
     ("Content: Manage", 1, 0.005)),
    ("GET", "/2/media/upload", None, {"data": {"id": "1"}}, ("Media: Read", 1, 0.005)),
])
def test_prices_each_call_as_x_bills_it(method, path, body, answer, expected):
    charged = usage(method, path, 200, body, answer)
    assert (charged.cost_class, charged.units, charged.usd) == expected


def test_a_refused_call_and_oauth_cost_nothing():
    assert usage("GET", "/2/users/1/followers", 429, None, {}) is None
    assert usage("POST", "/2/oauth2/token", 200, None, {}) is None


def test_the_connector_reports_every_charged_call(sandbox, control, photo):
    charged = []
    connector = XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=sandbox.url,
                           on_usage=charged.append)
    control.event(kind="x.follow", user_id="4000000000000000001", username="AParent")
    connector.publish(Post("Our harvest festival https://oakfield.example", (photo,)))
    connector.followers_page(None, max_results=1)
    assert [(item.operation, item.usd) for item in charged] == [
        ("POST /2/media/upload", 0.005), ("POST /2/media/metadata", 0.005),
        ("POST /2/tweets", 0.2), ("GET /2/users/me", 0.01), ("GET /2/users/{id}/followers", 0.01)]
