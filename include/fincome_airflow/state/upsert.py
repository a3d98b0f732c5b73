"""The one upsert of the state database (PostgreSQL and SQLite)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fincome_airflow.engines import on_psycopg2

#: Rows per statement on PostgreSQL with psycopg2 (``execute_values``). SQLAlchemy runs an
#: ``INSERT ... ON CONFLICT`` of many rows as psycopg2's ``executemany``: one round trip per
#: row (the 130,000 refusals of a million-invoice month waited minutes on the server).
PAGE: Final = 1000


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    *,
    replace: bool = True,
    keep: Sequence[str] = (),
) -> None:
    """Insert ``rows``, replacing rows with the same ``key`` (PostgreSQL and SQLite), or
    keeping the existing ones if not ``replace``. Of rows sharing a key, the last one counts.
    Every row has the first row's columns. A replaced row keeps its columns of ``keep``.
    """
    if not rows:
        return
    rows = list({tuple(row[k] for k in key): row for row in rows}.values())
    columns = list(rows[0])
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - other backends are not supported for the state database
        raise NotImplementedError(f"state database on {dialect} is not supported")
    updated = {c: stmt.excluded[c] for c in columns if c not in key and c not in keep}
    if updated and replace:
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updated)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    if on_psycopg2(conn.dialect):
        _execute_values(conn, stmt, columns, rows)
    else:
        conn.execute(stmt, list(rows))


def _execute_values(
    conn: Connection, stmt: Any, columns: list[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """``stmt`` for many rows in pages of :data:`PAGE` rows per ``VALUES`` (values bound by
    psycopg2, as every statement of it is)."""
    from psycopg2.extras import execute_values

    one_row = stmt.values({c: bindparam(c) for c in columns})
    sql = str(one_row.compile(dialect=conn.dialect))
    template = "(" + ", ".join(f"%({c})s" for c in columns) + ")"
    head, found, tail = sql.partition(f"VALUES {template}")
    if not found:  # a column name SQLAlchemy renders otherwise: its own executemany
        conn.execute(stmt, list(rows))
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        execute_values(cursor, f"{head}VALUES %s{tail}", rows, template=template, page_size=PAGE)
    finally:
        cursor.close()
