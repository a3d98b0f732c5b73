"""SQL is built with bound parameters only: no f-string, ``%`` or ``.format`` SQL reaches
``execute()``, ``text()``, ``exec_driver_sql()`` or ``copy_expert()`` in ``include/`` or
``dev/``, except the allow-listed places that interpolate identifiers (which cannot be bound)
from fixed names.

Level: static (the source tree). It fails on any new interpolated SQL.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support.paths import REPO

SQL_CALLS = {"execute", "text", "exec_driver_sql", "copy_expert", "executemany"}

#: ``(file, function)`` -> why interpolation is safe there (identifiers from fixed names).
ALLOWED = {
    ("fincome_airflow/stage/staging.py", "_bulk_insert"): "COPY table and column names from "
    "the schema's Table objects, values streamed as CSV",
    ("fincome_erp/rows.py", "insert_rows"): "fixed ERP table names checked "
    "against TABLES; values bound",
    ("fincome_erp/database.py", "*"): "CREATE/DROP DATABASE names of tooling",
    ("fincome_erp/ddl.py", "*"): "the ERP generator's fixed schema and table names",
    ("fincome_erp/writers/postgres.py", "*"): "COPY into fixed ERP table names",
    ("fincome_erp/writers/sqlite.py", "*"): "INSERT into fixed ERP table names",
    ("fincome_dev/bench/*", "*"): "benchmark tooling on its own databases",
    ("fincome_airflow/state/retention.py", "vacuum"): "VACUUM of table names from the schema's "
    "Table objects (identifiers cannot be bound)",
}


def _interpolated(node: ast.AST, strings: dict[str, ast.AST]) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return isinstance(node.left, ast.Constant | ast.JoinedStr | ast.BinOp) and (
            _interpolated(node.left, strings) or not isinstance(node.right, ast.Constant)
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and isinstance(node.func.value, ast.Constant)
    if isinstance(node, ast.Name) and node.id in strings:
        return _interpolated(strings[node.id], {})
    return False


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _allowed(relative: str, function: str) -> bool:
    from fnmatch import fnmatch

    return any(
        fnmatch(relative, path) and (name == "*" or name == function) for path, name in ALLOWED
    )


def _calls_with_function(tree: ast.AST) -> list[tuple[ast.Call, str]]:
    """Every call with the name of the innermost function around it."""
    out: list[tuple[ast.Call, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
            else:
                if isinstance(child, ast.Call):
                    out.append((child, function))
                visit(child, function)

    visit(tree, "<module>")
    return out


def interpolated_sql(root: Path) -> list[str]:
    """``path:line function`` of every SQL call fed an interpolated string."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        strings = {
            target.id: node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node, name in _calls_with_function(tree):
            if (
                _callee(node) in SQL_CALLS
                and node.args
                and _interpolated(node.args[0], strings)
                and not _allowed(relative, name)
            ):
                found.append(f"{relative}:{node.lineno} {name}")
    return sorted(set(found))


#: The production distribution and the development ones (sandbox, reference ERP, tools).
DISTRIBUTIONS = ("include", "dev/fincome-erp", "dev/fincome-sandbox", "dev/fincome-dev")


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_no_sql_is_built_by_string_interpolation_in_the_distributions(distribution):
    assert interpolated_sql(REPO / distribution) == []


def test_the_check_catches_interpolated_sql(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(conn, name):\n"
        "    conn.execute(text(f\"SELECT * FROM t WHERE name = '{name}'\"))\n"
        "    q = 'DELETE FROM t WHERE id = %s' % name\n"
        "    conn.exec_driver_sql(q)\n"
        "    conn.execute(text('SELECT * FROM t WHERE id = {}'.format(name)))\n"
        "    conn.execute(text('SELECT * FROM t WHERE id = :id'), {'id': name})\n"
    )
    assert interpolated_sql(tmp_path) == ["bad.py:2 f", "bad.py:4 f", "bad.py:5 f"]
