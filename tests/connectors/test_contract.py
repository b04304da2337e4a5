"""The contract: every operation of each connector, run against the strict sandbox, is served
(no 4xx but the answers an operation expects, such as a post X reads back as deleted), and every
X request Steward sends is one X's own OpenAPI specification allows, checked here against the
whole specification (in the shared fixtures), independently of the sandbox's distilled table.

A new operation in the connector protocol fails `test_every_operation_of_the_protocol_is_in_the
_contract` until it is exercised here."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from connectors.domain import Post
from connectors.errors import Unsupported
from connectors.facebook import FacebookPageConnector
from connectors.protocol import OPTIONAL_PROTOCOLS, Connector
from connectors.x import XConnector
from sandbox.state import DEFAULT_FACEBOOK_APP, DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_X_CREDENTIALS

PARENT, LIBRARY, STRANGER = "2000000000000000001", "2000000000000000002", "2000000000000000003"


def protocol_operations() -> set[str]:
    names = set()
    for protocol in (Connector, *OPTIONAL_PROTOCOLS):
        names |= {name for name in vars(protocol) if not name.startswith("_")
                  and callable(getattr(protocol, name))}
    return names


class Exchanges:
    """Every request a connector's session sent and the status it got."""

    def __init__(self, session: requests.Session) -> None:
        self.seen: list[requests.Response] = []
        session.hooks["response"].append(lambda response, *args, **kwargs:
                                         self.seen.append(response))

    def refused(self, allowed: frozenset | set[tuple[str, str, int]] = frozenset()) -> list[str]:
        return [f"{r.request.method} {urlsplit(r.request.url).path} -> {r.status_code}: "
                f"{r.text[:300]}" for r in self.seen if r.status_code >= 400
                and (r.request.method, urlsplit(r.request.url).path, r.status_code)
                not in allowed]


def exercise_x(connector, control, photo, *, enterprise: bool) -> set[str]:
    """Run every operation of the X connector once; return the names run."""
    control.event(kind="x.follow", user_id=PARENT, username="AParent")
    control.event(kind="x.following", user_id=LIBRARY, username="ALibrary")
    control.event(kind="x.dm", user_id=STRANGER, text="Hello school")
    control.event(kind="x.user", user_id=PARENT, description="STEWARD-1A2B-3C4D")
    ran = {"check"}
    connector.check()
    ref = connector.publish(Post("Checked against X's specification", (photo,)))
    ran |= {"publish"}
    reply_id = control.event(kind="x.reply", user_id=STRANGER, text="Lovely!",
                             in_reply_to=ref.remote_id)["id"]
    control.event(kind="x.mention", user_id=STRANGER, text="Hello")
    assert connector.get_post(ref.remote_id) is not None
    assert connector.recent_posts(datetime.now(UTC) - timedelta(minutes=5))
    [reply] = connector.replies(ref.remote_id, None).replies
    assert reply.reply_id == reply_id and reply.author_id == STRANGER
    together = connector.replies_to_posts([ref.remote_id, "1500000000000000009"], None)
    assert [item.reply_id for item in together.replies] == [reply_id]
    assert connector.replies_to_posts([ref.remote_id], together.cursor).replies == ()
    assert connector.mentions(None).replies
    connector.hide(reply)
    connector.unhide(reply.reply_id)
    with pytest.raises(Unsupported):
        connector.delete_reply(reply)
    connector.mute(STRANGER)
    connector.unmute(STRANGER)
    connector.dm_block(STRANGER)
    connector.dm_unblock(STRANGER)
    if enterprise:
        connector.block(STRANGER)
        connector.unblock(STRANGER)
    assert connector.followers_page(None).users
    assert connector.following()
    connector.unfollow(LIBRARY)
    assert connector.read_settings().protected is False
    [message] = connector.direct_messages(None)
    assert message.sender_id == STRANGER
    assert connector.direct_messages(message.message_id) == []
    with pytest.raises(Unsupported):
        connector.conversations()
    assert connector.profile("AParent").bio == "STEWARD-1A2B-3C4D"
    connector.delete(ref)
    assert connector.get_post(ref.remote_id) is None
    ran |= {"get_post", "recent_posts", "replies", "replies_to_posts", "mentions", "hide",
            "unhide", "delete_reply",
            "mute", "unmute", "dm_block", "dm_unblock", "block", "unblock", "followers_page",
            "following", "unfollow", "read_settings", "direct_messages", "conversations",
            "profile", "delete"}
    if not connector.user_auth:
        connector.refresh()
    connector.invalidate_token()
    return ran | {"refresh", "invalidate_token"}


def exercise_facebook(connector, control, photo) -> tuple[set[str], str]:
    """Run every operation of the Facebook connector once; return the names run and the
    deleted post's id (Meta answers reading it back with a 400, code 100)."""
    account = connector.check()
    ref = connector.publish(Post("Our new library", (photo, photo)))
    control.event(kind="facebook.comment", on=ref.remote_id, from_id=STRANGER, text="Lovely!")
    control.event(kind="facebook.message")
    assert connector.get_post(ref.remote_id).media_count == 2
    assert connector.recent_posts(datetime.now(UTC) - timedelta(minutes=5))
    [comment] = connector.replies(ref.remote_id, None).replies
    connector.hide(comment)
    connector.unhide(comment.reply_id)
    connector.block(STRANGER)
    connector.unblock(STRANGER)
    assert connector.conversations()
    connector.token_expiry()
    connector.delete_reply(comment)
    for unsupported in (lambda: connector.mentions(None), lambda: connector.mute(STRANGER),
                        lambda: connector.replies_to_posts([ref.remote_id], None),
                        lambda: connector.unmute(STRANGER), lambda: connector.dm_block(STRANGER),
                        lambda: connector.followers_page(None), connector.following,
                        lambda: connector.unfollow(STRANGER), connector.read_settings,
                        lambda: connector.direct_messages(None),
                        lambda: connector.profile("someone")):
        with pytest.raises(Unsupported):
            unsupported()
    connector.delete(ref)
    assert connector.get_post(ref.remote_id) is None
    assert account.account_id == DEFAULT_FACEBOOK_CREDENTIALS["page_id"]
    return {"check", "publish", "get_post", "recent_posts", "replies", "replies_to_posts",
            "hide", "unhide",
            "block", "unblock", "conversations", "token_expiry", "delete_reply", "mentions",
            "mute", "unmute", "dm_block", "followers_page", "following", "unfollow",
            "read_settings", "direct_messages", "profile", "delete"}, ref.remote_id


@pytest.fixture
def x_enterprise(sandbox):
    with sandbox.state.change() as world:
        world["x"]["plan"] = "enterprise"
    return XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=sandbox.url, plan="enterprise",
                      timeout=2.0)


@pytest.fixture
def x_oauth2(sandbox):
    with sandbox.state.change() as world:
        world["x"]["credentials"]["bearer_token"] = "sandbox-access-0"
        world["x"]["oauth2"] = {"client_id": "steward-client",
                                "refresh_token": "sandbox-refresh-0"}
    return XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=sandbox.url, timeout=2.0,
                      oauth2_access_token="sandbox-access-0",
                      oauth2_refresh_token="sandbox-refresh-0",
                      oauth2_client_id="steward-client")


@pytest.mark.parametrize("kind", ["basic", "enterprise", "oauth2"])
def test_every_x_operation_is_served_by_the_strict_sandbox(kind, request, control, photo):
    connector = request.getfixturevalue({"basic": "x_connector", "enterprise": "x_enterprise",
                                         "oauth2": "x_oauth2"}[kind])
    exchanges = Exchanges(connector.client.session)
    exercise_x(connector, control, photo, enterprise=kind == "enterprise")
    assert exchanges.refused() == []  # a deleted post: X answers 200 with `errors`


@pytest.mark.parametrize("requires_proof", [False, True])
def test_every_facebook_operation_is_served_by_the_strict_sandbox(sandbox, control, photo,
                                                                  requires_proof):
    with sandbox.state.change() as world:
        world["facebook"]["app"]["require_proof"] = requires_proof
    connector = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, **DEFAULT_FACEBOOK_APP,
                                      sandbox_url=sandbox.url, timeout=2.0)
    exchanges = Exchanges(connector.graph.session)
    _, deleted = exercise_facebook(connector, control, photo)
    assert exchanges.refused({("GET", f"/v25.0/{deleted}", 400)}) == []
    assert control.state()["facebook"]["tokens_in_urls"] == 0


def test_every_operation_of_the_protocol_is_in_the_contract(x_connector, control, photo,
                                                            sandbox, tmp_path):
    facebook = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, **DEFAULT_FACEBOOK_APP,
                                     sandbox_url=sandbox.url, timeout=2.0)
    ran = exercise_facebook(facebook, control, photo)[0] | exercise_x(
        x_connector, control, photo, enterprise=False) | exercise_instagram(sandbox, tmp_path)
    assert protocol_operations() - ran == set()


def exercise_instagram(sandbox, tmp_path) -> set[str]:
    """Publish on Instagram in its two steps (`PublishesInSteps`); return the names run."""
    import hashlib  # noqa: PLC0415

    from connectors.domain import Media  # noqa: PLC0415
    from connectors.instagram import InstagramConnector  # noqa: PLC0415
    from daemon.runtime.public_media import PublicMediaServer  # noqa: PLC0415
    from sandbox.state import DEFAULT_INSTAGRAM_USER_ID  # noqa: PLC0415
    from tests.media import plain_jpeg  # noqa: PLC0415

    media = PublicMediaServer(None).start()
    try:
        connector = InstagramConnector(
            instagram_user_id=DEFAULT_INSTAGRAM_USER_ID,
            page_access_token=DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"],
            media_host=media, sandbox_url=sandbox.url, timeout=2.0, sleep=lambda s: None)
        data = plain_jpeg(32, 32)
        (tmp_path / "ig.jpg").write_bytes(data)
        picture = Media(tmp_path / "ig.jpg", "The hall", "image/jpeg",
                        hashlib.sha256(data).hexdigest(), data)
        prepared = connector.prepare(Post("Open day", (picture,)))
        assert connector.prepared_state(prepared) == "ready"
        connector.publish_prepared(prepared)
        assert connector.prepared_state(prepared) == "published"
    finally:
        media.stop()
    return {"prepare", "prepared_state", "publish_prepared"}


# -- X's requests against X's whole specification -----------------------------------------------

def _operation(spec: dict, method: str, path: str) -> tuple[str, dict] | None:
    for template, operations in spec["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    return None


def _resolve(spec: dict, node):
    if isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _resolve(spec, target)
    return node


def test_every_x_request_steward_sends_is_one_xs_specification_allows(fixtures_dir, x_connector,
                                                                      control, photo):
    jsonschema = pytest.importorskip("jsonschema")
    spec = json.loads((fixtures_dir / "x-api" / "openapi.json").read_text(encoding="utf-8"))
    exchanges = Exchanges(x_connector.client.session)
    exercise_x(x_connector, control, photo, enterprise=False)
    outside_the_spec = {"/1.1/oauth/invalidate_token"}  # X's OAuth 1.0a guide
    checked = set()
    for response in exchanges.seen:
        sent = response.request
        parts = urlsplit(sent.url)
        if parts.path in outside_the_spec:
            continue
        found = _operation(spec, sent.method, parts.path)
        assert found is not None, f"{sent.method} {parts.path} is no operation of X's"
        template, operation = found
        declared = {parameter["name"]: parameter for parameter in
                    (_resolve(spec, item) for item in operation.get("parameters", []))}
        declared["tweet.fields"] = declared.get("post.fields", {})  # docs.x.com's name for it
        for name, value in parse_qsl(parts.query):
            assert name in declared, f"{template} has no query parameter {name}"
            schema = _resolve(spec, declared[name].get("schema", {}))
            if schema.get("type") == "array":
                enum = _resolve(spec, schema.get("items", {})).get("enum")
                assert enum is None or set(value.split(",")) <= set(enum), (template, name)
            elif schema.get("type") == "integer":
                assert schema.get("minimum", -1e18) <= int(value) <= schema.get("maximum", 1e18)
        if sent.body and "json" in sent.headers.get("Content-Type", ""):
            body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
            resolved = json.loads(json.dumps(body_schema))
            jsonschema.validate(json.loads(sent.body), _inline(spec, resolved))
        checked.add(f"{sent.method} {template}")
    assert {"GET /2/dm_events", "GET /2/tweets/search/recent", "POST /2/tweets",
            "GET /2/users/{id}/mentions", "POST /2/users/{id}/muting"} <= checked


def _inline(spec: dict, node):
    """The schema with every `$ref` replaced by what it names."""
    node = _resolve(spec, node)
    if isinstance(node, dict):
        return {key: _inline(spec, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(spec, item) for item in node]
    return node
