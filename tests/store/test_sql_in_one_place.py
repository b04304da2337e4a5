"""Every SQL statement of the daemon lives in daemon/runtime/store.py (issue 17): the other
modules call the Store's named methods, so that a change of schema is one file's change and
its migration. Tests may still read the database with SQL of their own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "daemon" / "runtime" / "store.py"
SQL = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b"
                 r"|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\b(?:CREATE|ALTER|DROP)\s+"
                 r"(?:TABLE|INDEX)\b|\bPRAGMA\b")
# The Store's raw doors, kept for tests: daemon code outside the store never opens them.
RAW_DOORS = {"execute", "executemany", "executescript", "query", "transaction"}


def _link_parents(tree: ast.AST) -> None:
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child.parent = parent  # type: ignore[attr-defined]


def findings(path: Path) -> list[str]:
    """Where `path` holds SQL or reaches past the Store: `line: what`, one a finding."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    _link_parents(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""])
            if any(name.split(".")[0] == "sqlite3" for name in modules):
                found.append((node.lineno, "imports sqlite3"))
        elif isinstance(node, ast.Attribute):
            called = isinstance(node.parent, ast.Call) and node.parent.func is node
            if node.attr == "_db" or (called and node.attr in RAW_DOORS):
                found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(
                node.value):
            found.append((node.lineno, f"SQL {node.value[:40]!r}"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_no_daemon_module_but_the_store_holds_sql_or_opens_the_database():
    offenders = {}
    for path in sorted((ROOT / "daemon").rglob("*.py")):
        if path != STORE and (found := findings(path)):
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_the_check_finds_each_way_of_reaching_the_database(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sqlite3\n"
        "def f(store, db):\n"
        "    store.query('x = ?', (1,))\n"
        "    with store.transaction() as db:\n"
        "        db.execute('anything')\n"
        "    store._db.total_changes\n"
        "    text = ('SELECT name '\n"
        "            'FROM submissions')\n"
        "    return f'UPDATE replies SET status = {text}', 'PRAGMA user_version'\n")
    assert findings(sample) == [
        "1: imports sqlite3", "3: .query", "4: .transaction", "5: .execute", "6: ._db",
        "7: SQL 'SELECT name FROM submissions'", "9: SQL 'PRAGMA user_version'",
        "9: SQL 'UPDATE replies SET status = '"]


def test_the_check_leaves_words_that_only_look_like_sql_alone(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(store):\n"
        "    '''Select the replies from the platform; update the checklist.'''\n"
        "    return store.open_checklist_items('handover:'), store.query\n")
    assert findings(sample) == []
