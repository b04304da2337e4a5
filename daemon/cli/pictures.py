"""`steward media clean`, with a start that imports nothing but media code.

`fast_clean` runs the command straight from the arguments when they are plain (files and
`-o OUT`), before the command tree (click, every wing) is imported; anything else (`--help`,
an unknown option) goes the ordinary way, to the same `clean_pictures`. Several files are
cleaned by one process a core (this one and forked copies, daemon.cli.forked: nothing is
imported again). Lines come out in the order the files were given. A cleaned video is also
measured against each platform's limits (policies.video_limits), so that SLT know before they
post it whether X and Facebook take it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from daemon.posts.picture_files import UncleanableMedia, clean_file
from policies.media.cleaning import CleanReport

EXIT_OK, EXIT_REFUSED = 0, 1  # as daemon.cli.common, not imported here to start quickly
PARALLEL_FROM = 8  # files: fewer are cleaned in this process (a worker costs a fork)
MAX_WORKERS = 8


def clean_pictures(files: Sequence[str], output: str) -> int:
    """Clean each of `files` into `output` (a file for one, a folder for several); print a
    line per file, refusals on standard error; 1 if any was refused."""
    sources = [Path(name) for name in files]
    target_path = Path(output)
    many = len(sources) > 1 or target_path.is_dir()
    if many:
        target_path.mkdir(parents=True, exist_ok=True)
    jobs = [(source, target_path / source.name if many else target_path) for source in sources]
    refused = 0
    for source, target, outcome in _cleaned(jobs):
        if isinstance(outcome, str):
            refused += 1
            print(outcome, file=sys.stderr)
            continue
        report, notes = outcome
        removed = "; ".join(report.removed) or "nothing to remove"
        print(f"{source} -> {target}: {report.format}, removed {removed}"
              + (f"; orientation {report.orientation} kept" if report.orientation else ""))
        for note in notes:
            print(f"  {note}")
    return EXIT_REFUSED if refused else EXIT_OK


Outcome = tuple[CleanReport, list[str]] | str


def _clean_one(source: Path, target: Path) -> Outcome:
    """The file's CleanReport and notes on it, or the line that says why it was refused. Like
    cp and ExifTool, the copies are not forced to disk one by one (run `sync` for that)."""
    try:
        report = clean_file(source, target, durable=False)
        return report, _platform_notes(target) if report.format == "video" else []
    except UncleanableMedia as error:
        return f"{source}: refused: {error}"
    except OSError as error:
        return f"{source}: cannot be read or written ({error.strerror})"


def _platform_notes(video: Path) -> list[str]:
    """What the cleaned video is, and what each platform would refuse about it."""
    from policies.media.boxes import IsoError, Source  # noqa: PLC0415
    from policies.media.video_facts import video_facts  # noqa: PLC0415
    from policies.video_limits import VIDEO_LIMITS, video_problems  # noqa: PLC0415

    try:
        with open(video, "rb") as handle:
            facts = video_facts(Source(stream=handle))
    except IsoError as error:
        return [f"not measured against the platforms' limits: {error}"]
    problems = {limits.platform: video_problems(facts, limits) for limits in VIDEO_LIMITS.values()}
    fits = [platform for platform, found in problems.items() if not found]
    notes = [facts.describe() + (f"; fits {' and '.join(fits)}" if fits else "")]
    notes += [f"{platform}: {problem}. {advice}" for platform, found in problems.items()
              for problem, advice in found]
    return notes


def _cleaned(jobs: list[tuple[Path, Path]]) -> Iterator[tuple[Path, Path, Outcome]]:
    """Each job with its outcome, in order; many at once, one process a core (this one and
    forked copies, daemon.cli.forked), when there are enough of them and their targets all
    differ."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(jobs) < PARALLEL_FROM or \
            len({os.path.abspath(target) for _, target in jobs}) < len(jobs):
        workers = 1  # few files, or two with one target: one after the other, the last one wins
    from daemon.cli.forked import in_order  # noqa: PLC0415

    for (source, target), outcome in zip(jobs, in_order(_clean_one, jobs, workers), strict=True):
        yield source, target, outcome


def plain_arguments(arguments: Sequence[str]) -> tuple[list[str], str] | None:
    """The files and output of `media clean ARGUMENTS` when they are only files and one
    -o/--output (no other option, no `--`); None otherwise."""
    files: list[str] = []
    output: str | None = None
    items = iter(arguments)
    for item in items:
        if item in ("-o", "--output"):
            if output is not None:
                return None
            output = next(items, None)
            if output is None or output.startswith("-"):
                return None
        elif item.startswith("--output="):
            if output is not None:
                return None
            output = item[len("--output="):]
        elif item.startswith("-"):
            return None  # --help, -h, --, an option click knows better
        else:
            files.append(item)
    if not files or not output:
        return None
    return files, output


def fast_clean(arguments: Sequence[str]) -> int | None:
    """Run `steward media clean ARGUMENTS` if they are plain; None to go the ordinary way."""
    plain = plain_arguments(arguments)
    if plain is None:
        return None
    return _as_a_command(lambda: clean_pictures(*plain))


def _as_a_command(action: Callable[[], int]) -> int:
    """What run_group does for a command: a closed pipe is fine, Ctrl-C says so, an error
    becomes a message (the error printing is imported only when needed)."""
    try:
        code = action()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        from daemon.cli.common import EXIT_OK as ok  # noqa: PLC0415
        from daemon.cli.common import quiet_closed_pipe  # noqa: PLC0415

        quiet_closed_pipe()
        return ok
    except KeyboardInterrupt:
        from daemon.cli.common import EXIT_INTERRUPTED, print_error  # noqa: PLC0415

        print_error("media", "interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:
        from daemon.cli.common import (  # noqa: PLC0415
            Invocation,
            expected_error,
            print_error,
            report_fault,
        )

        described = expected_error(error)
        if described is None:
            return report_fault(Invocation(command="media"), error)
        message, exit_code = described
        print_error("media", message)
        return exit_code
