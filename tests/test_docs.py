"""The documentation a newcomer reads holds together: README is short and every link in README,
CONTRIBUTING and docs/ leads to a file and a heading that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def headings_of(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file (code blocks skipped)."""
    anchors, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_the_readme_stays_short_enough_to_read():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) < 250


@pytest.mark.parametrize("document", [path for path in DOCUMENTS if path.exists()],
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_leads_somewhere(document):
    broken = []
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in headings_of(linked):
            broken.append(target)
    assert broken == []


def documented_commands() -> set[str]:
    """The command paths the reference's table names: `steward audit pubkey\\|verify` names
    `steward audit pubkey` and `steward audit verify`."""
    named = set()
    for line in (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"\| `steward ([^`]*)`", line)
        if not found:
            continue
        words = []
        for word in found.group(1).split():
            if word.startswith(("-", "[", "ID", "POST", "FILE", "NAME", "IN", "EMAIL", "COMMAND")):
                break
            words.append(word)
        *group, last = words or [""]
        for alternative in last.replace("\\|", "|").split("|"):
            named.add(" ".join(["steward", *group, alternative]).strip())
    return named


def test_every_command_is_in_the_command_reference():
    import click

    from tests.cli.test_command_tree import COMMANDS

    leaves = {" ".join(path) for path, command in COMMANDS
              if not isinstance(command, click.Group) and not command.hidden}
    documented = documented_commands()
    missing = sorted(path for path in leaves
                     if not any(path == name or path.startswith(name + " ")
                                for name in documented))
    assert missing == [], "add these to docs/reference/cli.md"
