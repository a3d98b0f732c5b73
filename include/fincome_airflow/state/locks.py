"""Month locks: two runs never send records of the same month at once.

A lock is held by a run key. Each sending task takes it when it starts (the same run key takes
it back at once: a retry, or another chunk of the run), which also renews its lease. A lone task
releases it at its end; the chunks of one run may send concurrently, so none of them releases it
(:func:`month_lock` with ``release_at_exit=False``): the run's audit does, once every chunk is
done. The lease (at least a sending task's ``execution_timeout``) ends a lock whose holder died
without releasing it (a SIGKILL, a lost worker, a run stopped before its audit): older than
``lease`` since the last of its tasks started, no task of that run can still be sending, and
another run may take it over.

An intraday sync locks every month it sends records of (:func:`months_to_lock`), oldest first:
two runs that each hold some of their months always wait on a later month than any they hold,
so they never wait on each other (ordered locking; a refused task retries later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from fincome_airflow.month import BillingMonth
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore, utcnow


class MonthLockedError(RuntimeError):
    """Another run is sending the same month."""


def months_to_lock(month: str, sent_months: Iterable[str], *, intraday: bool) -> list[str]:
    """The months a run locks, oldest first.

    A monthly run locks its month (the runs of a backfill send their months in parallel). An
    intraday sync sends changes of any month: it locks the open month, the months of the
    invoices it sends (late changes to closed months) and the month before the open one:
    customers and subscriptions belong to no single month, and on the 1st the close of the
    month that just ended sends them too.
    """
    if not intraday:
        return [month]
    return sorted({month, str(BillingMonth.parse(month).previous()), *sent_months})


def acquire(store: StateStore, month: str, run_key: str, *, lease: dt.timedelta) -> bool:
    """Take the month's lock for ``run_key`` or raise :class:`MonthLockedError`; return whether
    it was taken now (``False``: ``run_key`` held it already and renewed it)."""
    locks = schema.month_locks
    now = utcnow()
    with store.begin() as conn:
        held = conn.execute(select(locks.c.run_key).where(locks.c.month == month)).scalar()
        taken = conn.execute(
            update(locks)
            .where(
                locks.c.month == month,
                or_(locks.c.run_key == run_key, locks.c.acquired_at < now - lease),
            )
            .values(run_key=run_key, acquired_at=now)
        ).rowcount
    if taken:
        return held != run_key
    try:
        with store.begin() as conn:
            conn.execute(insert(locks).values(month=month, run_key=run_key, acquired_at=now))
        return True
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


def release_all(store: StateStore, run_key: str) -> None:
    """Release every month lock ``run_key`` holds (its audit: nothing of the run sends any more)."""
    locks = schema.month_locks
    with store.begin() as conn:
        conn.execute(delete(locks).where(locks.c.run_key == run_key))


@contextmanager
def month_lock(
    store: StateStore,
    months: str | Iterable[str],
    run_key: str,
    *,
    lease: dt.timedelta,
    release_at_exit: bool = True,
) -> Iterator[None]:
    """Hold the lock of each of ``months`` (taken oldest first) for the duration of the block;
    with ``release_at_exit=False`` (one chunk of several) they stay held for the run's other
    chunks, until :func:`release_all`. Refused one month, the block does not run; a lone task
    releases the months it took (a chunk keeps them: a sibling chunk may be sending under them,
    and holding earlier months while waiting on a later one cannot deadlock)."""
    wanted = sorted({months} if isinstance(months, str) else set(months))
    taken: list[str] = []
    try:
        for month in wanted:
            if acquire(store, month, run_key, lease=lease):
                taken.append(month)
    except MonthLockedError:
        for month in taken if release_at_exit else ():
            release(store, month, run_key)
        raise
    try:
        yield
    finally:
        if release_at_exit:
            for month in wanted:
                release(store, month, run_key)
