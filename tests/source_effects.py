"""What a piece of Python source does outside its arguments, read with `ast` (the source is
never run): reading the clock, file or network I/O, randomness, the process's environment.
For the structure tests: policies do none of it, and only daemon/runtime/clock.py reads the
clock (tests/test_structure.py).

Names are resolved through the file's own imports, wherever they stand: with `from datetime
import datetime as moment`, `moment.now()` is `datetime.datetime.now`; with `import time`,
`time.monotonic` passed as a default is a clock read as much as a call is. A name counts
whether it is called or only referred to. What `ast` cannot follow (a module held in a
variable, `getattr(os, name)`) is not seen; `__import__` and `importlib.import_module` are
flagged instead, since they are how such code would get a module in the first place.

Path-like I/O methods (`.read_text()`, `.exists()`, `.iterdir()`, ...) are recognised by name
on any object, since ast does not know types: no project object should have methods of those
names that are not I/O. `.replace()` is left out (it is str.replace far more often than
Path.replace), and so is `.group()` (re.Match).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# Calls and references that read the clock (structlog's TimeStamper stamps each log line with
# the time it reads itself). The functions that convert a given moment (time.localtime,
# email.utils.formatdate, ...) read the clock only when no moment is given: see _NO_MOMENT.
CLOCK = frozenset({
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today",
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
    "time.perf_counter_ns", "time.process_time", "time.process_time_ns", "time.thread_time",
    "time.thread_time_ns", "time.clock_gettime", "time.clock_gettime_ns",
    "uuid.uuid1", "uuid.uuid6", "uuid.uuid7", "structlog.processors.TimeStamper",
})
# name -> (the position of the moment among the arguments, its keyword)
_NO_MOMENT = {"time.localtime": (0, "secs"), "time.gmtime": (0, "secs"),
              "time.ctime": (0, "secs"), "time.asctime": (0, "t"), "time.strftime": (1, "t"),
              "email.utils.formatdate": (0, "timeval"), "email.utils.localtime": (0, "dt")}

# Modules whose every use is I/O, randomness or the process's state: any name under them.
IMPURE_MODULES = frozenset({
    "os", "sys.stdin", "sys.stdout", "sys.stderr", "sys.argv",
    "io.open", "io.FileIO", "codecs.open", "builtins.open", "fileinput", "mmap",
    "shutil", "tempfile", "glob", "pathlib.Path.cwd", "pathlib.Path.home",
    "socket", "socketserver", "ssl", "select", "selectors", "subprocess", "multiprocessing",
    "signal", "http", "urllib.request", "ftplib", "smtplib", "poplib", "imaplib", "telnetlib",
    "requests", "httpx", "aiohttp", "urllib3", "sqlite3", "dbm", "shelve",
    "random", "secrets", "numpy.random", "uuid.uuid4", "time", "logging", "structlog",
    "importlib.import_module", "webbrowser", "getpass", "platform", "pwd", "grp", "resource",
    "ctypes", "cv2.imread", "cv2.imreadmulti", "cv2.imwrite", "cv2.imwritemulti",
    "cv2.VideoCapture", "cv2.VideoWriter", "cv2.CascadeClassifier", "cv2.FileStorage",
    "cv2.data", "cv2.dnn", "cv2.setNumThreads", "PIL.Image.open",
})
IMPURE_BUILTINS = frozenset({"open", "input", "print", "breakpoint", "__import__", "exec", "eval"})
_IMPURE = IMPURE_MODULES | {f"builtins.{name}" for name in IMPURE_BUILTINS}
PATH_IO_METHODS = frozenset({
    "read_text", "read_bytes", "write_text", "write_bytes", "open", "exists", "stat", "lstat",
    "iterdir", "glob", "rglob", "walk", "is_file", "is_dir", "is_symlink", "is_mount",
    "is_socket", "is_fifo", "is_block_device", "is_char_device", "mkdir", "rmdir", "unlink",
    "touch", "chmod", "lchmod", "rename", "readlink", "symlink_to", "hardlink_to", "samefile",
    "resolve", "absolute", "expanduser", "owner", "cwd", "home",
})
# A package's own files, read through importlib.resources (and only its `files()`): the
# bytes that ship inside an installed wheel, the same on every machine with that version, as
# much a part of the code as its modules (better-profanity's word list). Nothing Steward or
# the school writes can be reached this way.
PACKAGE_DATA = frozenset({"importlib.resources.files"})


@dataclass(frozen=True)
class Effect:
    """One thing the source does outside its arguments: the line, and what it is."""

    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def _bindings(tree: ast.AST) -> dict[str, set[str]]:
    """Each name the file's imports bind, with the dotted names it may stand for."""
    bound: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound.setdefault(alias.asname, set()).add(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    bound.setdefault(top, set()).add(top)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                bound.setdefault(alias.asname or alias.name, set()).add(
                    f"{node.module}.{alias.name}")
    return bound


def _defined(tree: ast.AST) -> set[str]:
    """Names the file defines itself (functions, classes, assignments, parameters): a
    function called `open` in a module is not the built-in."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


class _Reader:
    def __init__(self, source: str) -> None:
        self.tree = ast.parse(source)
        self.bound = _bindings(self.tree)
        self.defined = _defined(self.tree) - set(self.bound)

    def dotted(self, node: ast.expr) -> set[str]:
        """The dotted names a Name or an attribute chain on one may stand for."""
        if isinstance(node, ast.Name):
            if node.id in self.bound:
                return set(self.bound[node.id])
            if node.id in IMPURE_BUILTINS and node.id not in self.defined:
                return {f"builtins.{node.id}"}
            return set()
        if isinstance(node, ast.Attribute):
            return {f"{base}.{node.attr}" for base in self.dotted(node.value)}
        return set()

    def innermost(self, node: ast.expr) -> set[str]:
        """What a chain of calls and attributes starts from: for
        `resources.files("x").joinpath("y").read_text()`, `importlib.resources.files`."""
        while True:
            if isinstance(node, ast.Call):
                node = node.func
            elif isinstance(node, ast.Attribute) and not self.dotted(node):
                node = node.value
            else:
                return self.dotted(node)

    def chains(self):
        """Each Name and outermost resolvable attribute chain once, with its node."""
        inner = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute):
                inner.add(id(node.value))
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name | ast.Attribute) and id(node) not in inner:
                names = self.dotted(node)
                if names:
                    yield node, names

    def calls(self):
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                yield node, self.dotted(node.func)


def _under(name: str, modules: frozenset[str]) -> str | None:
    parts = name.split(".")
    for length in range(1, len(parts) + 1):
        if ".".join(parts[:length]) in modules:
            return ".".join(parts[:length])
    return None


def clock_reads(source: str) -> list[Effect]:
    """Every place `source` reads the clock."""
    reader = _Reader(source)
    found = []
    for node, names in reader.chains():
        for name in sorted(names):
            if name in CLOCK or _under(name, CLOCK):
                found.append(Effect(node.lineno, f"reads the clock ({name})"))
    for call, names in reader.calls():
        for name in sorted(names):
            if name not in _NO_MOMENT:
                continue
            position, keyword = _NO_MOMENT[name]
            given = len(call.args) > position or any(
                argument.arg == keyword for argument in call.keywords)
            if not given:
                found.append(Effect(call.lineno, f"reads the clock ({name}() with no moment)"))
    return sorted(set(found), key=lambda effect: (effect.line, effect.what))


def impurities(source: str) -> list[Effect]:
    """Everything in `source` that a pure function may not do: read the clock, do file or
    network I/O, draw random numbers, read or change the process's environment."""
    reader = _Reader(source)
    found = set(clock_reads(source))
    for node in ast.walk(reader.tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) \
                else [f"{node.module}.{alias.name}" for alias in node.names
                      if node.level == 0 and node.module]
            for module in modules:
                if _under(module, _IMPURE):
                    found.add(Effect(node.lineno, f"imports {module}"))
    for node, names in reader.chains():
        for name in names:
            impure = _under(name, _IMPURE)
            if impure:
                found.add(Effect(node.lineno, f"uses {name}"))
    for node in ast.walk(reader.tree):
        if isinstance(node, ast.Attribute) and node.attr in PATH_IO_METHODS \
                and not (reader.innermost(node) & PACKAGE_DATA):
            found.add(Effect(node.lineno, f"does file I/O (.{node.attr})"))
    return sorted(found, key=lambda effect: (effect.line, effect.what))
