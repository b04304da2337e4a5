"""X bills per call: what Steward spends is recorded per operation, kept within a monthly
budget, and the hourly follower check costs cents, not the $480 a day of a full scan."""

from __future__ import annotations

import requests

from connectors.x_costs import Usage
from daemon.cli.main import main
from daemon.runtime.spend import SpendLedger
from sandbox.state import SandboxState
from tests.daemon.harness import StewardUnderTest

FIRST = 4100000000000000000


def steward_with_followers(tmp_path, count: int, budget: float = 50.0) -> StewardUnderTest:
    root = tmp_path / "steward"
    root.mkdir(parents=True)
    with SandboxState(root / "sandbox-state.json").change() as world:
        world["x"]["followers"] = [str(FIRST + n) for n in range(count)]
    steward = StewardUnderTest(root)
    steward.settings.moderation.enabled = False
    steward.settings.x.monthly_budget_usd = budget
    steward.start()
    return steward


def an_hour_passes(steward: StewardUnderTest) -> None:
    """The sandbox's 15-minute rate windows are over, as they are an hour later on X."""
    with steward.service.sandbox.state.change() as world:
        world["x"]["rate_windows"] = {}


def a_new_follower(steward: StewardUnderTest, user_id: str) -> None:
    requests.post(f"{steward.sandbox_url()}/_sandbox/events", timeout=5,
                  json={"kind": "x.follow", "user_id": user_id}).raise_for_status()


def test_an_hourly_follower_check_of_2000_followers_with_20_new_a_day_costs_under_50_cents(
        tmp_path):
    steward = steward_with_followers(tmp_path, 2000)
    try:
        reconciler = steward.service.reconciler
        ledger = SpendLedger(steward.state_dir, steward.clock)
        [first] = reconciler.run(areas=("followers",), platforms=["x"])
        assert first.counts["full_scan"] == 1  # a list never read: $20, once a month
        before = ledger.month().total_usd
        for hour in range(24):
            if hour < 20:
                a_new_follower(steward, str(FIRST + 5000 + hour))
            an_hour_passes(steward)
            [check] = reconciler.run(areas=("followers",), platforms=["x"])
            assert check.counts["full_scan"] == 0 and check.counts["new"] == (hour < 20)
        day = ledger.month().total_usd - before
        print(f"hourly follower checks for a day: ${day:.2f} (a full scan each hour: "
              f"${24 * 2020 * 0.01:.2f}; ratio {24 * 2020 * 0.01 / day:.0f}x)")
        assert day < 0.50
        rows = steward.service.store.query("SELECT COUNT(*) AS n FROM followers")
        assert rows[0]["n"] == 2020
    finally:
        steward.stop()


def test_steward_status_shows_the_month_s_x_spend_and_the_budget(tmp_path, capsys):
    steward = steward_with_followers(tmp_path, 30, budget=5.0)
    try:
        steward.service.reconciler.run(areas=("followers",), platforms=["x"])
    finally:
        steward.stop()
    config = steward.root / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{steward.state_dir}"\n\n[x]\n'
                      'monthly_budget_usd = 5.0\n')
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    shown = capsys.readouterr().out
    assert "X spend this month" in shown and "of the $5.00 budget (within budget)" in shown
    assert "GET /2/users/{id}/followers: $0.30 (30 x Following/Followers: Read" in shown


def test_at_80_percent_the_administrators_are_warned_once_and_at_100_scans_stop(tmp_path):
    steward = steward_with_followers(tmp_path, 30, budget=1.0)
    try:
        steward.settings.mail.administrators = ["it@oakfield.example"]
        ledger = SpendLedger(steward.state_dir, steward.clock)
        ledger.record(Usage("GET /2/users/{id}/followers", "Following/Followers: Read", 85, 0.85))
        reconciler = steward.service.reconciler
        reconciler.run(areas=("followers",), platforms=["x"])
        reconciler.run(areas=("followers",), platforms=["x"])
        assert len(steward.events_named("budget.warning")) == 1
        ledger.record(Usage("GET /2/users/{id}/followers", "Following/Followers: Read", 20, 0.20))
        calls = steward.world()["request_counts"].get(
            f"GET /2/users/{steward.service.connectors['x'].check().account_id}/followers", 0)
        [paused] = reconciler.run(areas=("followers",), platforms=["x"])
        assert "budget is used up" in paused.notes[0]
        assert steward.world()["request_counts"].get(
            f"GET /2/users/{steward.service.connectors['x'].check().account_id}/followers",
            0) == calls
    finally:
        steward.stop()


def test_a_full_scan_that_reaches_the_budget_pauses_and_goes_on_next_month_from_its_page(
        tmp_path):
    steward = steward_with_followers(tmp_path, 2500, budget=15.0)
    try:
        [scan] = steward.service.reconciler.run(areas=("followers",), platforms=["x"])
        assert scan.counts["pages"] == 2  # $10 a page of 1,000: over $15 after the second
        assert "budget is used up; continues from there next month" in scan.notes[0]
        assert steward.service.store.cursor("x", "followers:next")
    finally:
        steward.stop()


def test_yesterdays_spend_goes_into_the_audit_log_once_for_the_governors_report(tmp_path):
    from datetime import timedelta  # noqa: PLC0415

    from daemon.runtime.clock import FixedClock  # noqa: PLC0415

    steward = steward_with_followers(tmp_path, 3)
    try:
        yesterday = FixedClock(steward.clock.now() - timedelta(days=1))
        SpendLedger(steward.state_dir, yesterday).record(
            Usage("POST /2/tweets", "Content: Create (with URL)", 1, 0.2))
        reconciler = steward.service.reconciler
        reconciler.run(areas=("followers",), platforms=["x"])
        reconciler.run(areas=("followers",), platforms=["x"])
        [spent] = steward.events_named("spend.daily")
        assert (spent["day"], spent["usd"], spent["operations"]) == (
            yesterday.now().strftime("%Y-%m-%d"), 0.2, {"POST /2/tweets": 0.2})
    finally:
        steward.stop()
