"""The Facebook connector against Graph API response bodies from an independent project
(pyfacebook's test fixtures), served over loopback HTTP, and the sandbox's Graph answers
compared with them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.domain import Post
from connectors.facebook import FacebookPageConnector
from sandbox.server import Reply, SandboxServer, route
from sandbox.state import SandboxState


@pytest.fixture
def graph_fixtures(fixtures_dir):
    return fixtures_dir / "graph-api"


@pytest.fixture
def recorded_graph(graph_fixtures, tmp_path):
    """A loopback server that answers with the recorded bodies, as the Graph API would."""
    def body(name: str):
        def answer(request):
            if request.query.get("after"):  # the recording has one page; the next is empty
                return Reply(200, {"data": []})
            return Reply(200, json.loads((graph_fixtures / name).read_text()))
        return answer

    routes = [
        route("GET", r"/v25.0/20531316728", body("pages/single_fields_page.json")),
        route("GET", r"/v25.0/20531316728/published_posts",
              body("posts/feeds_default_fields_p1.json")),
        route("GET", r"/v25.0/175154750010052_424924701699721",
              body("posts/single_post_data_fields.json")),
    ]
    server = SandboxServer(SandboxState(None), routes).start()
    yield server
    server.stop()


@pytest.fixture
def connector(recorded_graph):
    return FacebookPageConnector(page_id="20531316728", page_access_token="recorded",
                                 sandbox_url=recorded_graph.url)


def test_reads_a_recorded_page(connector):
    account = connector.check()
    assert (account.account_id, account.handle, account.name) == (
        "20531316728", "facebookapp", "Facebook")


def test_reads_a_recorded_post(connector):
    post = connector.get_post("175154750010052_424924701699721")
    assert post.text.endswith("MyLife")
    assert post.created_at == datetime(2019, 8, 12, 3, 45, 11, tzinfo=UTC)
    assert post.media_count == 0


def test_reads_a_recorded_feed_page(connector, graph_fixtures):
    recorded = json.loads((graph_fixtures / "posts/feeds_default_fields_p1.json").read_text())
    posts = connector.recent_posts(datetime(2000, 1, 1, tzinfo=UTC))
    assert recorded["paging"]["next"] and len(posts) == len(recorded["data"])
    assert [post.ref.remote_id for post in posts] == [item["id"] for item in recorded["data"]]
    assert all(post.created_at is not None for post in posts)


def test_sandbox_posts_have_the_recorded_shape(facebook_connector, graph_fixtures, photo):
    ref = facebook_connector.publish(Post("Shape check", (photo,)))
    recorded = json.loads((graph_fixtures / "posts/single_post_data_fields.json").read_text())
    ours = facebook_connector.graph.get_object(ref.remote_id, fields="id,message,created_time")
    assert set(recorded) <= set(ours)
    assert ours["created_time"][-5:] == recorded["created_time"][-5:] == "+0000"
    feed = facebook_connector.graph.get_connections(
        facebook_connector.page_id, "published_posts", fields="id,message,created_time",
        since=int((datetime.now(UTC) - timedelta(minutes=5)).timestamp()))
    recorded_feed = json.loads((graph_fixtures / "posts/feeds_default_fields_p1.json").read_text())
    assert set(feed) <= set(recorded_feed) and "cursors" in recorded_feed["paging"]
