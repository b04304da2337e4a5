"""The daemon's structure, checked from the source (issue 17): imports run only downward
(the CLI, the service and the demo on top, daemon/runtime/ at the bottom of the daemon,
policies below it), and no module imports itself round a circle, lazily or not.

Imports are read with tests/import_graph.py, which reads the source with `ast` and runs
nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import import_graph

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("daemon", "connectors", "config", "policies", "sandbox", "training")
MODULES = import_graph.modules_of(ROOT, PACKAGES)
IMPORTS = import_graph.imports(MODULES)


def _where(edge: import_graph.Import) -> str:
    return edge.describe(ROOT, MODULES)


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# -- imports run downward -----------------------------------------------------------------

# What sits on top, and who alone may import it: the CLI is imported by nothing else; the
# service by the CLI and the demo; the demo by the CLI.
TOP = {"daemon.cli": ("daemon.cli",), "daemon.service": ("daemon.cli", "daemon.demo"),
       "daemon.demo": ("daemon.cli",)}
# What daemon/runtime/ may import besides itself: the layers below the daemon.
BELOW_THE_DAEMON = ("config", "policies", "connectors")


def upward(edges: list[import_graph.Import]) -> list[import_graph.Import]:
    """Imports of the CLI, the service or the demo by anything not above them."""
    return [edge for edge in edges for top, allowed in TOP.items()
            if _inside(edge.imported, top)
            and not any(_inside(edge.importer, above) for above in allowed)]


def out_of_the_runtime(edges: list[import_graph.Import]) -> list[import_graph.Import]:
    """Imports by daemon/runtime/ of any other wing of the daemon (or of anything else of
    this repository that is not below the daemon)."""
    allowed = ("daemon.runtime",) + BELOW_THE_DAEMON
    return [edge for edge in edges if _inside(edge.importer, "daemon.runtime")
            and edge.imported != "daemon"
            and not any(_inside(edge.imported, package) for package in allowed)]


def test_nothing_below_imports_the_cli_the_service_or_the_demo():
    assert [_where(edge) for edge in upward(IMPORTS)] == []


def test_the_runtime_imports_no_other_wing():
    assert [_where(edge) for edge in out_of_the_runtime(IMPORTS)] == []


def test_the_direction_checks_catch_an_import_upward(tmp_path):
    """On a small tree shaped like the daemon: a wing importing the CLI and the service
    (lazily, as a shortcut would), and the runtime importing a wing."""
    files = {
        "daemon/__init__.py": "", "daemon/service.py": "", "daemon/demo.py": "import daemon.service\n",
        "daemon/cli/__init__.py": "", "daemon/cli/main.py": "from daemon import demo, service\n",
        "daemon/posts/__init__.py": "",
        "daemon/posts/intake.py": "def later():\n    from daemon.cli.main import x\n"
                                  "    from daemon.service import y\n",
        "daemon/runtime/__init__.py": "",
        "daemon/runtime/store.py": "import config.settings\nfrom daemon.posts import intake\n",
        "config/__init__.py": "", "config/settings.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    edges = import_graph.imports(import_graph.modules_of(tmp_path, ("daemon", "config")))
    assert sorted((edge.importer, edge.imported) for edge in upward(edges)) == [
        ("daemon.posts.intake", "daemon.cli"), ("daemon.posts.intake", "daemon.cli.main"),
        ("daemon.posts.intake", "daemon.service")]
    assert [(edge.importer, edge.imported) for edge in out_of_the_runtime(edges)] == [
        ("daemon.runtime.store", "daemon.posts"), ("daemon.runtime.store", "daemon.posts.intake")]


def test_policies_import_only_policies():
    outward = [_where(edge) for edge in IMPORTS if _inside(edge.importer, "policies")
               and not _inside(edge.imported, "policies")]
    assert outward == []


def test_the_import_reader_sees_lazy_and_type_checking_imports(tmp_path):
    """The circle tests below would pass on a tree whose circles hide in functions or under
    TYPE_CHECKING if the reader missed them: it does not."""
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from typing import TYPE_CHECKING\n"
                                      "if TYPE_CHECKING:\n    from loop.second import B\n")
    (package / "second.py").write_text("def later():\n    from . import third\n")
    (package / "third.py").write_text("import loop.first\n")
    modules = import_graph.modules_of(tmp_path, ("loop",))
    [circle] = import_graph.circles(import_graph.imports(modules), "loop")
    assert [(edge.importer, edge.imported) for edge in circle] == [
        ("loop.first", "loop.second"), ("loop.second", "loop.third"), ("loop.third", "loop.first")]


def test_the_import_reader_counts_the_package_an_import_runs(tmp_path):
    """`from loop.inner.deep import x` runs loop/inner/__init__.py, which may import back."""
    inner = tmp_path / "loop" / "inner"
    inner.mkdir(parents=True)
    (tmp_path / "loop" / "__init__.py").write_text("")
    (tmp_path / "loop" / "top.py").write_text("from loop.inner.deep import x\n")
    (inner / "__init__.py").write_text("from loop.inner.uses_top import y\n")
    (inner / "deep.py").write_text("x = 1\n")
    (inner / "uses_top.py").write_text("from loop.top import z\n")
    modules = import_graph.modules_of(tmp_path, ("loop",))
    assert import_graph.circles(import_graph.imports(modules), "loop") != []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_circle_of_imports_inside(package):
    circles = import_graph.circles(IMPORTS, package)
    assert circles == [], "\n".join(" -> ".join(_where(edge) for edge in circle)
                                    for circle in circles)  # one circle a line
