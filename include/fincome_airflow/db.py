"""SQLAlchemy engines for the databases the project reads and writes (ERP, state).

Both are Airflow connections (``erp_db``, ``fincome_state``); an engine can also be built from a
plain SQLAlchemy URL, which is what tests and the command-line tools do.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import URL, create_engine, event
from sqlalchemy.engine import Engine, make_url

if TYPE_CHECKING:
    from airflow.sdk import Connection

#: How long a SQLite connection waits for another one's lock.
SQLITE_BUSY_TIMEOUT_S: Final = 60

_DRIVER_BY_CONN_TYPE = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "sqlite": "sqlite",
}


def url_from_connection(conn: Connection) -> URL:
    """Translate an Airflow connection into a SQLAlchemy URL.

    A ``sqlalchemy_url`` extra wins (any database SQLAlchemy reaches); else the connection type
    picks the driver. For ``sqlite`` the host holds the file path, as in Airflow's SQLite hook.
    """
    extra = conn.extra_dejson or {}
    if extra.get("sqlalchemy_url"):
        return make_url(extra["sqlalchemy_url"])
    driver = _DRIVER_BY_CONN_TYPE.get(conn.conn_type or "")
    if driver is None:
        raise ValueError(
            f"Connection {conn.conn_id!r} has type {conn.conn_type!r}; use postgres or sqlite, "
            "or give a 'sqlalchemy_url' extra."
        )
    if driver == "sqlite":
        return URL.create("sqlite", database=conn.host or conn.schema or ":memory:")
    return URL.create(
        driver,
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
    )


def make_engine(url: URL | str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so that parallel tasks can share it."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode, retrying while it is locked.

    The switch does not wait for locks, and a new database only records WAL at its first write:
    processes opening a new file together (one of them creating the tables) collide here.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def erp_engine(url: URL | str, **kwargs: Any) -> Engine:
    """Engine on which the ERP's tables are ``erp.<table>`` on every backend.

    PostgreSQL keeps them in schema ``erp``; a SQLite ERP file is attached as ``erp`` to an
    in-memory main database, so that one SQL text serves both.
    """
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return make_engine(url, **kwargs)
    path = url.database or ":memory:"
    engine = create_engine("sqlite://", **kwargs)

    @event.listens_for(engine, "connect")
    def _attach(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("ATTACH DATABASE ? AS erp", (path,))
        cursor.execute("PRAGMA erp.busy_timeout=60000")
        cursor.close()

    return engine


def engine_for_connection(conn_id: str, **kwargs: Any) -> Engine:
    """Engine for an Airflow connection id (looked up at call time, never at DAG parse time)."""
    from airflow.sdk import BaseHook

    return make_engine(url_from_connection(BaseHook.get_connection(conn_id)), **kwargs)


def erp_engine_for_connection(conn_id: str, **kwargs: Any) -> Engine:
    """ERP engine (see :func:`erp_engine`) for an Airflow connection id."""
    from airflow.sdk import BaseHook

    return erp_engine(url_from_connection(BaseHook.get_connection(conn_id)), **kwargs)
