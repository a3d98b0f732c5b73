"""The one upsert of the state database (PostgreSQL and SQLite)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


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
    A replaced row keeps its columns of ``keep``.
    """
    if not rows:
        return
    rows = list({tuple(row[k] for k in key): row for row in rows}.values())
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - other backends are not supported for the state database
        raise NotImplementedError(f"state database on {dialect} is not supported")
    updated = {c: stmt.excluded[c] for c in rows[0] if c not in key and c not in keep}
    if updated and replace:
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updated)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    conn.execute(stmt, list(rows))
