"""The month's queries started before their turn, on one shared snapshot (PostgreSQL ERPs).

Run one after another, the queries of a 1,000,000-invoice month kept Python waiting ~9 s for
their first rows (their scopes: hash joins, the customers' recursive parent walk), and each
``fetchmany`` waited for the server. Here each query runs on a connection of its own, opened
before its turn, and a reader thread (:class:`~fincome_airflow.extract.prefetch.Prefetcher`)
fetches its first chunks: the database computes the next queries while Python validates the
current one.

Every query sees what it saw when all ran in the main connection's REPEATABLE READ
transaction: that transaction exports its snapshot (``pg_export_snapshot()``) and each reader's
transaction imports it (``SET TRANSACTION SNAPSHOT``) before its query. An export can be
imported while the exporting transaction is open: the main connection's stays open until the
last query is read. The snapshot's id is kept out of logs and exception texts.

Rows go straight from psycopg2's named cursor into the queries' named tuples, without
SQLAlchemy's ``Row`` per row (~6% of the extraction's CPU): a textual query's columns have no
result processors on psycopg2, so the values are the ones SQLAlchemy would hand over.

Memory stays bounded, whatever the month's size: at most ``ahead + 1`` queries are open, each
with at most ``depth`` chunks read and not yet taken (``(ahead + 1) x depth x chunk`` rows).

Other ERPs read their queries in turn on the main connection (:class:`InTurn`): MySQL/MariaDB
cannot hand a snapshot to another session (``START TRANSACTION WITH CONSISTENT SNAPSHOT`` is a
session's own), SQLite connections stay on their thread, and another PostgreSQL driver than
psycopg2 keeps SQLAlchemy's streaming (the named cursor used here is psycopg2's).
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, Protocol

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from fincome_airflow.engines import on_psycopg2
from fincome_airflow.extract.prefetch import Prefetcher
from fincome_airflow.extract.queries import (
    DEFAULT_CHUNK,
    DriverQuery,
    driver_query,
    record_type,
    stream_rows,
)

log = logging.getLogger(__name__)

#: How many queries run ahead of the one being read. Two start products, plans and customers
#: together (their first rows cost 1.5 + 1.4 + 4.9 s at 1M invoices, one after another); each
#: later query then starts when the turn of the one two before it begins, so its first rows
#: (0.3-0.8 s) are ready long before its turn (a turn lasts 10-34 s at 1M). More would gain
#: nothing and would hold more connections idle in a transaction, and ``depth`` chunks each.
AHEAD: Final = 2
#: Chunks read ahead per query.
DEPTH: Final = 2

Query = tuple[str, Mapping[str, Any]]


class MonthQueries(Protocol):
    def rows(self, name: str) -> Iterator[Any]:
        """The rows of query ``name``, as :func:`~fincome_airflow.extract.queries.stream_rows`
        yields them."""
        ...


@contextmanager
def month_queries(
    conn: Connection, queries: Sequence[Query], *, chunk: int = DEFAULT_CHUNK, ahead: int = AHEAD
) -> Iterator[MonthQueries]:
    """The run's ``queries`` (name and parameters, read in this order) on ``conn``'s snapshot.

    On PostgreSQL through psycopg2 they are read ahead (:class:`ReadAhead`), on ``conn``'s
    transaction's snapshot; elsewhere in turn on ``conn``. Leaving the block stops every reader
    and closes its connection, whether the queries were read to their end or not.
    """
    if on_psycopg2(conn.dialect):
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        compiled = [driver_query(name, params, conn.dialect) for name, params in queries]
        with ReadAhead(conn.engine, snapshot, compiled, chunk=chunk, ahead=ahead) as read:
            yield read
    else:
        yield InTurn(conn, dict(queries), chunk)


class InTurn:
    """Each query run when its rows are asked for, on the main connection."""

    def __init__(self, conn: Connection, queries: Mapping[str, Mapping[str, Any]], chunk: int):
        self._conn = conn
        self._queries = queries
        self._chunk = chunk

    def rows(self, name: str) -> Iterator[Any]:
        return stream_rows(self._conn, name, self._queries[name], chunk=self._chunk)


class ReadAhead:
    """Queries read by threads on connections of ``engine``, each on the exported ``snapshot``.

    Use it as a context manager; ask for the queries' rows in their order. Asking for query
    ``i`` starts the queries up to ``i + ahead``; entering starts the first ``ahead + 1``.
    """

    def __init__(
        self,
        engine: Engine,
        snapshot: str,
        queries: Sequence[DriverQuery],
        *,
        chunk: int = DEFAULT_CHUNK,
        ahead: int = AHEAD,
        depth: int = DEPTH,
    ):
        self._engine = engine
        self._snapshot = snapshot
        self._queries = list(queries)
        self._chunk = chunk
        self._ahead = ahead
        self._depth = depth
        self._readers: list[Prefetcher[Any]] = []

    def __enter__(self) -> ReadAhead:
        self._start_through(self._ahead)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every reader and wait for it (each closes its cursor and connection)."""
        for reader in self._readers:
            reader.close()

    def rows(self, name: str) -> Iterator[Any]:
        index = next((i for i, q in enumerate(self._queries) if q.name == name), None)
        if index is None:
            raise KeyError(f"query {name} is not one of this run's")
        self._start_through(index + self._ahead)
        return self._rows(self._readers[index], self._queries[index])

    def _start_through(self, last: int) -> None:
        for query in self._queries[len(self._readers) : last + 1]:
            chunks = snapshot_chunks(self._engine, self._snapshot, query, self._chunk)
            self._readers.append(Prefetcher(chunks, self._depth, name=f"fincome-{query.name}"))

    def _rows(self, reader: Prefetcher[Any], query: DriverQuery) -> Iterator[Any]:
        try:
            chunks = iter(reader)
            try:
                columns = next(chunks, None)
                if columns is None:  # closed before its first item
                    return
                log.info("Extracting %s (columns: %s)", query.name, ", ".join(columns))
                record = row_type(columns)
                for chunk in chunks:
                    yield from map(record._make, chunk)
            except Exception as error:
                raise named_error(error, query, self._engine) from error
        finally:
            reader.close()


def snapshot_chunks(engine: Engine, snapshot: str, query: DriverQuery, chunk: int) -> Iterator[Any]:
    """The column names of ``query``, then its rows ``chunk`` per list, read on a connection
    of ``engine`` whose transaction imports ``snapshot``. Closing the generator closes the
    cursor and gives the connection back (its transaction rolled back)."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        dbapi = conn.connection.dbapi_connection
        try:
            # psycopg2 begins the transaction: the import is its first statement
            with dbapi.cursor() as setup:
                setup.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
            cursor = dbapi.cursor(name=f"fincome_{query.name}")
            try:
                cursor.execute(query.sql, query.params)
                rows = cursor.fetchmany(chunk)
                yield tuple(column.name for column in cursor.description)
                while rows:
                    yield rows
                    if len(rows) < chunk:
                        break
                    rows = cursor.fetchmany(chunk)
            finally:
                if not dbapi.closed:
                    cursor.close()
        except dbapi_error:
            if dbapi.closed:  # lost: not given back to the pool
                conn.invalidate()
            raise


def row_type(columns: tuple[str, ...]) -> type[tuple[Any, ...]]:
    """The named tuple of a query's rows; a column that cannot name a field (a duplicate, a
    keyword, ``?column?``) is renamed ``_<position>``."""
    return record_type(columns) or namedtuple("ErpRow", columns, rename=True)


def named_error(error: Exception, query: DriverQuery, engine: Engine) -> Exception:
    """``error`` raised by a reader, naming its query; a driver's error as SQLAlchemy wraps
    it (a ``DBAPIError``, as the queries read in turn raise)."""
    detail = f"query {query.name}"
    if isinstance(error, DBAPIError):
        error.add_detail(detail)
        return error
    driver_error = engine.dialect.loaded_dbapi.Error
    if isinstance(error, driver_error):
        wrapped = DBAPIError.instance(
            query.sql, query.params, error, driver_error, dialect=engine.dialect
        )
        wrapped.add_detail(detail)
        return wrapped
    error.add_note(detail)
    return error
