"""The state database's upsert: many rows in pages, keep or replace, the last of a key wins."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore
from fincome_airflow.state.upsert import PAGE, upsert

pytestmark = pytest.mark.integration

KEY = ["resource", "record_id"]


def _pending(store: StateStore) -> dict[str, str]:
    p = schema.pending
    with store.begin() as conn:
        return dict(conn.execute(select(p.c.record_id, p.c.since_run_key)).all())


def _rows(ids: range, run_key: str) -> list[dict[str, str]]:
    return [{"resource": "invoices", "record_id": str(i), "since_run_key": run_key} for i in ids]


def test_upsert_writes_more_rows_than_a_page_and_keeps_existing_rows_unless_replacing(
    state_db_url,
) -> None:
    store = StateStore.from_url(state_db_url)
    first = range(PAGE * 2 + 7)
    with store.begin() as conn:
        upsert(conn, schema.pending, _rows(first, "r1"), KEY, replace=False)
    with store.begin() as conn:  # overlapping ids: the existing rows are kept
        upsert(conn, schema.pending, _rows(range(PAGE, PAGE * 3), "r2"), KEY, replace=False)
    kept = _pending(store)
    assert len(kept) == PAGE * 3
    assert {kept[str(i)] for i in first} == {"r1"}
    assert {kept[str(i)] for i in range(len(first), PAGE * 3)} == {"r2"}
    with store.begin() as conn:  # replacing: the new rows win
        upsert(conn, schema.pending, _rows(range(5), "r3"), KEY)
    replaced = _pending(store)
    assert [replaced[str(i)] for i in range(6)] == ["r3"] * 5 + ["r1"]
    store.engine.dispose()


def test_upsert_of_rows_sharing_a_key_keeps_the_last_of_them(state_db_url) -> None:
    store = StateStore.from_url(state_db_url)
    rows = _rows(range(3), "r1") + _rows(range(1, 2), "r2")
    with store.begin() as conn:
        upsert(conn, schema.pending, rows, KEY)
    assert _pending(store) == {"0": "r1", "1": "r2", "2": "r1"}
    store.engine.dispose()
