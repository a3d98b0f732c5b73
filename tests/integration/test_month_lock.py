from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from fincome_airflow.state import schema
from fincome_airflow.state.locks import (
    MonthLockedError,
    acquire,
    month_lock,
    months_to_lock,
    release,
    release_all,
)
from fincome_airflow.state.store import StateStore

LEASE = dt.timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, create_pg_database):
    if request.param == "sqlite":
        return StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    return StateStore.from_url(create_pg_database("fincome_lock"))


def test_second_run_of_a_month_is_refused_while_the_first_sends(store):
    with month_lock(store, "2026-10", "run-a", lease=LEASE):
        with pytest.raises(MonthLockedError, match="run-a"):
            acquire(store, "2026-10", "run-b", lease=LEASE)
        acquire(store, "2026-09", "run-b", lease=LEASE)  # another month is free
    acquire(store, "2026-10", "run-b", lease=LEASE)  # released: the second run goes on


def test_a_retry_of_the_same_run_takes_its_lock_back(store):
    acquire(store, "2026-10", "run-a", lease=LEASE)  # then the task was killed
    acquire(store, "2026-10", "run-a", lease=LEASE)
    release(store, "2026-10", "run-a")


def test_a_lock_older_than_its_lease_is_taken_over(store):
    acquire(store, "2026-10", "run-a", lease=LEASE)
    with store.begin() as conn:
        old = dt.datetime.now(dt.UTC) - 2 * LEASE
        conn.execute(update(schema.month_locks).values(acquired_at=old))
    acquire(store, "2026-10", "run-b", lease=LEASE)
    with pytest.raises(MonthLockedError, match="run-b"):
        acquire(store, "2026-10", "run-a", lease=LEASE)


def test_chunks_of_one_run_send_together_and_the_month_stays_locked_until_released(store):
    with (
        month_lock(store, "2026-10", "run-a", lease=LEASE, release_at_exit=False),
        month_lock(store, "2026-10", "run-a", lease=LEASE, release_at_exit=False),
    ):
        pass  # a second chunk of the same run, at the same time: it goes on
    with pytest.raises(MonthLockedError, match="run-a"):  # both chunks done, the run is not
        acquire(store, "2026-10", "run-b", lease=LEASE)
    release(store, "2026-10", "run-a")  # the run's audit
    acquire(store, "2026-10", "run-b", lease=LEASE)


def test_a_sync_locks_the_open_month_the_closing_one_and_the_months_of_its_invoices():
    assert months_to_lock("2026-12", ["2026-08", "2026-12"], intraday=True) == [
        "2026-08",
        "2026-11",
        "2026-12",
    ]
    assert months_to_lock("2026-01", [], intraday=True) == ["2025-12", "2026-01"]
    assert months_to_lock("2026-11", ["2026-08"], intraday=False) == ["2026-11"]


def test_a_sync_waits_while_the_close_holds_the_month_that_just_ended(store):
    # the monthly close of November holds November; a sync of December wants Nov and Dec
    with (
        month_lock(store, "2026-11", "close", lease=LEASE, release_at_exit=False),
        pytest.raises(MonthLockedError, match="close"),
        month_lock(store, ["2026-12", "2026-11"], "sync", lease=LEASE),
    ):
        pytest.fail("the sync sent while the close held November")
    release_all(store, "close")  # the close's audit
    with (
        month_lock(store, ["2026-11", "2026-12"], "sync", lease=LEASE),
        pytest.raises(MonthLockedError, match="sync"),
    ):
        acquire(store, "2026-11", "close", lease=LEASE)
    acquire(store, "2026-11", "close", lease=LEASE)  # released at the sync's exit


def test_a_task_refused_a_later_month_releases_the_earlier_ones_it_took(store):
    acquire(store, "2026-12", "other", lease=LEASE)
    with (
        pytest.raises(MonthLockedError, match="other"),
        month_lock(store, ["2026-11", "2026-12"], "sync", lease=LEASE),
    ):
        pytest.fail("sent without December's lock")
    acquire(store, "2026-11", "other", lease=LEASE)  # November was taken, then let go


def test_chunks_refused_a_later_month_keep_the_earlier_ones_for_their_run(store):
    acquire(store, "2026-12", "other", lease=LEASE)
    with (
        pytest.raises(MonthLockedError, match="other"),
        month_lock(store, ["2026-11", "2026-12"], "sync", lease=LEASE, release_at_exit=False),
    ):
        pytest.fail("sent without December's lock")
    with pytest.raises(MonthLockedError, match="sync"):  # held for its sibling chunks
        acquire(store, "2026-11", "other", lease=LEASE)
    release_all(store, "sync")  # the sync's audit
    acquire(store, "2026-11", "other", lease=LEASE)
