"""`steward status`: the queue, the next posts, platform health and the last events, read from
the state directory (works whether or not the daemon is running)."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

from config.settings import StewardSettings
from daemon.audit.reading import visible
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
