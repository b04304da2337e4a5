"""Who imports whom inside this repository, read from the source with `ast` (nothing is
imported): for the structure tests (tests/test_structure.py).

Every import statement counts, wherever it stands: at module level, inside a function (a
"lazy" import still runs, only later), under `if TYPE_CHECKING:` (a type checker follows it,
and it is how a circle hides). Importing `a.b.c` also runs the `__init__.py` of `a.b` and of
`a`, so an import of a module is an import of each package above it too, except the packages
above the importing module itself, which Python has already begun importing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One import of a module of this repository: by whom, of what, on which line."""

    importer: str
    imported: str
    line: int

    def describe(self, root: Path, modules: dict[str, Path]) -> str:
        return f"{modules[self.importer].relative_to(root)}:{self.line} imports {self.imported}"


def module_name(root: Path, path: Path) -> str:
    """`daemon/posts/intake.py` -> `daemon.posts.intake`; a package's `__init__.py` -> its name."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_of(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of `packages` under `root`, by dotted name."""
    return {module_name(root, path): path
            for package in packages for path in sorted((root / package).rglob("*.py"))}


def _named(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool,
           modules: dict[str, Path]) -> list[str]:
    """The dotted names an import statement names, relative imports resolved."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = importer.split(".") if is_package else importer.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    # `from a import b` imports the module a.b when there is one, else a name from a
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
            for alias in node.names]


def _with_packages_above(name: str, importer: str, modules: dict[str, Path]) -> set[str]:
    """The module `name` (or the nearest module above it, for a name inside a module) and the
    packages above it, without the packages already being imported above `importer`."""
    parts = name.split(".")
    found = set()
    for length in range(1, len(parts) + 1):
        candidate = ".".join(parts[:length])
        if candidate in modules and candidate != importer \
                and not importer.startswith(candidate + "."):
            found.add(candidate)
    return found


def imports(modules: dict[str, Path]) -> list[Import]:
    """Every import, by any module in `modules`, of another module in `modules`."""
    found = []
    for importer, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _named(node, importer, path.name == "__init__.py", modules):
                for imported in sorted(_with_packages_above(name, importer, modules)):
                    found.append(Import(importer, imported, node.lineno))
    return found


def circles(edges: list[Import], inside: str) -> list[list[Import]]:
    """The circles of imports among the modules of package `inside`: for each group of
    modules that import one another round (Tarjan's strongly connected components), the
    shortest circle through each of its modules, each as the imports that close it."""
    within = [edge for edge in edges
              if edge.importer.startswith(inside + ".") and edge.imported.startswith(inside + ".")]
    graph: dict[str, dict[str, Import]] = {}
    for edge in within:
        graph.setdefault(edge.importer, {}).setdefault(edge.imported, edge)
        graph.setdefault(edge.imported, {})
    found: list[list[Import]] = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        for module in sorted(component):
            circle = _circle_through(module, component, graph)
            start = circle.index(min(circle, key=lambda edge: edge.importer))
            circle = circle[start:] + circle[:start]
            if circle not in found:
                found.append(circle)
    return found


def _strongly_connected(graph: dict[str, dict[str, Import]]) -> list[set[str]]:
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                lowest[module] = min(lowest[module], lowest[target])
            elif target in on_stack:
                lowest[module] = min(lowest[module], index[target])
        if lowest[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            components.append(component)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return components


def _circle_through(start: str, component: set[str],
                    graph: dict[str, dict[str, Import]]) -> list[Import]:
    """A shortest way round from `start` back to itself (breadth first)."""
    paths: dict[str, list[Import]] = {start: []}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target, edge in sorted(graph[module].items()):
                if target == start:
                    return paths[module] + [edge]
                if target in component and target not in paths:
                    paths[target] = paths[module] + [edge]
                    following.append(target)
        frontier = following
    raise AssertionError("a strongly connected component always has a way round")
