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


def ensure_database(url: URL) -> None:
    """Create the PostgreSQL database of ``url`` (or the SQLite file's folder) if missing."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return
    if backend != "postgresql" or not url.database:
        return
    probe = create_engine(url)
    try:
        with probe.connect():
            return  # it exists (and this user may lack access to the maintenance database)
    except OperationalError:
        pass
    finally:
        probe.dispose()
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
            if exists is None:
                quoted = admin.dialect.identifier_preparer.quote(url.database)
                conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    finally:
        admin.dispose()
