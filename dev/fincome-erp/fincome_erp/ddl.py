"""Install the reference ERP's tables on an engine (``schema.sql``, the single DDL source,
adapted for MySQL/MariaDB)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import Engine

from fincome_erp.tables import TABLES

SCHEMA = "erp"
SCHEMA_FILE = Path(__file__).with_name("schema.sql")
#: Backends whose ERP is the connection's own database (no schema ``erp`` inside it).
OWN_DATABASE_DIALECTS = frozenset({"mysql", "mariadb"})
#: schema.sql's tables on MySQL/MariaDB: a binary collation compares and orders identifiers as
#: PostgreSQL does (case and accents matter), utf8mb4 holds all of Unicode.
_MYSQL_TABLE_OPTIONS = " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
#: ``CREATE INDEX IF NOT EXISTS <name> ON erp.<table>`` (PostgreSQL's form, as schema.sql has it).
_INDEX = re.compile(rf"^(CREATE INDEX IF NOT EXISTS) (\w+) ON {SCHEMA}\.(\w+)")
# table names are constants of this package, never input
_COUNT = "SELECT count(*) FROM {table}"


def table_name(engine: Engine, table: str) -> str:
    """How ``engine`` names an ERP table: ``erp.<table>``, or ``<table>`` on MySQL/MariaDB."""
    if engine.dialect.name in OWN_DATABASE_DIALECTS:
        return table
    return f"{SCHEMA}.{table}"


def schema_statements(engine: Engine) -> list[str]:
    """The statements of ``schema.sql`` for ``engine``'s backend, comments stripped."""
    sql = SCHEMA_FILE.read_text(encoding="utf-8")
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    statements = [stmt.strip() for stmt in body.split(";") if stmt.strip()]
    if engine.dialect.name in OWN_DATABASE_DIALECTS:
        return [_for_mysql(stmt) for stmt in statements]
    if engine.dialect.name == "sqlite":  # the attached file's index: erp.<name> ON <table>
        return [_INDEX.sub(rf"\1 {SCHEMA}.\2 ON \3", stmt) for stmt in statements]
    return statements


def _for_mysql(statement: str) -> str:
    """A ``schema.sql`` statement for MySQL/MariaDB: the table in the connection's database,
    ``DATETIME(6)`` for ``timestamp`` (MySQL's TIMESTAMP updates itself and ends in 2038)."""
    statement = statement.replace(f" {SCHEMA}.", " ")
    if statement.startswith("CREATE INDEX"):
        return statement
    return re.sub(r"\btimestamp\b", "datetime(6)", statement) + _MYSQL_TABLE_OPTIONS


def install_schema(engine: Engine) -> None:
    """Create schema ``erp`` (PostgreSQL) and its tables; a no-op when they exist.

    :param engine: an engine from :func:`fincome_airflow.engines.erp_engine` (on SQLite the ERP file
        is attached as ``erp``; on MySQL/MariaDB the tables go into the URL's database).
    """
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        for statement in schema_statements(engine):
            conn.exec_driver_sql(statement)


def clear_tables(engine: Engine) -> None:
    """Empty every ERP table (``--replace``)."""
    names = [table_name(engine, t) for t in TABLES]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(names))
        else:
            for name in names:
                conn.exec_driver_sql(f"DELETE FROM {name}")  # noqa: S608 (constants)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per ERP table."""
    with engine.connect() as conn:
        return {
            table: conn.exec_driver_sql(_COUNT.format(table=table_name(engine, table))).scalar_one()
            for table in TABLES
        }
