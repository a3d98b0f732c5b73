"""Month locks: two runs of the same month never send at once.

A lock is held by a run key. Each sending task takes it when it starts (the same run key takes
it back at once: a retry, or another chunk of the run), which also renews its lease. A lone task
releases it at its end; the chunks of one run may send concurrently, so none of them releases it
(:func:`month_lock` with ``release_at_exit=False``): the run's audit does, once every chunk is
done. The lease (at least a sending task's ``execution_timeout``) ends a lock whose holder died
without releasing it (a SIGKILL, a lost worker, a run stopped before its audit): older than
``lease`` since the last of its tasks started, no task of that run can still be sending, and
another run may take it over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore, utcnow


class MonthLockedError(RuntimeError):
    """Another run is sending the same month."""


def acquire(store: StateStore, month: str, run_key: str, *, lease: dt.timedelta) -> None:
    """Take the month's lock for ``run_key`` or raise :class:`MonthLockedError`."""
    locks = schema.month_locks
    now = utcnow()
    with store.begin() as conn:
        taken = conn.execute(
            update(locks)
            .where(
                locks.c.month == month,
                or_(locks.c.run_key == run_key, locks.c.acquired_at < now - lease),
            )
            .values(run_key=run_key, acquired_at=now)
        ).rowcount
    if taken:
        return
    try:
        with store.begin() as conn:
            conn.execute(insert(locks).values(month=month, run_key=run_key, acquired_at=now))
        return
    except IntegrityError:
        pass
    with store.begin() as conn:
        holder = conn.execute(
            select(locks.c.run_key, locks.c.acquired_at).where(locks.c.month == month)
        ).first()
    since = holder.acquired_at.isoformat(timespec="seconds") if holder else "?"
    raise MonthLockedError(
        f"Month {month} is being sent by another run ({holder.run_key if holder else '?'}, "
        f"since {since}); this run waits for it (the task retries later)."
    )


def release(store: StateStore, month: str, run_key: str) -> None:
    """Release the lock if ``run_key`` holds it."""
    locks = schema.month_locks
    with store.begin() as conn:
        conn.execute(delete(locks).where(locks.c.month == month, locks.c.run_key == run_key))


@contextmanager
def month_lock(
    store: StateStore,
    month: str,
    run_key: str,
    *,
    lease: dt.timedelta,
    release_at_exit: bool = True,
) -> Iterator[None]:
    """Hold the month's lock for the duration of the block; with ``release_at_exit=False``
    (one chunk of several) it stays held for the run's other chunks, until :func:`release`."""
    acquire(store, month, run_key, lease=lease)
    try:
        yield
    finally:
        if release_at_exit:
            release(store, month, run_key)
