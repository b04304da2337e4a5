"""Scenario files: a TOML description of the accounts' world, applied at start or after a delay.

    [x.account]                  # optional: the school's X account
    username = "OakfieldPrimary"
    name = "Oakfield Primary School"

    [facebook.page]              # optional: the school's Page
    name = "Oakfield Primary School"

    [[events]]                   # anything in sandbox.events, now or `at` seconds after start
    at = 0
    kind = "x.follow"
    user_id = "2000000001"
    username = "AParentAccount"
"""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Any

from sandbox.events import EVENT_KINDS, apply_event
from sandbox.state import SandboxState

REQUIRED = {
    "x.user": ("user_id",), "x.follow": ("user_id",), "x.following": ("user_id",),
    "x.reply": ("user_id", "text"), "x.mention": ("user_id", "text"), "x.dm": ("user_id", "text"),
    "x.setting": ("name", "value"), "facebook.comment": ("from_id", "text"),
    "facebook.message": (),
}


def load_scenario(path: Path) -> dict[str, Any]:
    """Read and check a scenario file; raise ValueError naming the file and the first problem."""
    try:
        scenario = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    try:
        _check(scenario)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return scenario


def _check(scenario: dict[str, Any]) -> None:
    unknown = set(scenario) - {"x", "facebook", "events"}
    if unknown:
        raise ValueError(f"unknown section(s): {', '.join(sorted(unknown))}")
    for section, table in (("x", "account"), ("facebook", "page")):
        value = scenario.get(section, {})
        if not isinstance(value, dict) or set(value) - {table}:
            raise ValueError(f"[{section}] may only hold a [{section}.{table}] table")
        if not isinstance(value.get(table, {}), dict):
            raise ValueError(f"[{section}.{table}] must be a table of names and values")
    events = scenario.get("events", [])
    if not isinstance(events, list):
        raise ValueError("events must be a list of [[events]] tables")
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"events[{index}] must be a table")
        if event.get("kind") not in EVENT_KINDS:
            raise ValueError(f"events[{index}].kind must be one of {', '.join(EVENT_KINDS)}")
        missing = [name for name in REQUIRED[event["kind"]] if name not in event]
        if missing:
            raise ValueError(f"events[{index}] ({event['kind']}) needs {', '.join(missing)}")
        at = event.get("at", 0)
        if not isinstance(at, int | float) or isinstance(at, bool) or at < 0:
            raise ValueError(f"events[{index}].at must be a number of seconds, 0 or more")


def apply_scenario(state: SandboxState, scenario: dict[str, Any]) -> list[threading.Timer]:
    """Apply the accounts and the immediate events; start timers for the later ones."""
    with state.change() as world:
        account = scenario.get("x", {}).get("account")
        if account:
            me = world["x"]["users"][world["x"]["me"]]
            me.update({key: str(value) for key, value in account.items() if key != "id"})
        page = scenario.get("facebook", {}).get("page")
        if page:
            world["facebook"]["page"].update({k: str(v) for k, v in page.items() if k != "id"})
    timers = []
    for event in scenario.get("events", []):
        delay = float(event.get("at", 0))
        if delay <= 0:
            apply_event(state, event)
        else:
            timer = threading.Timer(delay, apply_event, args=(state, event))
            timer.daemon = True
            timer.start()
            timers.append(timer)
    return timers
