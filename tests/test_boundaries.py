"""The architecture's boundaries, checked: who may import the SDKs, the scheduler and the
cryptography, and that `daemon` and `config` are this repository's packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("daemon", "connectors", "config", "policies", "sandbox", "training")
ALLOWED = {
    "tweepy": {"connectors/x.py"},
    "facebook": {"connectors/facebook.py"},
    "apscheduler": {"daemon/posts/scheduling.py"},
    "cryptography": {"daemon/runtime/keys.py", "daemon/credentials/sealing.py"},
    "pyrage": {"daemon/credentials/sealing.py"},
    "av": {"daemon/posts/video_frames.py"},  # FFmpeg's decoders, for faces in videos
}


def modules_imported_by(path: Path) -> set[str]:
    """Full dotted names of the modules a file imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def imports_of(path: Path) -> set[str]:
    """Top-level packages a file imports."""
    return {name.split(".")[0] for name in modules_imported_by(path)}


SOURCES = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_only_the_designated_modules_import(library):
    offenders = {str(path.relative_to(ROOT)) for path in SOURCES
                 if library in imports_of(path)} - ALLOWED[library]
    assert offenders == set()


def test_policies_are_pure():
    """No network, no clock, no logging, no database, no daemon: urllib.parse is fine."""
    forbidden = ("requests", "socket", "logging", "structlog", "time", "datetime.datetime.now",
                 "tweepy", "facebook", "urllib.request", "http", "sqlite3", "daemon",
                 "connectors", "config")
    for path in (ROOT / "policies").rglob("*.py"):
        imported = modules_imported_by(path)
        assert not [name for name in imported for bad in forbidden
                    if name == bad or name.startswith(bad + ".")], path


@pytest.mark.parametrize("package", ["daemon", "config"])
def test_generic_package_names_resolve_inside_this_repository(package):
    module = __import__(package)
    assert Path(module.__file__).resolve().is_relative_to(ROOT)
