"""Bring a state database to this code's revision: once per deployment, under a lock.

Workers starting together on a database behind the code: one migrates, the others wait for the
lock, then find it current. The lock is held by the transaction the migrations run in
(PostgreSQL: ``pg_advisory_xact_lock``; SQLite: ``BEGIN IMMEDIATE``); both databases have
transactional DDL, so a migration that fails leaves the database as it was.

Alembic is imported when a database is to be read against the scripts or migrated: a current
database (what every task finds) is recognised without it (:func:`.revisions.at_shipped_head`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from fincome_airflow.state.revisions import (
    BASELINE,
    SchemaStatus,
    Verdict,
    alembic_config,
    at_shipped_head,
    read_status,
    shipped_head,
)

log = logging.getLogger(__name__)

#: The advisory lock of the state database's migrations: the first 8 bytes (signed) of
#: sha256(b"fincome_airflow.state.migrate"), far from Airflow's own small lock ids.
PG_LOCK_KEY: Final = 0x7C4C_E637_7F72_5AA2


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock; commits on success."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            with conn.begin():
                conn.execute(select(func.pg_advisory_xact_lock(PG_LOCK_KEY)))
                yield conn
            return
        if conn.dialect.name != "sqlite":  # pragma: no cover - see store.upsert
            raise NotImplementedError(f"state database on {conn.dialect.name} is not supported")
        # The driver must not open transactions of its own: this one takes the write lock.
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        return read_status(conn)


def ensure_current(engine: Engine) -> SchemaStatus:
    """Upgrade the database to the code's head if it is behind (cheap and lock-free if current).

    :raise StateSchemaError: the database is ahead of the code or unrecognised; nothing written.
    """
    with engine.connect() as conn:
        if at_shipped_head(conn):
            return SchemaStatus(Verdict.CURRENT, shipped_head(), shipped_head())
    found = status(engine)
    if found.verdict is Verdict.CURRENT:
        return found
    found.check_writable()
    return upgrade(engine)


def upgrade(engine: Engine, target: str = "heads") -> SchemaStatus:
    """Stamp a first-release database as :data:`BASELINE`, then upgrade it to ``target``."""
    from alembic import command

    with migration_lock(engine) as conn:
        before = read_status(conn)
        before.check_writable()
        config = alembic_config(conn)
        if before.verdict is Verdict.FIRST_RELEASE:
            command.stamp(config, BASELINE)
        command.upgrade(config, target)
        after = read_status(conn)
    if after.revision != before.revision:
        was = before.revision or before.verdict.value
        log.info("State database migrated: %s -> %s", was, after.revision)
    return after


def downgrade(engine: Engine, target: str) -> SchemaStatus:
    """Undo the migrations after ``target`` (a revision this code ships, or ``base``)."""
    from alembic import command

    with migration_lock(engine) as conn:
        before = read_status(conn)
        before.check_writable()
        command.downgrade(alembic_config(conn), target)
        after = read_status(conn)
    log.info("State database downgraded: %s -> %s", before.revision, after.revision)
    return after
