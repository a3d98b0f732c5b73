"""SQLAlchemy engines for the databases the project reads and writes (ERP, state).

Both are Airflow connections (``erp_db``, ``fincome_state``): the hook of the connection's type
(the Postgres, MySQL or SQLite provider's) builds the engine, then :func:`configure` adds this
project's settings. Tests and command-line tools start from a plain SQLAlchemy URL instead
(:func:`make_engine`); the settings are the same.

The extraction SQL names the ERP's tables unqualified (one text for every backend); an ERP
engine makes them resolve to the ERP: on PostgreSQL schema ``erp`` (the search path), on
MySQL/MariaDB the connection's database (its schema field), on SQLite the ERP file, attached as
``erp`` to an in-memory main database. On PostgreSQL and SQLite ``erp.<table>`` reads them too.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import URL, create_engine, event
from sqlalchemy.engine import Dialect, Engine, make_url

if TYPE_CHECKING:
    from airflow.sdk import Connection

#: How long a SQLite connection waits for another one's lock.
SQLITE_BUSY_TIMEOUT_S: Final = 60
#: The driver of ``postgres`` connections whose extra names none (``sqlalchemy_scheme``):
#: psycopg2, whose ``COPY`` the staging writes with; the provider would pick psycopg 3.
POSTGRES_SCHEME: Final = "postgresql+psycopg2"
#: Extra of a connection that bypasses its hook: any database SQLAlchemy reaches.
URL_EXTRA: Final = "sqlalchemy_url"


def on_psycopg2(dialect: Dialect) -> bool:
    """Whether ``dialect`` is PostgreSQL through psycopg2, whose own means the project uses
    there: ``COPY``, ``execute_values``, named cursors fed to named tuples."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg2"


def engine_for_connection(conn_id: str, *, erp: bool = False) -> Engine:
    """Engine for an Airflow connection id (looked up at call time, never at DAG parse time).

    :param erp: an ERP engine (its tables found unqualified, see the module's docstring).
    """
    from airflow.sdk import BaseHook

    return engine_from_connection(BaseHook.get_connection(conn_id), erp=erp)


def erp_engine_for_connection(conn_id: str) -> Engine:
    """ERP engine (see :func:`erp_engine`) for an Airflow connection id."""
    return engine_for_connection(conn_id, erp=True)


def engine_from_connection(conn: Connection, *, erp: bool = False) -> Engine:
    """Engine built by the hook of ``conn``'s type, with this project's settings.

    A ``sqlalchemy_url`` extra bypasses the hook (a database no installed provider serves).
    ``postgres`` connections use psycopg2 unless their ``sqlalchemy_scheme`` extra says otherwise.

    :raise AirflowException: no installed provider serves the connection's type.
    :raise ValueError: the type's hook is no database hook.
    """
    extra = conn.extra_dejson or {}
    if extra.get(URL_EXTRA):
        return make_engine(extra[URL_EXTRA], erp=erp)
    params: dict[str, Any] = {}
    if conn.conn_type == "postgres" and not extra.get("sqlalchemy_scheme"):
        params["sqlalchemy_scheme"] = POSTGRES_SCHEME
    hook = conn.get_hook(hook_params=params)  # the hook reads the connection again, by its id
    if not hasattr(hook, "get_sqlalchemy_engine"):
        raise ValueError(
            f"Connection {conn.conn_id!r} has type {conn.conn_type!r}, whose hook builds no "
            f"SQLAlchemy engine: use postgres, mysql or sqlite, or a {URL_EXTRA!r} extra."
        )
    engine = hook.get_sqlalchemy_engine(engine_kwargs=engine_options(hook.dialect_name))
    return configure(engine, erp=erp)


def make_engine(url: URL | str, *, erp: bool = False, **kwargs: Any) -> Engine:
    """Engine for a plain SQLAlchemy URL (tests, command-line tools), configured as the
    connections' engines are; ``kwargs`` go to :func:`sqlalchemy.create_engine`."""
    url = make_url(url)
    options = engine_options(url.get_backend_name()) | kwargs
    return configure(create_engine(url, **options), erp=erp)


def erp_engine(url: URL | str, **kwargs: Any) -> Engine:
    """ERP engine for a plain URL: its tables found unqualified on every backend."""
    return make_engine(url, erp=True, **kwargs)


def engine_options(dialect: str) -> dict[str, Any]:
    """:func:`~sqlalchemy.create_engine` arguments of an engine on ``dialect``: servers get
    their connections tested at checkout (a restarted server costs no failed task); MySQL
    drivers get the character set holding all of Unicode (their default may not)."""
    if dialect == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if dialect in ("mysql", "mariadb"):
        return {"pool_pre_ping": True, "connect_args": {"charset": "utf8mb4"}}
    return {"pool_pre_ping": True}


def configure(engine: Engine, *, erp: bool = False) -> Engine:
    """Add this project's settings to ``engine`` (before its first connection).

    A SQLite state database gets WAL and a busy timeout, so that parallel tasks can share it.
    An ERP engine finds the ERP's tables unqualified (see the module's docstring).
    """
    dialect = engine.dialect.name
    if dialect == "sqlite":
        if erp:
            event.listen(engine, "do_connect", _attach_erp)
        else:
            event.listen(engine, "connect", _sqlite_pragmas)
    elif dialect == "postgresql" and erp:
        event.listen(engine, "connect", _erp_search_path)
    return engine


def _erp_search_path(dbapi_conn: Any, _record: Any) -> None:
    """Schema ``erp`` first on the search path, set outside any transaction."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    cursor = dbapi_conn.cursor()
    cursor.execute("SET search_path TO erp, public")
    cursor.close()
    dbapi_conn.autocommit = autocommit


def _attach_erp(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
    """Open an in-memory database with the URL's file attached as ``erp`` (``do_connect``)."""
    (path,) = cargs
    dbapi_conn = dialect.loaded_dbapi.connect(":memory:", **cparams)
    dbapi_conn.execute("ATTACH DATABASE ? AS erp", (path,))
    dbapi_conn.execute("PRAGMA erp.busy_timeout=60000")
    return dbapi_conn


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
