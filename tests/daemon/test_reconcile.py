"""Followers, following, direct messages and privacy settings, reconciled to the policy on both
X plans; what the API cannot do ends up on a person's checklist, said plainly."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from config.settings import OrganisationSettings
from daemon.cli.main import main
from daemon.runtime.store import timestamp
from sandbox.state import SandboxState
from tests.daemon.harness import StewardUnderTest

PARENT, ORGANISATION, NEWCOMER, STRANGER = "4000000000000000001", "4000000000000000002", \
    "4000000000000000003", "4000000000000000004"
PERSONAL = "4000000000000000005"


def world_with_followers(root, plan="basic", extra_followers=()):
    root.mkdir(parents=True, exist_ok=True)
    state = SandboxState(root / "sandbox-state.json")
    with state.change() as world:
        x = world["x"]
        x["plan"] = plan
        for user_id, username in ((PARENT, "AParent"), (ORGANISATION, "CountyLibraries"),
                                  (NEWCOMER, "SomeoneNew"), (STRANGER, "AStranger"),
                                  (PERSONAL, "ATeachersOwnAccount")):
            x["users"][user_id] = {"id": user_id, "username": username, "name": username}
        x["followers"] = [PARENT, ORGANISATION, NEWCOMER, STRANGER, *extra_followers]
        x["following"] = [ORGANISATION, PERSONAL]
        x["settings"].update({"protected": False, "geo_enabled": True})
        x["dm_events"].append({"id": "5000000000000000001", "event_type": "MessageCreate",
                               "text": "Can you tell me where the trip is staying?",
                               "sender_id": STRANGER, "created_at": "2026-11-22T09:00:00.000Z",
                               "dm_conversation_id": f"{STRANGER}-x"})
    return state


def reconciling_steward(tmp_path, plan="basic", **followers):
    world_with_followers(tmp_path / "steward", plan)
    steward = StewardUnderTest(tmp_path / "steward")
    settings = steward.settings
    settings.x.plan = plan
    settings.moderation.enabled = False
    settings.followers.organisations = [OrganisationSettings(
        handle="CountyLibraries", user_id=ORGANISATION, name="County Libraries",
        why="reading events")]
    for name, value in followers.items():
        setattr(settings.followers, name, value)
    settings.mail.administrators = ["it@oakfield.example"]
    settings.mail.esafety_lead = "esafety@oakfield.example"
    steward.start()
    with steward.service.store.transaction() as db:  # the parent linked their account earlier
        db.execute("INSERT INTO links VALUES ('x', ?, 'hash', 'AParent', ?)",
                   (PARENT, timestamp(steward.clock.now())))
        old = timestamp(steward.clock.now() - timedelta(days=30))
        db.execute("INSERT INTO followers VALUES ('x', ?, 'AStranger', ?, 'unverified-new')",
                   (STRANGER, old))
    return steward


def plan_json(steward, capsys, *flags) -> dict:
    config = steward.root / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{steward.state_dir}"\n')
    capsys.readouterr()
    assert main(["reconcile", "--json", *flags, "--config", str(config)]) == 0
    return json.loads(capsys.readouterr().out)


def outcome(plan, platform, area):
    return next(o for o in plan["outcomes"] if o["platform"] == platform and o["area"] == area)


def test_a_dry_run_plans_what_the_policy_requires_and_changes_nothing(tmp_path, capsys):
    steward = reconciling_steward(tmp_path)
    try:
        reconciler = steward.service.reconciler
        outcomes = reconciler.run(dry_run=True)
        followers = next(o for o in outcomes if o.platform == "x" and o.area == "followers")
        assert followers.counts["verified-parent"] == 1
        assert followers.counts["organisation"] == 1
        assert followers.counts["unverified-new"] == 1
        assert followers.counts["unverified-overdue"] == 1
        assert [a["handle"] for a in followers.actions] == ["AStranger"]
        assert followers.actions[0]["kind"] == "checklist"  # no removal API on self-serve plans
        following = next(o for o in outcomes if o.platform == "x" and o.area == "following")
        assert [a["handle"] for a in following.actions] == ["ATeachersOwnAccount"]
        dms = next(o for o in outcomes if o.platform == "x" and o.area == "direct_messages")
        assert dms.actions == [{"kind": "dm-block", "user_id": STRANGER}]
        world = steward.world()["x"]
        assert PERSONAL in world["following"] and world["dm_blocks"] == []
        assert reconciler.open_checklist() == []
    finally:
        steward.stop()


def test_an_enforcing_run_on_a_self_serve_plan_does_what_it_can_and_lists_the_rest(tmp_path):
    steward = reconciling_steward(tmp_path)
    try:
        outcomes = steward.service.reconciler.run()
        world = steward.world()["x"]
        assert PERSONAL not in world["following"]
        assert STRANGER in world["dm_blocks"]
        assert STRANGER in world["followers"]  # self-serve: cannot be removed by API
        checklist = " ".join(item["text"] for item in steward.service.reconciler.open_checklist())
        assert "@AStranger follows the school" in checklist
        assert "'protected account (only approved followers see posts)' is False" in checklist
        assert "cannot read 'location added to posts'" in checklist
        assert "gives no list of followers" in checklist  # Facebook
        [saved] = [e for e in steward.events_named("dm.received") if e["platform"] == "x"]
        assert saved["evidence_sha256"]
        outbox = list((steward.state_dir / "outbox" / "new").iterdir())
        assert len(outbox) == 2  # the DM alert, and the checklist
        assert outcomes
    finally:
        steward.stop()


def test_unchanged_accounts_cost_no_writes_and_no_mail_on_the_next_run(tmp_path):
    steward = reconciling_steward(tmp_path)
    try:
        steward.service.reconciler.run()
        outbox = len(list((steward.state_dir / "outbox" / "new").iterdir()))
        before = steward.service.store._db.total_changes
        steward.service.reconciler.run(areas=("followers",))
        assert steward.service.store._db.total_changes == before
        assert len(list((steward.state_dir / "outbox" / "new").iterdir())) == outbox
    finally:
        steward.stop()


def test_on_the_enterprise_plan_overdue_followers_are_removed_and_settings_are_for_a_person(
        tmp_path):
    steward = reconciling_steward(tmp_path, plan="enterprise", unverified_action="remove")
    try:
        steward.service.reconciler.run()
        world = steward.world()["x"]
        assert STRANGER not in world["followers"] and STRANGER not in world["blocks"]
        assert NEWCOMER in world["followers"]  # still within the grace period
        [removed] = steward.events_named("follower.removed")
        assert removed["user_id"] == STRANGER
        # X has no settings API on any plan, Enterprise included: a person changes them
        assert world["settings"]["protected"] is False
        assert not any(key.endswith("/settings") for key in steward.world()["request_counts"])
        [drifted] = steward.events_named("settings.drift")
        assert drifted["setting"] == "protected"
        checklist = " ".join(item["text"] for item in steward.service.reconciler.open_checklist())
        assert "Protect your posts (no platform lets Steward change it)" in checklist
    finally:
        steward.stop()


def test_above_the_cap_nobody_is_removed_and_the_administrator_is_told(tmp_path):
    steward = reconciling_steward(tmp_path, plan="enterprise", unverified_action="block",
                                  max_actions_per_run=0)
    try:
        steward.service.reconciler.run(areas=("followers",))
        assert steward.world()["x"]["blocks"] == []
        assert steward.events_named("followers.cap_reached")
    finally:
        steward.stop()


def test_a_parent_links_their_account_with_the_emailed_code(tmp_path):
    steward = reconciling_steward(tmp_path)
    try:
        config = steward.root / "steward.toml"
        config.write_text(f'[paths]\nstate_dir = "{steward.state_dir}"\n')
        office_list = steward.root / "verified.csv"
        office_list.write_text("Name,Email\nA Parent,a.parent@example.org\n")
        assert main(["followers", "import-list", str(office_list), "--config", str(config)]) == 0
        assert main(["followers", "invite", "a.parent@example.org", "--account",
                     "OakfieldPrimary", "--config", str(config)]) == 0
        [mail] = list((steward.state_dir / "outbox" / "new").iterdir())
        code = next(word for word in mail.read_text().split() if word.startswith("STEWARD-"))
        requests.post(f"{steward.sandbox_url()}/_sandbox/events", json={
            "kind": "x.mention", "user_id": NEWCOMER, "text": f"Linking my account {code}"},
            timeout=5).raise_for_status()
        steward.service.reconciler.run(areas=("links", "followers"), platforms=["x"])
        assert NEWCOMER in steward.service.reconciler.registry.verified("x")
        [linked] = steward.events_named("follower.linked")
        assert "a.parent" not in json.dumps(linked)
        assert "example.org" not in (steward.state_dir / "audit.jsonl").read_text()
        [row] = steward.service.store.query("SELECT status FROM followers WHERE user_id = ?",
                                            (NEWCOMER,))
        assert row["status"] == "verified-parent"
        steward.service.reconciler.run(areas=("links",), platforms=["x"])  # the code is spent
        assert len(steward.events_named("follower.linked")) == 1
    finally:
        steward.stop()


def test_a_rate_limit_mid_listing_resumes_from_the_same_page(tmp_path):
    extra = [str(4100000000000000000 + n) for n in range(2500)]
    world_with_followers(tmp_path / "steward", extra_followers=extra)
    steward = StewardUnderTest(tmp_path / "steward")
    steward.settings.moderation.enabled = False
    steward.start()
    try:
        steward.fault(method="GET", path="/followers$", status=429, reset_in=1, skip=1, times=1)
        first = steward.service.reconciler.run(areas=("followers",), platforms=["x"])[0]
        assert first.counts["pages"] == 1 and "paused" in first.notes[0]
        second = steward.service.reconciler.run(areas=("followers",), platforms=["x"])[0]
        assert second.counts["pages"] == 2
        rows = steward.service.store.query("SELECT COUNT(*) AS n FROM followers")
        assert rows[0]["n"] == 2504
        calls = steward.world()["request_counts"]
        followers_calls = sum(n for key, n in calls.items() if key.endswith("/followers"))
        assert followers_calls == 4  # page 1, the refused page 2, page 2 again, page 3
    finally:
        steward.stop()


def test_a_message_to_the_facebook_page_is_detected_and_reported(tmp_path):
    steward = reconciling_steward(tmp_path)
    try:
        requests.post(f"{steward.sandbox_url()}/_sandbox/events",
                      json={"kind": "facebook.message"}, timeout=5).raise_for_status()
        steward.service.reconciler.run(areas=("direct_messages", "settings"),
                                       platforms=["facebook"])
        assert [e for e in steward.events_named("dm.received") if e["platform"] == "facebook"]
        checklist = " ".join(i["text"] for i in steward.service.reconciler.open_checklist())
        assert "Page messaging" in checklist
    finally:
        steward.stop()


def test_a_person_confirms_a_checklist_item(tmp_path, capsys):
    steward = reconciling_steward(tmp_path)
    try:
        steward.service.reconciler.run(areas=("settings",), platforms=["facebook"])
    finally:
        steward.stop()
    config = steward.root / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{steward.state_dir}"\n')
    assert main(["reconcile", "--confirm", "settings:facebook:messaging", "--config",
                 str(config)]) == 0
    plan = plan_json(steward, capsys)
    assert "Page messaging" not in json.dumps(plan["checklist"])


@pytest.mark.parametrize("content, problem", [
    ("Email\nnot-an-address\n", "row 2: that is not an e-mail address"),
    ("Mail\na@b.org\n", "no column 'Email'"),
])
def test_a_bad_verified_list_is_refused_naming_the_row(tmp_path, capsys, content, problem):
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    path = tmp_path / "list.csv"
    path.write_text(content)
    assert main(["followers", "import-list", str(path), "--config", str(config)]) == 1
    assert problem in capsys.readouterr().err
