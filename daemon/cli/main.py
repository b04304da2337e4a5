"""The `steward` command: each wing's module adds its own commands to the group below, and
`main` runs it. Exit codes: 0 success, 1 refused or failed check, 2 usage or configuration
error (systemd's RestartPreventExitStatus=2 stops restart loops on those).

The command tree (click and every wing) is built on first use: `steward media clean` with
plain arguments runs without it (daemon.cli.pictures), so that it starts quickly."""

from __future__ import annotations

import sys
from typing import Any


def _tree() -> dict[str, Any]:
    import click  # noqa: PLC0415

    from daemon.cli import (  # noqa: PLC0415
        accounts,
        audit,
        consent,
        credentials,
        moderation,
        posts,
        service,
        trust,
    )
    from daemon.cli.common import Invocation, StewardGroup  # noqa: PLC0415

    wings = (posts, consent, moderation, accounts, credentials, audit, trust, service)

    @click.group(cls=StewardGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="school-steward", prog_name="steward",
                          message="%(prog)s %(version)s")
    @click.option("--school", metavar="NAME", multiple=True,
                  help="in a trust, the school whose instance every command is for "
                  "(its /etc/steward/NAME/, /var/lib/steward/NAME/ and steward@NAME); "
                  "default $STEWARD_SCHOOL, else the single school")
    def steward(school: tuple[str, ...]) -> None:
        """Runs a school's social media accounts by its policy.

        Exit codes: 0 success, 1 refused or failed check, 2 usage or configuration error.
        `steward COMMAND --help` says more about each command, with an example.

        \\b
        Example:
          steward check my-post --config /etc/steward/steward.toml
          steward --school oakfield status
        """
        context = click.get_current_context()
        invocation = context.find_object(Invocation)
        if invocation is not None:
            # Given twice, the last would win: a sudoers line `steward --school oakfield *`
            # would then run any school's instance as root. Once only.
            invocation.school = school[0] if school else None
            invocation.schools = school

    for wing in wings:
        wing.register(steward)
    return {"WINGS": wings, "steward": steward}


_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """`WINGS` (the wings' modules) and `steward` (the click group), built on first use."""
    if name in ("WINGS", "steward"):
        if not _built:
            _built.update(_tree())
        return _built[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    arguments = sys.argv[1:] if argv is None else argv
    if list(arguments[:2]) == ["media", "clean"]:
        from daemon.cli.pictures import fast_clean  # noqa: PLC0415

        code = fast_clean(arguments[2:])
        if code is not None:
            return code
    from daemon.cli.common import run_group  # noqa: PLC0415

    return run_group(__getattr__("steward"), arguments)


if __name__ == "__main__":
    sys.exit(main())
