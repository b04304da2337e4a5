"""The sandbox itself: state that survives restarts, scenarios, events, faults, its CLI."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from connectors.domain import Post
from connectors.x import XConnector
from sandbox.app import start_sandbox
from sandbox.scenario import load_scenario
from sandbox.state import DEFAULT_X_CREDENTIALS


def test_state_survives_a_restart(tmp_path):
    state_file = tmp_path / "state.json"
    first = start_sandbox(state_file=state_file)
    ref = XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=first.url).publish(Post("Persisted"))
    first.stop()
    second = start_sandbox(state_file=state_file)
    try:
        assert XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=second.url).get_post(
            ref.remote_id).text == "Persisted"
    finally:
        second.stop()


def test_a_scenario_applies_accounts_now_and_events_later(tmp_path):
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        '[x.account]\nusername = "HillsideInfants"\n\n'
        '[[events]]\nkind = "x.follow"\nuser_id = "3000000000000000001"\nusername = "APTA"\n\n'
        '[[events]]\nat = 0.5\nkind = "x.dm"\nuser_id = "3000000000000000002"\n'
        'text = "Hello school"\n')
    server = start_sandbox(scenario_file=scenario)
    try:
        state = requests.get(f"{server.url}/_sandbox/state", timeout=5).json()
        assert state["x"]["users"][state["x"]["me"]]["username"] == "HillsideInfants"
        assert state["x"]["followers"] == ["3000000000000000001"]
        assert state["x"]["dm_events"] == []
        deadline = time.monotonic() + 10
        while not state["x"]["dm_events"] and time.monotonic() < deadline:  # scripted at 0.5 s
            time.sleep(0.05)
            state = requests.get(f"{server.url}/_sandbox/state", timeout=5).json()
        assert len(state["x"]["dm_events"]) == 1
    finally:
        server.stop()


def test_a_scenario_with_an_unknown_event_is_refused(tmp_path):
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[events]]\nkind = "x.teleport"\n')
    with pytest.raises(ValueError, match="events\\[0\\].kind"):
        load_scenario(scenario)


def test_scripted_replies_and_comments_land_on_the_latest_post(x_connector, facebook_connector,
                                                              control):
    tweet = x_connector.publish(Post("Reply to me"))
    page_post = facebook_connector.publish(Post("Comment on me"))
    reply = control.event(kind="x.reply", user_id="4000000000000000001", text="Well done!")
    comment = control.event(kind="facebook.comment", from_id="555", text="Brilliant")
    state = control.state()
    assert state["x"]["tweets"][reply["id"]]["conversation_id"] == tweet.remote_id
    assert state["facebook"]["comments"][comment["id"]]["parent_id"] == page_post.remote_id


def test_unknown_fault_keys_are_refused(control):
    response = requests.post(f"{control.url}/_sandbox/faults", json={"stauts": 500}, timeout=5)
    assert response.status_code == 400 and "stauts" in response.json()["error"]


def test_sandbox_serve_runs_from_the_command_line(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli.main", "sandbox", "serve", "--port", "0", "--state",
         str(tmp_path / "state.json")], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = line.split()[3]
        assert requests.get(f"{url}/_sandbox/health", timeout=5).json() == {"ok": True}
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_counting_requests_does_not_rewrite_the_state_file_until_the_sandbox_stops(tmp_path):
    """An idle daemon's health checks are requests too: counted, not written each time."""
    state_file = tmp_path / "state.json"
    server = start_sandbox(state_file=state_file)
    written = state_file.read_bytes()
    XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=server.url).check()
    assert state_file.read_bytes() == written
    counted = requests.get(f"{server.url}/_sandbox/state", timeout=5).json()["request_counts"]
    assert counted
    server.stop()
    import json  # noqa: PLC0415

    assert json.loads(state_file.read_text())["request_counts"] == counted


def test_a_sandbox_stops_at_once_though_its_loop_sleeps(tmp_path):
    server = start_sandbox()
    server.stop()  # returns: the stop knocks to wake the loop
    assert server._thread is not None and not server._thread.is_alive()
