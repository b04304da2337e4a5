"""Followers, following, direct messages and privacy settings, reconciled to the policy on both
X plans; what the API cannot do ends up on a person's checklist, said plainly."""

from __future__ import annotations

import email
import email.policy
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


def test_where_the_school_turns_it_on_a_parent_links_by_a_public_mention(tmp_path):
    steward = reconciling_steward(tmp_path, link_by_public_mention=True)
    try:
        config = steward.root / "steward.toml"
        config.write_text(f'[paths]\nstate_dir = "{steward.state_dir}"\n\n'
                          '[followers]\nlink_by_public_mention = true\n')
        office_list = steward.root / "verified.csv"
        office_list.write_text("Name,Email\nA Parent,a.parent@example.org\n")
        assert main(["followers", "import-list", str(office_list), "--config", str(config)]) == 0
        assert main(["followers", "invite", "a.parent@example.org", "--account",
                     "OakfieldPrimary", "--config", str(config)]) == 0
        [mail] = list((steward.state_dir / "outbox" / "new").iterdir())
        assert "everyone who sees it can tell that you are a parent" in mail_text(mail)
        code = next(word for word in mail_text(mail).split() if word.startswith("STEWARD-"))
        requests.post(f"{steward.sandbox_url()}/_sandbox/events", json={
            "kind": "x.mention", "user_id": NEWCOMER, "text": f"Linking my account {code}"},
            timeout=5).raise_for_status()
        steward.service.reconciler.run(areas=("links", "followers"), platforms=["x"])
        assert NEWCOMER in steward.service.reconciler.registry.verified("x")
        [linked] = steward.events_named("follower.linked")
        assert linked["proof"] == "public mention"
        assert "a.parent" not in json.dumps(linked)
        assert "example.org" not in (steward.state_dir / "audit.jsonl").read_text()
        [row] = steward.service.store.query("SELECT status FROM followers WHERE user_id = ?",
                                            (NEWCOMER,))
        assert row["status"] == "verified-parent"
        steward.service.reconciler.run(areas=("links",), platforms=["x"])  # the code is spent
        assert len(steward.events_named("follower.linked")) == 1
    finally:
        steward.stop()


def mail_text(path) -> str:
    """An e-mail's body as the parent reads it (decoded from quoted-printable)."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return message.get_content()


def invited(steward, capsys) -> tuple[str, str, str, str]:
    """The office's list imported and a.parent@example.org invited: (config file, the code
    e-mailed, the e-mail's text, what `followers invite` printed)."""
    config = steward.root / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{steward.state_dir}"\n')
    office_list = steward.root / "verified.csv"
    office_list.write_text("Name,Email\nA Parent,a.parent@example.org\nB Parent,b@example.org\n")
    assert main(["followers", "import-list", str(office_list), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["followers", "invite", "a.parent@example.org", "--account", "OakfieldPrimary",
                 "--config", str(config)]) == 0
    printed = capsys.readouterr()
    [mail] = list((steward.state_dir / "outbox" / "new").iterdir())
    text = mail_text(mail)
    code = next(word for word in text.split() if word.startswith("STEWARD-"))
    return str(config), code, text, printed.out + printed.err


def bio(steward, user_id: str, text: str) -> None:
    requests.post(f"{steward.sandbox_url()}/_sandbox/events", json={
        "kind": "x.user", "user_id": user_id, "description": text},
        timeout=5).raise_for_status()


def confirm(capsys, config: str, email: str, handle: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["followers", "confirm", email, handle, "--config", config])
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def test_a_parent_links_their_account_by_the_code_in_their_bio_posting_nothing(
        tmp_path, capsys):
    steward = reconciling_steward(tmp_path)
    try:
        config, code, mail, printed = invited(steward, capsys)
        assert "Put this code anywhere in your X profile's bio" in mail
        assert "mention" not in mail and "post a reply" not in mail
        assert "steward followers confirm a.parent@example.org @THEIR_HANDLE" in printed
        assert "warning" not in printed
        bio(steward, NEWCOMER, f"Runner, baker. {code.lower()}")
        tweets_before = dict(steward.world()["x"]["tweets"])
        assert confirm(capsys, config, "a.parent@example.org", "@someonenew") == (
            0, f"linked @SomeoneNew (X user {NEWCOMER}) to a.parent@example.org. Tell the "
               "parent they can take the code out of their bio now.\n")
        assert NEWCOMER in steward.service.reconciler.registry.verified("x")
        [linked] = steward.events_named("follower.linked")
        assert linked["proof"] == "profile bio" and linked["user_id"] == NEWCOMER
        assert "example.org" not in (steward.state_dir / "audit.jsonl").read_text()
        assert steward.world()["x"]["tweets"] == tweets_before  # nothing was posted
        status, said = confirm(capsys, config, "a.parent@example.org", "SomeoneNew")
        assert status == 1 and "it was used already" in said
        assert "steward followers invite a.parent@example.org" in said
    finally:
        steward.stop()


def test_a_code_in_a_public_mention_links_nobody_unless_the_school_turns_it_on(
        tmp_path, capsys):
    steward = reconciling_steward(tmp_path)
    try:
        _, code, _, _ = invited(steward, capsys)
        requests.post(f"{steward.sandbox_url()}/_sandbox/events", json={
            "kind": "x.mention", "user_id": NEWCOMER, "text": f"Linking my account {code}"},
            timeout=5).raise_for_status()
        steward.service.reconciler.run(areas=("links", "followers"), platforms=["x"])
        assert NEWCOMER not in steward.service.reconciler.registry.verified("x")
        assert steward.events_named("follower.linked") == []
    finally:
        steward.stop()


@pytest.mark.parametrize("whose_bio, email, problem", [
    ("no code", "a.parent@example.org", "@SomeoneNew's bio holds no Steward code"),
    ("STEWARD-0000-0000", "a.parent@example.org", "it is not a code Steward issued"),
    ("the code", "b@example.org", "it was issued to another address"),
    ("the code", "c@example.org", "that address is not on the school office's verified list"),
])
def test_a_bio_without_a_usable_code_for_that_address_links_nobody(
        tmp_path, capsys, whose_bio, email, problem):
    steward = reconciling_steward(tmp_path)
    try:
        config, code, _, _ = invited(steward, capsys)
        bio(steward, NEWCOMER, code if whose_bio == "the code" else whose_bio)
        status, said = confirm(capsys, config, email, "@SomeoneNew")
        assert status == 1 and problem in said
        assert NEWCOMER not in steward.service.reconciler.registry.verified("x")
    finally:
        steward.stop()


def test_an_expired_code_in_a_bio_links_nobody(tmp_path, capsys):
    steward = reconciling_steward(tmp_path)
    try:
        config, code, _, _ = invited(steward, capsys)
        with steward.service.store.transaction() as db:
            db.execute("UPDATE invites SET expires_at = ?",
                       (timestamp(steward.clock.now() - timedelta(hours=1)),))
        bio(steward, NEWCOMER, code)
        status, said = confirm(capsys, config, "a.parent@example.org", "@SomeoneNew")
        assert status == 1 and "it has expired" in said
    finally:
        steward.stop()


def test_an_unknown_handle_is_said_plainly(tmp_path, capsys):
    steward = reconciling_steward(tmp_path)
    try:
        config, _, _, _ = invited(steward, capsys)
        status, said = confirm(capsys, config, "a.parent@example.org", "@NoSuchParent")
        assert status == 1 and "X has no account @NoSuchParent" in said
        status, said = confirm(capsys, config, "a.parent@example.org", "@not a handle")
        assert status == 1 and "is not an X handle" in said and "Traceback" not in said
    finally:
        steward.stop()


X_REFUSES_LOOKUPS = {
    "client_id": "1", "title": "Client Forbidden", "reason": "client-not-enrolled",
    "required_enrollment": "Appropriate Level of API Access",
    "registration_url": "https://developer.x.com/en/portal/product",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
              "and tokens from a Twitter developer App that is attached to a Project.",
    "type": "https://api.twitter.com/2/problems/client-forbidden"}


def test_where_x_refuses_this_app_profile_lookups_invite_and_confirm_name_the_alternatives(
        tmp_path, capsys):
    steward = reconciling_steward(tmp_path)
    try:
        steward.fault(method="GET", path="^/2/users/by/username/", status=403,
                      body=X_REFUSES_LOOKUPS, times=-1)  # every time
        config, code, _, printed = invited(steward, capsys)
        assert "warning: X refuses to let this app look up profiles" in printed
        assert "cannot check the parent's bio" in printed
        assert "X's Basic plan or above" in printed
        assert "set followers.link_by_public_mention = true" in printed
        assert "everyone sees that the parent is a parent at the school" in printed
        bio(steward, NEWCOMER, code)
        status, said = confirm(capsys, config, "a.parent@example.org", "@SomeoneNew")
        assert status == 1 and "X refuses to let this app look up @SomeoneNew" in said
        assert "client-not-enrolled" in said and "X's Basic plan or above" in said
    finally:
        steward.stop()


def test_a_rate_limit_mid_listing_resumes_from_the_same_page(tmp_path):
    extra = [str(4100000000000000000 + n) for n in range(2500)]
    world_with_followers(tmp_path / "steward", extra_followers=extra)
    steward = StewardUnderTest(tmp_path / "steward")
    steward.settings.moderation.enabled = False
    steward.settings.x.monthly_budget_usd = 100  # three full pages of followers cost $25.04
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
