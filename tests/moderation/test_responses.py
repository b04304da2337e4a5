"""The response table read against what each platform declares it can do: what Steward does
about an abusive reply, in which order, and what it says it could not do."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from config.loading import ConfigurationError, load_settings
from config.settings import ModerationSettings
from connectors.capabilities import Capabilities
from connectors.facebook import FacebookPageConnector
from connectors.x import XConnector
from daemon.moderation.moderator import STEPS, UNDO
from policies.moderation.responses import (
    DEFAULT_ACT,
    DEFAULT_REVIEW,
    NO_AUTHOR,
    PLATFORM_STEPS,
    RESPONSES,
    plan_responses,
    table_problems,
)
from sandbox.state import DEFAULT_X_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
X_BASIC = XConnector(**DEFAULT_X_CREDENTIALS, plan="basic").capabilities
X_ENTERPRISE = XConnector(**DEFAULT_X_CREDENTIALS, plan="enterprise").capabilities
FACEBOOK = FacebookPageConnector.capabilities
NOT_BLOCKED_ON_X = ("not blocked: blocking by API needs X's Enterprise plan (block by hand if "
                    "needed; see below)")


def plan(capabilities, platform, responses=DEFAULT_ACT, author_known=True, remove=False):
    return plan_responses(responses, capabilities, platform, author_known=author_known,
                          remove_instead_of_hide=remove)


def test_the_default_table_is_todays_behaviour_on_each_platform():
    assert plan(X_BASIC, "x").actions == ("evidence", "hide", "mute", "dm_block", "report")
    assert plan(X_BASIC, "x").not_done == (NOT_BLOCKED_ON_X,)
    assert plan(X_ENTERPRISE, "x").actions == (
        "evidence", "hide", "mute", "dm_block", "block", "report")
    assert plan(X_ENTERPRISE, "x").not_done == ()
    # a Page block also stops muting and messages being needed: nothing to say about them
    assert plan(FACEBOOK, "facebook").actions == ("evidence", "hide", "block", "report")
    assert plan(FACEBOOK, "facebook").not_done == ()


def test_remove_instead_of_hide_deletes_where_the_platform_can_and_says_where_it_cannot():
    assert plan(FACEBOOK, "facebook", remove=True).actions == (
        "evidence", "delete", "block", "report")
    on_x = plan(X_BASIC, "x", remove=True)
    assert on_x.actions == ("evidence", "hide", "mute", "dm_block", "report")
    assert on_x.not_done[0] == "X cannot delete a reply by someone else: hidden instead"


def test_an_unknown_author_is_not_sanctioned_and_the_report_says_why():
    unknown = plan(FACEBOOK, "facebook", author_known=False)
    assert unknown.actions == ("evidence", "hide", "report")
    assert unknown.not_done == (NO_AUTHOR,)


def test_a_new_platform_gets_moderation_by_declaring_its_capabilities():
    newcomer = Capabilities(max_images_per_post=4, max_text_length=500, hide_replies=True,
                            mute_users=True, why_not={"block_users": "Newsite has no blocks"})
    planned = plan(newcomer, "newsite")
    assert planned.actions == ("evidence", "hide", "mute", "report")
    assert planned.not_done == (
        "direct messages not blocked: newsite cannot block their messages by API (block their "
        "messages by hand if needed; see below)",
        "not blocked: Newsite has no blocks (block by hand if needed; see below)")


def test_the_school_orders_its_own_responses():
    order = ("evidence", "block", "hide", "report")
    assert plan(FACEBOOK, "facebook", order).actions == order
    assert plan(FACEBOOK, "facebook", ("evidence", "report")).actions == ("evidence", "report")


def test_restore_undoes_what_was_done_in_order_and_says_what_cannot_be_undone():
    assert plan(X_ENTERPRISE, "x").undo() == (
        ("unhide", "unhidden"), ("unmute", "unmuted"), ("unblock", "unblocked"))
    assert plan(FACEBOOK, "facebook").undo() == (("unhide", "unhidden"), ("unblock", "unblocked"))
    assert plan(FACEBOOK, "facebook", remove=True).undo() == (("unblock", "unblocked"),)


def test_every_response_that_changes_a_platform_has_a_step_and_its_undo_a_call():
    assert set(STEPS) == set(PLATFORM_STEPS)
    assert {RESPONSES[name].undo[0] for name in PLATFORM_STEPS if RESPONSES[name].undo} == \
        set(UNDO)
    assert all(RESPONSES[name].needs in Capabilities.__dataclass_fields__
               for name in PLATFORM_STEPS)


@pytest.mark.parametrize(("verdict", "responses", "problem"), [
    ("act", ["evidence", "shout", "report"], "item 2, 'shout', is not a response Steward knows"),
    ("act", ["evidence", "queue", "report"], "item 2, 'queue', cannot answer a verdict of 'act'"),
    ("act", ["evidence", "hide", "hide", "report"], "item 3, 'hide', is listed twice"),
    ("act", ["hide", "evidence", "report"], "must start with 'evidence'"),
    ("act", ["evidence", "hide"], "must end with 'report'"),
    ("act", ["evidence", "hide", "delete", "report"], "both 'hide' and 'delete'"),
    ("review", ["evidence"], "must end with 'queue'"),
    ("review", ["queue", "hide"], "item 2, 'hide', cannot answer a verdict of 'review'"),
])
def test_refuses_a_table_that_cannot_be_followed(verdict, responses, problem):
    assert any(problem in line for line in table_problems(verdict, responses))


def test_the_defaults_are_a_usable_table():
    assert table_problems("act", list(DEFAULT_ACT)) == []
    assert table_problems("review", list(DEFAULT_REVIEW)) == []
    assert table_problems("review", ["evidence", "queue"]) == []
    assert ModerationSettings().act_responses == list(DEFAULT_ACT)


def test_configuration_refuses_an_unknown_response_naming_its_path(tmp_path):
    config = tmp_path / "steward.toml"
    config.write_text('[moderation]\nact_responses = ["evidence", "hide", "shout", "report"]\n')
    with pytest.raises(ConfigurationError) as refused:
        load_settings(config)
    assert "moderation.act_responses: item 3, 'shout', is not a response Steward knows" in \
        str(refused.value)


def test_configuration_takes_the_schools_own_table(tmp_path):
    config = tmp_path / "steward.toml"
    config.write_text('[moderation]\nact_responses = ["evidence", "block", "report"]\n'
                      'review_responses = ["evidence", "queue"]\n')
    moderation = load_settings(config).moderation
    assert moderation.act_responses == ["evidence", "block", "report"]
    assert moderation.review_responses == ["evidence", "queue"]


def platform_branches(path: Path) -> list[str]:
    """Comparisons with a platform's name, and reads of a platform's own settings section."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            names = [part.value for part in (node.left, *node.comparators)
                     if isinstance(part, ast.Constant)]
            if {"x", "facebook"} & set(names):
                found.append(f"{path.name}:{node.lineno} compares with a platform's name")
        if isinstance(node, ast.Attribute) and node.attr in ("x", "facebook") and \
                isinstance(node.value, ast.Attribute) and node.value.attr == "settings":
            found.append(f"{path.name}:{node.lineno} reads settings.{node.attr}")
    return found


def test_moderation_has_no_branch_on_a_platforms_name():
    assert [problem for path in sorted((ROOT / "daemon" / "moderation").glob("*.py"))
            for problem in platform_branches(path)] == []


def test_the_branch_check_sees_a_branch_on_a_platforms_name(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('def act(self, reply):\n    if reply.platform == "facebook":\n'
                      '        pass\n    return self.settings.x.plan\n')
    assert len(platform_branches(sample)) == 2


def test_x_says_why_it_cannot_block_only_on_plans_without_blocking():
    assert "block_users" in X_BASIC.why_not and "block_users" not in X_ENTERPRISE.why_not
    assert replace(X_BASIC, block_users=True).block_users
