"""The `steward` command: each wing's module adds its own commands to the group below, and
`main` runs it. Exit codes: 0 success, 1 refused or failed check, 2 usage or configuration
error (systemd's RestartPreventExitStatus=2 stops restart loops on those)."""

from __future__ import annotations

import sys

import click

from daemon.cli import accounts, audit, consent, credentials, moderation, posts, service
from daemon.cli.common import StewardGroup, run_group

WINGS = (posts, consent, moderation, accounts, credentials, audit, service)


@click.group(cls=StewardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="school-steward", prog_name="steward",
                      message="%(prog)s %(version)s")
def steward() -> None:
    """Runs a school's social media accounts by its policy.

    Exit codes: 0 success, 1 refused or failed check, 2 usage or configuration error.
    `steward COMMAND --help` says more about each command, with an example.

    \b
    Example:
      steward check my-post --config /etc/steward/steward.toml
    """


for wing in WINGS:
    wing.register(steward)


def no_core_dumps() -> None:
    """A core dump would hold decrypted credentials: forbid them for this process."""
    import resource  # noqa: PLC0415

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run `steward` with `argv` (default: the process's arguments); return the exit code."""
    no_core_dumps()
    return run_group(steward, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
