"""Install the reference ERP's tables on an engine: ``schema.sql`` (PostgreSQL, SQLite) or its
MySQL/MariaDB twin ``schema_mysql.sql``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from fincome_erp.tables import TABLES

SCHEMA = "erp"
SCHEMA_FILE = Path(__file__).with_name("schema.sql")
MYSQL_SCHEMA_FILE = Path(__file__).with_name("schema_mysql.sql")
#: Backends whose ERP is the connection's own database (no schema ``erp`` inside it).
OWN_DATABASE_DIALECTS = frozenset({"mysql", "mariadb"})
# table names are constants of this package, never input
_COUNT = "SELECT count(*) FROM {table}"


def table_name(engine: Engine, table: str) -> str:
    """How ``engine`` names an ERP table: ``erp.<table>``, or ``<table>`` on MySQL/MariaDB."""
    if engine.dialect.name in OWN_DATABASE_DIALECTS:
        return table
    return f"{SCHEMA}.{table}"


def schema_statements(engine: Engine) -> list[str]:
    """The statements of the engine's DDL file, comments stripped, in file order."""
    path = MYSQL_SCHEMA_FILE if engine.dialect.name in OWN_DATABASE_DIALECTS else SCHEMA_FILE
    sql = path.read_text(encoding="utf-8")
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def install_schema(engine: Engine) -> None:
    """Create schema ``erp`` (PostgreSQL) and its tables; a no-op when they exist.

    :param engine: an engine from :func:`fincome_airflow.db.erp_engine` (on SQLite the ERP file
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
