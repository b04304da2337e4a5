"""`steward status`: the queue, the next posts, platform health and the last events, read from
the state directory (works whether or not the daemon is running)."""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path

from config.schools import for_this_instance
from config.settings import StewardSettings
from daemon.audit.reading import visible
from daemon.runtime.clock import Clock
from daemon.runtime.running import daemon_running
from daemon.runtime.store import Store


def recent_events(audit_path: Path, count: int = 10) -> list[dict]:
    """The last `count` audit events (only the last 2,000 lines are read)."""
    if not audit_path.is_file():
        return []
    with open(audit_path, encoding="utf-8", errors="replace") as handle:
        tail = deque(handle, maxlen=2000)
    events = []
    for line in tail:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events[-count:] if count else events


def platform_health(events: list[dict]) -> dict[str, str]:
    health: dict[str, str] = {}
    for event in events:
        if event.get("event") == "platform.available":
            health[event["platform"]] = f"up since {event['timestamp']}"
        elif event.get("event") == "platform.unavailable":
            health[event["platform"]] = f"DOWN since {event['timestamp']}: {event.get('reason')}"
    return health


def print_status(settings: StewardSettings) -> int:
    state_dir = settings.paths.state_dir
    database = state_dir / "steward.sqlite3"
    if not database.is_file():
        print(f"No state in {state_dir} yet: Steward has not run with this configuration.")
        return 0
    store = Store.open_read_only(database)  # status writes nothing, and needs no write access
    try:
        counts = store.counts()
        upcoming = store.upcoming(10)
    finally:
        store.close()
    print(f"State directory: {state_dir} (mode: {settings.mode})")
    running = daemon_running(state_dir)
    if running is None:
        print("Daemon: cannot tell from here whether it is running (ask `systemctl status "
              "steward`)")
    elif running.running:
        print(f"Daemon: running since {running.since} (process {running.pid})")
    else:
        print(f"Daemon: NOT RUNNING (last started {running.since or 'never'}); what follows is "
              "as it was when it stopped")
    print("Deliveries: " + (", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
                            or "none yet"))
    if settings.x.enabled:  # X bills per call: what this month has cost, against the budget
        from daemon.runtime.spend import SpendLedger, spend_lines  # noqa: PLC0415

        for line in spend_lines(SpendLedger(state_dir, Clock()), settings.x.monthly_budget_usd):
            print(line)
    print("\nNext posts:" if upcoming else "\nNext posts: none queued")
    for post in upcoming:
        print(visible(f"  {post.publish_at:%Y-%m-%d %H:%M} UTC  {post.name}  [{post.status}: "
                      f"{post.deliveries}]"))
    events = recent_events(state_dir / "audit.jsonl", 2000)
    health = platform_health(events)
    print(("\nPlatforms (as last checked by the daemon):" if running and running.running else
           "\nPlatforms (when the daemon last ran):") if health else "\nPlatforms: not checked yet")
    for platform, text in sorted(health.items()):
        print(visible(f"  {platform}: {text}"))
    print("\nLast events:")
    for event in events[-10:]:
        detail = event.get("name") or event.get("platform") or ""
        print(visible(f"  {event.get('timestamp', '?')}  {event.get('event', '?')}  {detail}"))
    return 0


def state_closed(settings: StewardSettings) -> bool:
    """Whether this user may not look into the state directory (an SLT member)."""
    state_dir = settings.paths.state_dir
    return state_dir.exists() and not os.access(state_dir, os.R_OK | os.X_OK)


def print_slt_status(settings: StewardSettings, view: Path) -> int:
    """What an SLT member may see: whether the daemon runs (it holds the SLT view it wrote)
    and the answers to posts in the folders they share; nothing of the state."""
    from daemon.posts.notices import recent_answers  # noqa: PLC0415
    from daemon.runtime.slt_view import daemon_holds, written_at  # noqa: PLC0415

    running = daemon_holds(view)
    written = written_at(view) or "unknown"
    print(f"Steward for {settings.school.name} (SLT view: {view})")
    if running is None:
        print(for_this_instance("Daemon: cannot tell from here whether it is running (ask IT: "
                                "`systemctl status steward`)"))
    elif running:
        print(f"Daemon: running (its settings for SLT written {written})")
    else:
        print(for_this_instance(f"Daemon: NOT RUNNING (last started {written}): posts wait in "
                                "the inbox until it starts again; ask IT (`sudo systemctl "
                                "start steward`)"))
    print(f"Inbox: {settings.paths.resolved('inbox')}")
    answers = recent_answers(settings)
    print("\nAnswers to posts (newest first):" if answers else
          "\nAnswers to posts: none yet")
    for answer in answers:
        print(visible(f"  {answer.written:%Y-%m-%d %H:%M}  {answer.kind:<9}  {answer.name}  "
                      f"({answer.path})"))
    print(for_this_instance("\nThe queue and the platforms' health are for IT (`sudo steward "
                            "admin status`)."))
    return 0
