"""The Connector protocol is the whole of what the daemon asks of a connector: every call the
daemon makes is declared there, both connectors offer all of it, and what they hand back is the
project's domain types, never a platform's JSON."""

from __future__ import annotations

import ast
import inspect
import re
import typing
from pathlib import Path

import pytest

from connectors import domain, protocol
from connectors.capabilities import Capabilities
from connectors.errors import Unsupported
from connectors.facebook import FacebookPageConnector
from connectors.protocol import OPTIONAL_PROTOCOLS, Connector
from connectors.x import XConnector
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_X_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = (Connector, *OPTIONAL_PROTOCOLS)


def protocol_members(kind: type) -> set[str]:
    """The attributes and methods a protocol declares (typing.get_protocol_members is 3.13+)."""
    return {name for name in (*kind.__annotations__, *vars(kind)) if not name.startswith("_")}


DECLARED = {name for kind in PROTOCOLS for name in protocol_members(kind)}


def _yields_a_connector(node: ast.AST) -> bool:
    """`...connectors[...]`, `...connectors.get(...)`: an expression that is one connector."""
    if isinstance(node, ast.Subscript):
        target = node.value
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "get":
        target = node.func.value
    else:
        return False
    return (isinstance(target, ast.Name) and target.id == "connectors") or (
        isinstance(target, ast.Attribute) and target.attr == "connectors")


def _connector_loop_targets(node: ast.For) -> set[str]:
    """`for name, connector in connectors.items()` / `for connector in connectors.values()`."""
    iterated = node.iter
    if not (isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute) and
            iterated.func.attr in ("items", "values")):
        return set()
    owner = iterated.func.value
    if not ((isinstance(owner, ast.Name) and owner.id == "connectors") or
            (isinstance(owner, ast.Attribute) and owner.attr == "connectors")):
        return set()
    target = node.target
    if iterated.func.attr == "items" and isinstance(target, ast.Tuple):
        target = target.elts[-1]
    return {target.id} if isinstance(target, ast.Name) else set()


def connector_uses(source: str) -> set[tuple[str, int]]:
    """(attribute, line) for everything read or called on a connector in `source`: on names
    bound to a connector within a function (assigned from the connectors mapping, looped over
    it, or a parameter called `connector`), on `connectors[...]` directly, and the names that
    `hasattr`/`getattr` ask a connector for."""
    uses = set()
    tree = ast.parse(source)
    scopes = [node for node in ast.walk(tree)
              if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)]
    for scope in [tree, *scopes]:
        names = {"connector"}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and _yields_a_connector(node.value):
                names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
            elif isinstance(node, ast.For):
                names |= _connector_loop_targets(node)
        for node in ast.walk(scope):
            if isinstance(node, ast.Attribute) and (
                    (isinstance(node.value, ast.Name) and node.value.id in names) or
                    _yields_a_connector(node.value)):
                uses.add((node.attr, node.lineno))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("hasattr", "getattr") and len(node.args) >= 2 and \
                    isinstance(node.args[0], ast.Name) and node.args[0].id in names and \
                    isinstance(node.args[1], ast.Constant):
                uses.add((str(node.args[1].value), node.lineno))
    return uses


def daemon_connector_uses() -> dict[str, set[str]]:
    """Attribute -> the daemon files (with lines) that use it on a connector."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "daemon").rglob("*.py")):
        for name, line in connector_uses(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(f"{path.relative_to(ROOT)}:{line}")
    return found


def test_every_call_the_daemon_makes_on_a_connector_is_declared_in_the_protocol():
    uses = daemon_connector_uses()
    undeclared = {name: sorted(where) for name, where in uses.items() if name not in DECLARED}
    assert undeclared == {}, "declare these in connectors/protocol.py (or stop calling them)"
    # the scan sees the daemon's calls: publishing, moderation, reconciling, credentials
    assert {"publish", "recent_posts", "replies", "hide", "block", "followers_page",
            "read_settings", "direct_messages", "refresh", "token_expiry"} <= set(uses)


def test_every_capability_the_daemon_reads_is_declared():
    read = set()
    for path in (ROOT / "daemon").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                    node.value.attr == "capabilities":
                read.add(node.attr)
    assert read and read <= set(Capabilities.__dataclass_fields__)


def test_the_scan_catches_a_call_that_is_not_declared():
    sample = ("def sweep(self, platform):\n"
              "    connector = self.connectors[platform]\n"
              "    connector.report_spam('1')\n"
              "    self.connectors['x'].pin_post('2')\n"
              "    for name, each in self.connectors.items():\n"
              "        if hasattr(each, 'shadow_ban'):\n"
              "            each.shadow_ban()\n")
    found = {name for name, _ in connector_uses(sample)}
    assert {"report_spam", "pin_post", "shadow_ban"} <= found
    assert not found & DECLARED


@pytest.fixture(params=["x", "facebook"])
def connector(request):
    if request.param == "x":
        return XConnector(**DEFAULT_X_CREDENTIALS)
    return FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS)


def test_each_connector_offers_the_whole_protocol_with_its_signatures(connector):
    assert isinstance(connector, Connector)
    for name in protocol_members(Connector):
        declared = getattr(Connector, name, None)
        if not callable(declared):
            continue
        offered = getattr(type(connector), name)
        assert list(inspect.signature(offered).parameters) == \
            list(inspect.signature(declared).parameters), name
        assert typing.get_type_hints(offered).get("return") == \
            typing.get_type_hints(declared, vars(protocol)).get("return"), name


def test_the_credential_protocols_are_where_the_platform_has_them():
    x = XConnector(**DEFAULT_X_CREDENTIALS)
    facebook = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS)
    assert isinstance(x, protocol.RefreshesTokens) and isinstance(x, protocol.RevocableToken)
    assert not isinstance(x, protocol.ExpiringToken)
    assert isinstance(facebook, protocol.ExpiringToken)
    assert not isinstance(facebook, protocol.RefreshesTokens)


def _names_in(annotation) -> set[type]:
    kinds = {annotation} if isinstance(annotation, type) else set()
    for argument in typing.get_args(annotation):
        kinds |= _names_in(argument)
    return kinds


def test_no_method_of_the_protocol_hands_back_a_platform_dict():
    for kind in PROTOCOLS:
        for name, member in vars(kind).items():
            if name.startswith("_") or not callable(member):
                continue
            returned = _names_in(typing.get_type_hints(member, vars(protocol)).get("return"))
            assert dict not in returned and typing.Any not in returned, name
            assert all(item.__module__ in ("builtins", "datetime", domain.__name__)
                       for item in returned), (name, returned)


@pytest.mark.parametrize(("call", "capability"), [
    (lambda c: c.mute("1"), "mute_users"),
    (lambda c: c.dm_block("1"), "block_direct_messages"),
    (lambda c: c.followers_page(None), "list_followers"),
    (lambda c: c.read_settings(), "read_settings"),
    (lambda c: c.mentions(None), "read_mentions"),
])
def test_what_a_page_cannot_do_is_refused_with_the_reason_its_capabilities_give(call,
                                                                                capability):
    facebook = FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS)
    assert not getattr(facebook.capabilities, capability)
    with pytest.raises(Unsupported, match=re.escape(facebook.capabilities.why_not[capability])):
        call(facebook)


def test_x_refuses_to_delete_someone_elses_reply_saying_why():
    x = XConnector(**DEFAULT_X_CREDENTIALS)
    reply = domain.Reply("x", "1", "2", "someone", "text", "1", None)
    with pytest.raises(Unsupported, match="X cannot delete a reply by someone else"):
        x.delete_reply(reply)
