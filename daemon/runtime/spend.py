"""What X has cost this month, per day and per operation, and the monthly budget it is kept in.

X bills per call (`connectors.x_costs`). Every charged call the X connector makes, in the
daemon or in a command, is added here, to `<state_dir>/x-spend.json` (a small JSON file, written
atomically under a lock, so the daemon and a command can both add to it; kept out of the
database so that a call costs no database write). `steward status` and the governors' report
read it. At 80% of `x.monthly_budget_usd` the administrators are warned, once a month; at 100%
the optional work (follower scans, reply polling on old posts) stops until the month ends,
never publishing nor the responses to a live incident.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.x_costs import Usage
from daemon.runtime.clock import Clock

WARN_AT = 0.8
KEEP_MONTHS = 13  # a year back, for the governors' report
_LOCAL = threading.Lock()


@dataclass(frozen=True)
class MonthSpend:
    """One month's X spend: the total, per day, and per operation (units and dollars)."""

    month: str
    total_usd: float
    by_day: dict[str, float]
    by_operation: dict[str, dict[str, Any]]

    def share_of(self, budget_usd: float) -> float:
        """The fraction of the budget spent (1.0 or more: the budget is used up)."""
        return self.total_usd / budget_usd if budget_usd > 0 else float("inf")


class SpendLedger:
    """A platform's charges (X's: the only platform that bills per call), kept by month and
    day in `<state_dir>/<platform>-spend.json`."""

    def __init__(self, state_dir: Path, clock: Clock, platform: str = "x") -> None:
        self.path = Path(state_dir) / f"{platform}-spend.json"
        self.clock = clock

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCAL, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"months": {}}
        return data if isinstance(data, dict) and isinstance(data.get("months"), dict) \
            else {"months": {}}

    def record(self, usage: Usage) -> None:
        """Add one charged call to today's figures."""
        today = self.clock.now().strftime("%Y-%m-%d")
        try:
            self._add(today, usage)
        except OSError:  # a command run without write access: the call itself goes ahead
            return

    def _add(self, today: str, usage: Usage) -> None:
        with self._locked():
            data = self._read()
            month = data["months"].setdefault(today[:7], {"days": {}})
            day = month["days"].setdefault(today, {})
            entry = day.setdefault(usage.operation, {"cost_class": usage.cost_class,
                                                     "calls": 0, "units": 0, "usd": 0.0})
            entry["calls"] += 1
            entry["units"] += usage.units
            entry["usd"] = round(entry["usd"] + usage.usd, 6)
            for old in sorted(data["months"])[:-KEEP_MONTHS]:
                del data["months"][old]
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
            os.replace(temporary, self.path)

    def day(self, day: str) -> dict[str, dict[str, Any]]:
        """One day's (YYYY-MM-DD) spend, by operation."""
        return dict(self._read()["months"].get(day[:7], {}).get("days", {}).get(day, {}))

    def month(self, month: str | None = None) -> MonthSpend:
        """The spend of `month` (YYYY-MM; default: this month)."""
        wanted = month or self.clock.now().strftime("%Y-%m")
        days = self._read()["months"].get(wanted, {}).get("days", {})
        by_day = {day: round(sum(entry["usd"] for entry in operations.values()), 6)
                  for day, operations in sorted(days.items())}
        by_operation: dict[str, dict[str, Any]] = {}
        for operations in days.values():
            for name, entry in operations.items():
                total = by_operation.setdefault(name, {"cost_class": entry["cost_class"],
                                                       "calls": 0, "units": 0, "usd": 0.0})
                total["calls"] += entry["calls"]
                total["units"] += entry["units"]
                total["usd"] = round(total["usd"] + entry["usd"], 6)
        return MonthSpend(wanted, round(sum(by_day.values()), 6), by_day, by_operation)


def spend_lines(ledger: SpendLedger, budget_usd: float) -> list[str]:
    """What `steward status` says of X's spend: the month so far against the budget, today,
    and the dearest operations."""
    spent = ledger.month()
    today = spent.by_day.get(ledger.clock.now().strftime("%Y-%m-%d"), 0.0)
    share = spent.share_of(budget_usd)
    state = ("BUDGET USED UP: follower scans and reply polling on old posts are paused until "
             "the month ends" if share >= 1 else "over 80% of the budget" if share >= WARN_AT
             else "within budget")
    lines = [f"X spend this month ({spent.month}): ${spent.total_usd:.2f} of the "
             f"${budget_usd:.2f} budget ({state}); today ${today:.2f}"]
    dearest = sorted(spent.by_operation.items(), key=lambda item: -item[1]["usd"])[:5]
    lines += [f"  {name}: ${entry['usd']:.2f} ({entry['units']} x {entry['cost_class']}, "
              f"{entry['calls']} calls)" for name, entry in dearest]
    return lines


class Budgets:
    """Whether a platform's monthly budget still allows optional work. Platform-neutral: a
    platform whose settings have no `monthly_budget_usd` (Facebook) has no budget."""

    def __init__(self, settings: Any, state_dir: Path, clock: Clock) -> None:
        self.settings = settings
        self.state_dir = Path(state_dir)
        self.clock = clock

    def budget_usd(self, platform: str) -> float | None:
        section = getattr(self.settings, platform, None)
        budget = getattr(section, "monthly_budget_usd", None)
        return float(budget) if budget is not None else None

    def share(self, platform: str) -> float:
        """The fraction of this month's budget spent (0 for a platform without a budget)."""
        budget = self.budget_usd(platform)
        if budget is None:
            return 0.0
        return SpendLedger(self.state_dir, self.clock, platform).month().share_of(budget)

    def allows_optional_work(self, platform: str) -> bool:
        """False once the month's budget is used up: follower scans and reply polling on old
        posts wait for the next month (publishing and live incidents never do)."""
        return self.share(platform) < 1.0
