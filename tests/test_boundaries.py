"""The architecture's boundaries, checked: who may import the SDKs, the scheduler and the
cryptography, and that `daemon` and `config` are this repository's packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("daemon", "connectors", "config", "policies", "sandbox")
ALLOWED = {
    "tweepy": {"connectors/x.py"},
    "facebook": {"connectors/facebook.py"},
    "apscheduler": {"daemon/scheduling.py"},
    "cryptography": {"daemon/approval.py"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


SOURCES = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_only_the_designated_modules_import(library):
    offenders = {str(path.relative_to(ROOT)) for path in SOURCES
                 if library in imports_of(path)} - ALLOWED[library]
    assert offenders == set()


def test_policies_are_pure():
    forbidden = {"requests", "socket", "logging", "structlog", "time", "tweepy", "facebook",
                 "urllib", "http", "sqlite3", "daemon", "connectors"}
    for path in (ROOT / "policies").rglob("*.py"):
        assert imports_of(path) & forbidden == set(), path


@pytest.mark.parametrize("package", ["daemon", "config"])
def test_generic_package_names_resolve_inside_this_repository(package):
    module = __import__(package)
    assert Path(module.__file__).resolve().is_relative_to(ROOT)
