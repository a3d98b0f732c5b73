"""The tests' throwaway databases: made on demand, each dropped in the background as soon as the
test module that made it is over (one a session fixture made, when the session ends), every one
of them before the session ends.

``DROP DATABASE`` waits for a checkpoint on PostgreSQL 15: 0.2 s on a quiet server, 1 to 8 s on
a busy one. Dropped one after another when the session ended, a worker's databases took tens of
seconds at the very end of the run; concurrent drops share their checkpoints, and a module's
drops now run while the next modules do. A unit test refuses network connections
(:mod:`support.network`) in every thread: a drop's connection is opened when its module ends,
then handed to the dropping thread.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PG_SERVER_URL: Final = os.environ.get(
    "FINCOME_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
MYSQL_SERVER_URL: Final = os.environ.get(
    "FINCOME_TEST_MYSQL_URL", "mysql+mysqldb://root@127.0.0.1:3306"
)
#: Scopes of the fixtures whose databases outlive their module.
OUTLIVE_MODULES: Final = frozenset({"session", "package"})
#: The scopes of the fixtures being set up, the innermost last (``tests/conftest.py`` keeps it).
_setting_up: list[str] = []
#: The factories alive, told when a module is over.
_live: list[ThrowawayDatabases] = []


@contextmanager
def setting_up(scope: str) -> Iterator[None]:
    """While a fixture of ``scope`` is being set up: its databases live as long as it."""
    _setting_up.append(scope)
    try:
        yield
    finally:
        _setting_up.pop()


def module_over() -> None:
    """A test module is over (its module fixtures torn down): drop what it made."""
    for databases in _live:
        databases.drop_module_databases()


class ThrowawayDatabases:
    """Databases named ``<prefix>_<random>`` on one server (``create_sql``, ``drop_sql`` and
    ``copy_sql`` take ``{name}``, ``copy_sql`` ``{template}`` too); :meth:`close` waits until
    every one is dropped."""

    def __init__(
        self, server_url: str, create_sql: str, drop_sql: str, copy_sql: str | None = None
    ) -> None:
        self.server_url = server_url
        self.create_sql, self.drop_sql, self.copy_sql = create_sql, drop_sql, copy_sql
        #: One connection a statement: a drop's is its own, however many run at once.
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._of_module: list[str] = []
        self._of_session: list[str] = []
        self._dropper = ThreadPoolExecutor(max_workers=8, thread_name_prefix="drop-database")
        self._pending: list[Future[None]] = []
        _live.append(self)

    def create(self, prefix: str = "fincome_test", template: str | None = None) -> str:
        """A new database (a copy of ``template`` if given); return its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        if template is not None and self.copy_sql is None:
            raise ValueError(f"{self.server_url}: no copy of a template database here")
        sql = self.create_sql if template is None else self.copy_sql
        assert sql is not None
        with self.admin.connect() as conn:
            conn.execute(text(sql.format(name=name, template=template)))
        outlives = bool(_setting_up) and _setting_up[-1] in OUTLIVE_MODULES
        (self._of_session if outlives else self._of_module).append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop_module_databases(self) -> None:
        """Start dropping the databases made since the last module ended, but a session's."""
        names, self._of_module = self._of_module, []
        for name in names:
            self.in_background(self._drop, self.admin.connect(), name)

    def in_background(self, call: Callable[..., None], *args: object) -> None:
        """Run ``call(*args)`` in the dropping threads; :meth:`close` waits for it too."""
        self._pending.append(self._dropper.submit(call, *args))

    def _drop(self, conn: Connection, name: str) -> None:
        with conn:
            conn.execute(text(self.drop_sql.format(name=name)))

    def wait(self) -> None:
        """Wait for the drops started so far (raise the first failure)."""
        for pending in self._pending:
            pending.result()

    def close(self) -> None:
        """Drop what is left, all at once; wait for every drop."""
        self._of_module += self._of_session
        self._of_session = []
        self.drop_module_databases()
        _live.remove(self)
        self._dropper.shutdown(wait=True)
        self.admin.dispose()
        self.wait()


def postgresql() -> ThrowawayDatabases:
    """Throwaway databases on the PostgreSQL server of ``FINCOME_TEST_PG_URL``; copies of a
    template database too."""
    return ThrowawayDatabases(
        PG_SERVER_URL,
        'CREATE DATABASE "{name}"',
        'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        copy_sql='CREATE DATABASE "{name}" TEMPLATE "{template}"',
    )


def mariadb() -> ThrowawayDatabases:
    """Throwaway databases on the MariaDB (or MySQL) server of ``FINCOME_TEST_MYSQL_URL``."""
    return ThrowawayDatabases(
        MYSQL_SERVER_URL,
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
        "DROP DATABASE IF EXISTS `{name}`",
    )
