"""A refusal repeated by later runs is stored once, each run still lists it, history removal
keeps what later runs refer to, and migration 0003 moves the first release's rows both ways.
On PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import column, func, insert, select, table
from support.staging import record_run

from fincome_airflow.engines import make_engine
from fincome_airflow.state import migrate, schema
from fincome_airflow.state.rejects import DETAIL_COLUMNS, record_rejects
from fincome_airflow.state.retention import RetentionSettings, maintain
from fincome_airflow.state.store import StateStore

NOW = dt.datetime.now(dt.UTC)


def refusal(run_key: str, record_id: str, message: str = "the currency is not ISO 4217") -> dict:
    return {
        "run_key": run_key,
        "resource": "invoices",
        "record_id": record_id,
        "seq": 0,
        "outcome": "rejected",
        "reason_code": "invalid_currency",
        "field": "currency",
        "message": message,
        "blocked_by": None,
    }


@pytest.fixture
def store(state_db_url) -> StateStore:
    store = StateStore.from_url(state_db_url)
    store.ensure_schema()
    yield store
    store.engine.dispose()


def listed(store: StateStore, run_key: str) -> list[tuple]:
    """What readers see of a run's refusals (the ``fincome_rejects`` view)."""
    r = schema.rejects
    query = select(r.c.record_id, r.c.message).where(r.c.run_key == run_key).order_by(r.c.record_id)
    with store.begin() as conn:
        return [tuple(row) for row in conn.execute(query)]


def stored(store: StateStore, table) -> int:
    with store.begin() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_refusal_repeated_by_later_runs_is_stored_once_and_listed_for_each_run(store):
    with store.begin() as conn:
        record_rejects(conn, [refusal("run-1", "INV-1"), refusal("run-1", "INV-2")])
    with store.begin() as conn:
        record_rejects(conn, [refusal("run-2", "INV-1"), refusal("run-2", "INV-2", "changed")])
    with store.begin() as conn:
        record_rejects(conn, [refusal("run-3", "INV-1")])

    assert stored(store, schema.reject_details) == 3  # INV-1, INV-2 and INV-2 reworded
    assert stored(store, schema.rejects) == 5
    assert stored(store, schema.run_rejects) == 3  # one list of ids per run and write
    assert listed(store, "run-1") == [
        ("INV-1", "the currency is not ISO 4217"),
        ("INV-2", "the currency is not ISO 4217"),
    ]
    assert listed(store, "run-2") == [
        ("INV-1", "the currency is not ISO 4217"),
        ("INV-2", "changed"),
    ]
    assert listed(store, "run-3") == [("INV-1", "the currency is not ISO 4217")]


def test_a_restarted_run_lists_only_the_refusals_of_its_new_extraction(store):
    with store.begin() as conn:
        record_rejects(conn, [refusal("run-1", "INV-1"), refusal("run-1", "INV-2")])

    store.start_run("run-1", "2026-10", dry_run=False)
    with store.begin() as conn:
        record_rejects(conn, [refusal("run-1", "INV-2")])

    assert listed(store, "run-1") == [("INV-2", "the currency is not ISO 4217")]


def test_history_removal_keeps_the_refusals_a_later_run_still_lists(store):
    record_run(store, "old-run", "2025-06", "done", now=NOW, days_ago=500, records=1)
    record_run(store, "new-run", "2026-10", "done", now=NOW, days_ago=1, records=1)
    with store.begin() as conn:
        record_rejects(conn, [refusal("old-run", "STILL-BAD"), refusal("old-run", "FIXED")])
        record_rejects(conn, [refusal("new-run", "STILL-BAD")])
    before = stored(store, schema.reject_details)

    report = maintain(store, RetentionSettings(batch=1), now=NOW)

    assert report.history_runs == 1
    assert report.history_rows["fincome_reject_details"] == before - 2
    assert listed(store, "old-run") == []
    assert ("STILL-BAD", "the currency is not ISO 4217") in listed(store, "new-run")
    with store.begin() as conn:
        ids = conn.execute(select(schema.reject_details.c.record_id)).scalars().all()
    assert "FIXED" not in ids and "STILL-BAD" in ids


FIRST_RELEASE_REJECTS = table("fincome_rejects", column("run_key"), *map(column, DETAIL_COLUMNS))


def test_migration_0003_moves_each_run_s_refusals_and_its_downgrade_puts_them_back(state_db_url):
    engine = make_engine(state_db_url)
    migrate.upgrade(engine, "0002")
    rows = [
        refusal("run-1", "INV-1"),
        refusal("run-1", "INV-2"),
        refusal("run-2", "INV-1"),
        refusal("run-2", "INV-2", "changed"),
    ]
    with engine.begin() as conn:
        conn.execute(insert(FIRST_RELEASE_REJECTS), rows)

    migrate.upgrade(engine)
    store = StateStore(engine)

    assert stored(store, schema.reject_details) == 3
    assert listed(store, "run-2") == [
        ("INV-1", "the currency is not ISO 4217"),
        ("INV-2", "changed"),
    ]
    with store.begin() as conn:  # new refusals get ids past the copied ones
        record_rejects(conn, [refusal("run-3", "INV-9")])
    assert stored(store, schema.reject_details) == 4

    migrate.downgrade(engine, "0002")

    with engine.connect() as conn:
        back = conn.execute(select(FIRST_RELEASE_REJECTS)).mappings().all()
    assert sorted(map(dict, back), key=str) == sorted([*rows, refusal("run-3", "INV-9")], key=str)
    engine.dispose()
