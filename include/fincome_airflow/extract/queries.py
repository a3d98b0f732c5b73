"""Load the extraction SQL files by name and stream their rows in chunks.

The queries live in the package, ``fincome_airflow/extract/sql/<name>.sql`` (package data,
read through :mod:`importlib.resources`: they are in the wheel; readable, and replaceable by a
deployment whose ERP differs): ``FINCOME_SQL_DIR`` points at another folder. They name the ERP's
tables unqualified, so that one text runs on PostgreSQL, MySQL/MariaDB and SQLite: the ERP engine
(:mod:`fincome_airflow.engines`) makes the names resolve to the ERP's tables. Parameters are
always bound, lists (``*_ids``) as expanding ``IN`` parameters (never under ``NOT``: an empty
list is bound as ``IN (NULL)``, see :func:`stream_rows`); comments of the SQL files must not
hold a colon followed by a name (it would read as a parameter). A part several queries
share is written once, in a fragment ``_<name>.sql`` of the same folder, and stands in a query as
the line ``-- @include <name>``. On PostgreSQL the rows
come through a server-side cursor (``stream_results``), so memory stays flat whatever the size
of the month.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections import namedtuple
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from sqlalchemy import String, TextClause, bindparam, text
from sqlalchemy.engine import Connection, Dialect

from fincome_airflow.extract.prefetch import prefetched

log = logging.getLogger(__name__)

SQL_DIR_ENV = "FINCOME_SQL_DIR"
#: Rows fetched per round trip.
DEFAULT_CHUNK = 5000
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PARAM_RE = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
_MAX_INCLUDE_DEPTH = 5
_INCLUDE_RE = re.compile(r"^--\s*@include\s+(\S+)\s*$", re.MULTILINE)
_NOT_IN_LIST_RE = re.compile(r"\bNOT\s+IN\s+:[a-z_][a-z0-9_]*_ids\b", re.IGNORECASE)


def sql_dir() -> Traversable:
    """The folder of the extraction queries (the package's ``sql`` unless overridden)."""
    override = os.environ.get(SQL_DIR_ENV)
    return Path(override) if override else files(__package__) / "sql"


@cache
def _read(path: Traversable) -> str:
    return path.read_text(encoding="utf-8")


def load_sql(name: str) -> TextClause:
    """Return the query ``<name>.sql`` with its ``*_ids`` parameters marked as lists."""
    if not _NAME_RE.match(name):
        raise ValueError(f"not a query name: {name!r}")
    sql = _with_fragments(_read(sql_dir() / f"{name}.sql"), name)
    code = _strip_comments(sql)
    if _NOT_IN_LIST_RE.search(code):
        raise ValueError(f"query {name}: a list parameter must not follow NOT IN")
    params = set(_PARAM_RE.findall(code))
    lists = [
        bindparam(p, expanding=True, type_=String()) for p in sorted(params) if p.endswith("_ids")
    ]
    clause = text(sql)
    return clause.bindparams(*lists) if lists else clause


def _with_fragments(sql: str, name: str) -> str:
    """``sql`` with each ``-- @include <fragment>`` line replaced by ``_<fragment>.sql``."""

    def fragment(match: re.Match[str]) -> str:
        part = match.group(1)
        if not _NAME_RE.match(part):
            raise ValueError(f"query {name} includes {part!r}, not a fragment name")
        path = sql_dir() / f"_{part}.sql"
        if not path.is_file():
            raise FileNotFoundError(f"query {name} includes _{part}.sql, not in {sql_dir()}")
        return _read(path).rstrip()

    for _ in range(_MAX_INCLUDE_DEPTH):  # a fragment may include another
        sql, count = _INCLUDE_RE.subn(fragment, sql)
        if not count:
            return sql
    raise ValueError(f"query {name} includes fragments deeper than {_MAX_INCLUDE_DEPTH} levels")


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def stream_rows(
    conn: Connection,
    name: str,
    params: Mapping[str, Any],
    *,
    chunk: int = DEFAULT_CHUNK,
) -> Iterator[Any]:
    """Yield the rows of query ``name`` (attribute access by column), ``chunk`` per fetch.

    Each row is a named tuple of the query's columns (SQLAlchemy's ``Row`` reads a column by
    name in about 0.3 us, a named tuple in 0.01 us: the validation reads some twenty per
    record), or a ``Row`` if the columns cannot name a tuple's fields (a duplicate, a keyword).

    An empty list binds as ``[None]``: ``x IN (NULL)`` matches no row, as an empty list does,
    but SQLAlchemy writes an empty list as a subquery that PostgreSQL's planner supposes to
    match half of the table (every ``OR x IN :ids`` then reads the whole table, and the plans
    built on it are sized for a million rows), while it drops ``x IN (NULL)`` when it plans.
    """
    clause, bound = _bind(name, params, conn.dialect.name)
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(clause, bound)
    columns = tuple(result.keys())
    log.info("Extracting %s (columns: %s)", name, ", ".join(columns))
    record = record_type(columns)
    partitions = result.partitions(chunk)
    if conn.dialect.name == "postgresql":  # SQLite connections stay on their thread
        partitions = prefetched(partitions)
    try:
        for partition in partitions:
            if record is None:
                yield from partition
            else:
                yield from map(record._make, partition)
    finally:
        partitions.close()
        result.close()


def driver_query(name: str, params: Mapping[str, Any], dialect: Dialect) -> DriverQuery:
    """Query ``name`` as its driver runs it: the SQL in the driver's parameter style, with
    the lists expanded to one parameter per item, and the values to bind by name."""
    clause, bound = _bind(name, params, dialect.name)
    compiled = clause.bindparams(**bound).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    return DriverQuery(name, compiled.string, compiled.params)


@dataclass(frozen=True)
class DriverQuery:
    """One query, compiled for a DBAPI cursor (see :func:`driver_query`)."""

    name: str
    sql: str
    params: Mapping[str, Any] = field(repr=False)


def _bind(name: str, params: Mapping[str, Any], dialect: str) -> tuple[TextClause, dict[str, Any]]:
    """Query ``name`` and the values of the parameters it names."""
    clause = load_sql(name)
    wanted = set(clause._bindparams)
    bound = {k: _bound(k, v) for k, v in params.items()}
    if dialect == "sqlite":
        bound = {k: _sqlite_value(v) for k, v in bound.items()}
    missing = wanted - bound.keys()
    if missing:
        raise ValueError(f"query {name} needs parameters {sorted(missing)}")
    return clause, {k: bound[k] for k in wanted}


@cache
def record_type(columns: tuple[str, ...]) -> type[tuple[Any, ...]] | None:
    """The named tuple of a query's rows, or None when its columns cannot name one."""
    try:
        return namedtuple("ErpRow", columns)
    except ValueError:
        return None


def _bound(name: str, value: Any) -> Any:
    """A parameter as bound: sets as lists, an empty ``*_ids`` list as ``[None]``."""
    if isinstance(value, set | frozenset):
        value = list(value)
    if name.endswith("_ids") and isinstance(value, list | tuple) and not value:
        return [None]
    return value


def _sqlite_value(value: Any) -> Any:
    """SQLite compares dates as ISO text (``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS``)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
