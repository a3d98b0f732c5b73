"""Install the reference ERP's tables (``schema.sql``, the single DDL source) on an engine."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from fincome_erp.tables import TABLES

SCHEMA = "erp"
SCHEMA_FILE = Path(__file__).with_name("schema.sql")
# table names are constants of this package, never input
_COUNT = "SELECT count(*) FROM {schema}.{table}"


def schema_statements() -> list[str]:
    """The statements of ``schema.sql``, comments stripped, in file order."""
    sql = SCHEMA_FILE.read_text(encoding="utf-8")
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def install_schema(engine: Engine) -> None:
    """Create schema ``erp`` (PostgreSQL) and its tables; a no-op when they exist.

    :param engine: an engine from :func:`fincome_airflow.db.erp_engine` (on SQLite the ERP file
        is attached as ``erp``).
    """
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        for statement in schema_statements():
            conn.exec_driver_sql(statement)


def clear_tables(engine: Engine) -> None:
    """Empty every ERP table (``--replace``)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f"{SCHEMA}.{t}" for t in TABLES))
        else:
            for table in TABLES:
                conn.exec_driver_sql(f"DELETE FROM {SCHEMA}.{table}")  # noqa: S608 (constants)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per ERP table."""
    with engine.connect() as conn:
        return {
            table: conn.exec_driver_sql(_COUNT.format(schema=SCHEMA, table=table)).scalar_one()
            for table in TABLES
        }
