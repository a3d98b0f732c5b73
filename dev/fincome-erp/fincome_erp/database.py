"""Resolve where the ERP lives and make sure that database exists."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

URL_ENV = "FINCOME_ERP_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/fincome_erp"
DEFAULT_SQLITE_PATH = Path(".airflow") / "erp.sqlite"


def resolve_url(target: str | None, url: str | None) -> URL:
    """``url`` if given; else the target's default (PostgreSQL: ``$FINCOME_ERP_URL`` or local)."""
    if url:
        return make_url(url)
    if target == "sqlite":
        return make_url(f"sqlite:///{DEFAULT_SQLITE_PATH}")
    return make_url(os.environ.get(URL_ENV) or DEFAULT_POSTGRES_URL)


#: Per server backend: the database to connect to while creating another, and the query
#: telling whether a database exists.
_ADMIN = {
    "postgresql": ("postgres", "SELECT 1 FROM pg_database WHERE datname = :name"),
    "mysql": (None, "SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"),
}


def ensure_database(url: URL) -> None:
    """Create the database of ``url`` (PostgreSQL, MySQL/MariaDB) or the SQLite file's folder
    if missing."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return
    if backend not in _ADMIN or not url.database:
        return
    probe = create_engine(url)
    try:
        with probe.connect():
            return  # it exists (and this user may lack access to the maintenance database)
    except OperationalError:
        pass
    finally:
        probe.dispose()
    admin_database, exists_sql = _ADMIN[backend]
    admin = create_engine(url.set(database=admin_database), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text(exists_sql), {"name": url.database}).first()
            if exists is None:
                quoted = admin.dialect.identifier_preparer.quote(url.database)
                conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    finally:
        admin.dispose()
