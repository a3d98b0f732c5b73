"""The staging's batches written behind the extraction (PostgreSQL state database): the exit
returns with every batch committed, a failure of the writer reaches the extraction, and a
failure of either side leaves whole batches only and no thread behind."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg2.errors import UniqueViolation
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from fincome_airflow.reasons import Problem
from fincome_airflow.stage import staging
from fincome_airflow.stage.staging import WRITE_BEHIND_DEPTH, StagingWriter
from fincome_airflow.stage.write_behind import WriteBehind, WriteBehindError
from fincome_airflow.state.store import StateStore
from fincome_airflow.validation.decisions import Decision

RUN = "writebehind-run"
#: Rows per batch here (each decision below is one row: a staged record or one refusal).
BATCH = 4
START = dt.datetime(2026, 10, 1)
#: How long a test waits for the writer to reach the state it sets up before it gives up
#: (a guard against a hang, not a measure of speed).
PATIENCE_S = 120
LOCK_THE_RUN = "SELECT run_key FROM fincome_runs WHERE run_key = :r FOR UPDATE"


@pytest.fixture
def store(create_pg_database, monkeypatch) -> Iterator[StateStore]:
    monkeypatch.setattr(staging, "BATCH", BATCH)
    store = StateStore.from_url(create_pg_database("writebehind"))
    store.start_run(RUN, "2026-10", dry_run=False)
    yield store
    store.engine.dispose()


def _decisions(first: int, count: int) -> list[Decision]:
    """Records ``first`` to ``first + count - 1``: every third refused, the others staged."""
    out = []
    for i in range(first, first + count):
        at = START + dt.timedelta(minutes=i)
        if i % 3 == 2:
            problem = Problem("duplicate_id", "cust_no", f"customer R{i} twice")
            out.append(Decision("customers", f"R{i}", "reject", problems=[problem], updated_at=at))
        else:
            payload = {"id": f"C{i}", "name": f"Customer {i}"}
            out.append(Decision("customers", f"C{i}", "stage", payload=payload, updated_at=at))
    return out


def _counts(store: StateStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("fincome_staged", "fincome_rejects", "fincome_pending")
        }


def _expected(decisions: list[Decision]) -> dict[str, int]:
    refused = sum(d.kind == "reject" for d in decisions)
    return {
        "fincome_staged": len(decisions) - refused,
        "fincome_rejects": refused,
        "fincome_pending": refused,
    }


def _writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("staging writer")]


def _wait_for(what: str, condition: Any) -> Any:
    """``condition()``'s first true value, asked until it has one."""
    deadline = time.monotonic() + PATIENCE_S
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"never: {what}")
        time.sleep(0.02)
    return value


def _lock_waiter(store: StateStore) -> int:
    """The backend that waits for a lock (the writer's, at the run's UPDATE)."""

    def waiting() -> int | None:
        with store.engine.connect() as conn:  # a new transaction: pg_stat_activity afresh
            return conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()

    return _wait_for("the writer waits for the locked run", waiting)


def test_the_exit_returns_with_every_batch_committed_and_the_last_one_synchronously(store):
    decisions = _decisions(0, 10 * BATCH + 2)
    settings: list[str] = []

    def synchronous_commit(conn: Any) -> None:  # at each commit, in the writer's thread
        with conn.connection.dbapi_connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            settings.append(cursor.fetchone()[0])

    with StagingWriter(store, RUN) as writer:
        event.listen(store.engine, "commit", synchronous_commit)
        for d in decisions:
            writer.add(d)
    event.remove(store.engine, "commit", synchronous_commit)

    assert _counts(store) == _expected(decisions)
    assert store.run(RUN)["max_updated_at"] == decisions[-1].updated_at
    assert settings == ["off"] * 10 + ["on"]
    assert _writer_threads() == []


def test_a_batch_the_state_database_refuses_is_raised_at_an_add_and_none_of_it_is_written(
    store,
):
    good = _decisions(0, 2 * BATCH)
    # the same record staged twice: the batch's COPY violates the staged rows' key
    bad = [*_decisions(100, BATCH - 1), _decisions(100, 1)[0]]
    after = _decisions(200, (WRITE_BEHIND_DEPTH + 2) * BATCH)
    added = 0

    with pytest.raises(WriteBehindError) as raised, StagingWriter(store, RUN) as writer:
        for d in [*good, *bad, *after]:
            writer.add(d)
            added += 1

    assert isinstance(raised.value.__cause__, UniqueViolation)
    assert added < len(good) + len(bad) + len(after)  # raised at an add, not at the exit
    assert _counts(store) == _expected(good)
    assert _writer_threads() == []


def test_a_killed_state_connection_is_raised_in_the_extraction_and_rolls_its_batch_back(store):
    first = _decisions(0, BATCH)
    added = 0
    with pytest.raises(WriteBehindError) as raised, StagingWriter(store, RUN) as writer:
        with store.engine.connect() as locker:
            locker.execute(text(LOCK_THE_RUN), {"r": RUN})
            for d in first:  # the batch's rows are written, then it waits for the run's row
                writer.add(d)
            pid = _lock_waiter(store)
            locker.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            locker.rollback()
        for d in _decisions(100, (WRITE_BEHIND_DEPTH + 2) * BATCH):
            writer.add(d)
            added += 1

    assert isinstance(raised.value.__cause__, OperationalError)
    assert added < (WRITE_BEHIND_DEPTH + 2) * BATCH  # raised at an add, not at the exit
    assert _counts(store) == _expected([])
    assert _writer_threads() == []


def test_an_exception_in_the_extraction_stops_the_writer_without_writing_more(store):
    handed = _decisions(0, (1 + WRITE_BEHIND_DEPTH) * BATCH + 1)
    behind: WriteBehind | None = None

    def release_once_dropped(locker: Any) -> None:
        # only the exit's abort empties the queue: the writer is stuck in the first batch
        assert behind is not None
        try:
            _wait_for("the exit drops the waiting batches", lambda: behind.waiting == 0)
        finally:
            locker.rollback()

    with store.engine.connect() as locker:
        locker.execute(text(LOCK_THE_RUN), {"r": RUN})
        releaser = threading.Thread(target=release_once_dropped, args=(locker,))
        with pytest.raises(ZeroDivisionError), StagingWriter(store, RUN) as writer:
            behind = writer.behind
            # the first batch waits for the run's row; the next ones wait for the writer
            for d in handed:
                writer.add(d)
            assert behind is not None and behind.waiting == WRITE_BEHIND_DEPTH
            releaser.start()
            _ = 1 / 0
        releaser.join()

    assert _counts(store) == _expected(handed[:BATCH])
    assert _writer_threads() == []


def test_an_exception_before_any_batch_leaves_nothing_and_no_thread(store):
    with pytest.raises(ZeroDivisionError), StagingWriter(store, RUN) as writer:
        for d in _decisions(0, BATCH - 1):
            writer.add(d)
        _ = 1 / 0

    assert _counts(store) == _expected([])
    assert _writer_threads() == []
