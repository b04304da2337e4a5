"""Commands for a trust of schools (`steward trust status|report`), for the trust's
safeguarding and governance leads: every school's signed audit record, side by side, read
only (daemon.audit.trust)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from daemon.cli.common import EXIT_OK, EXIT_REFUSED, StewardCommand, StewardGroup


@click.group(cls=StewardGroup)
def trust() -> None:
    """A trust's schools, each its own instance (steward@NAME): their signed records.

    \b
    Example:
      steward trust status
    """


def place_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--config-root and --state-root: where the schools' folders are."""
    function = click.option("--state-root", metavar="DIR", default="/var/lib/steward",
                            show_default=True, help="the folder of the schools' state "
                            "directories (their audit logs)")(function)
    return click.option("--config-root", metavar="DIR", default="/etc/steward",
                        show_default=True, help="the folder of the schools' configuration "
                        "folders (their audit-signing.pub)")(function)


def _records(config_root: str, state_root: str) -> list:
    from daemon.audit.trust import discover, read_trust  # noqa: PLC0415

    return read_trust(discover(Path(config_root), Path(state_root)))


@trust.command("status", cls=StewardCommand)
@place_options
def trust_status(config_root: str, state_root: str) -> int:
    """Show each school's signed record: verified with its own key, its last checkpoint and
    what it sealed. Only the schools' audit logs and public keys are read.

    Exit 0 when every school's record verified, 1 when one did not (it says why; the other
    schools are shown all the same).

    \b
    Example:
      steward trust status --config-root /etc/steward --state-root /var/lib/steward
    """
    from daemon.audit.trust import now, status_lines  # noqa: PLC0415

    records = _records(config_root, state_root)
    for line in status_lines(records, now()):
        print(line)
    return EXIT_OK if records and all(record.verified for record in records) else EXIT_REFUSED


@trust.command("report", cls=StewardCommand)
@click.option("--html", "out", required=True, metavar="OUT", help="the HTML file to write")
@click.option("--name", "trust_name", default="the trust", metavar="TEXT",
              help="the trust's name, for the page's title")
@place_options
def trust_report(out: str, trust_name: str, config_root: str, state_root: str) -> int:
    """Write the trust's HTML report for its safeguarding and governance leads: one row per
    school, from that school's signed checkpoints alone.

    Exit 0 when every school's record verified, 1 when one did not (the report says which).

    \b
    Example:
      steward trust report --html trust-autumn.html --name "Riverside Learning Trust"
    """
    from daemon.audit.trust import now, render_trust_report  # noqa: PLC0415

    records = _records(config_root, state_root)
    page = render_trust_report(records, trust=trust_name, generated=now())
    Path(out).write_text(page, encoding="utf-8")
    verified = sum(1 for record in records if record.verified)
    print(f"wrote {out}: {verified} of {len(records)} school(s) verified")
    return EXIT_OK if records and verified == len(records) else EXIT_REFUSED


def register(group: click.Group) -> None:
    """Add this wing's commands to `steward`."""
    group.add_command(trust)
