"""Row writers: stream generated rows into an ERP database (COPY on PostgreSQL, batches on
SQLite and MySQL/MariaDB).

A writer is a context manager with ``add(table, row)``: it commits on a clean exit and rolls
back when the block raises.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from fincome_erp.ddl import OWN_DATABASE_DIALECTS
from fincome_erp.writers.mysql import MysqlWriter
from fincome_erp.writers.postgres import PostgresWriter
from fincome_erp.writers.sqlite import SqliteWriter


def writer_for(engine: Engine) -> PostgresWriter | SqliteWriter:
    """The writer of the engine's backend."""
    if engine.dialect.name == "postgresql":
        return PostgresWriter(engine)
    if engine.dialect.name == "sqlite":
        return SqliteWriter(engine)
    if engine.dialect.name in OWN_DATABASE_DIALECTS:
        return MysqlWriter(engine)
    raise ValueError(
        f"no ERP writer for {engine.dialect.name!r}; use PostgreSQL, MySQL/MariaDB or SQLite"
    )


__all__ = ["MysqlWriter", "PostgresWriter", "SqliteWriter", "writer_for"]
