"""The state database stays bounded: staged payloads go once their run cannot resume, history
goes after the retention, and a task of a run that can no longer resume is refused clearly.
On PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from support.connections import sqlite_conn_json
from support.staging import record_run

from fincome_airflow.exceptions import FincomeRunExpired
from fincome_airflow.kinds import RUN_KINDS
from fincome_airflow.operators import FincomeLoadOperator
from fincome_airflow.state import schema
from fincome_airflow.state.retention import (
    RetentionSettings,
    maintain,
    release_finished,
    require_resumable,
    row_count,
)
from fincome_airflow.state.store import StateStore

#: The tasks compare with the real clock: the test's runs are dated relative to it.
NOW = dt.datetime.now(dt.UTC)
SETTINGS = RetentionSettings(
    resume_window=dt.timedelta(days=7), history=dt.timedelta(days=395), batch=3
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, create_pg_database) -> StateStore:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    else:
        url = create_pg_database("fincome_retention")
    store = StateStore.from_url(url)
    store.ensure_schema()
    yield store
    store.engine.dispose()


def add_run(store: StateStore, run_key: str, month: str, status: str, **kwargs) -> None:
    record_run(store, run_key, month, status, now=NOW, **kwargs)


def staged_runs(store: StateStore) -> dict[str, int]:
    st = schema.staged
    with store.begin() as conn:
        rows = conn.execute(select(st.c.run_key)).scalars().all()
    return {key: rows.count(key) for key in set(rows)}


def runs(store: StateStore) -> dict[str, dict]:
    with store.begin() as conn:
        return {r["run_key"]: dict(r) for r in conn.execute(select(schema.runs)).mappings()}


def test_a_finished_run_loses_its_staged_rows_and_a_resumable_one_keeps_them(store):
    add_run(store, "oct-done", "2026-10", "done", days_ago=2)
    add_run(store, "oct-dry", "2026-10", "dry_run", days_ago=1)
    add_run(store, "nov-failed", "2026-11", "failed", days_ago=1)
    add_run(store, "nov-loading", "2026-11", "staged", days_ago=0.01)

    report = maintain(store, SETTINGS, now=NOW)

    assert staged_runs(store) == {"nov-failed": 5, "nov-loading": 5}
    assert report.staged_rows == 10
    assert report.staged_runs == {"finished": 2}
    marked = runs(store)
    assert marked["oct-done"]["staged_removed_why"] == "finished"
    assert marked["oct-done"]["staged_removed_at"] is not None
    assert marked["nov-failed"]["staged_removed_at"] is None
    # The history of the finished runs stays (only payloads went).
    assert row_count(store, schema.outcomes) == 20
    assert "staged payloads removed 10 rows" in report.line()


def test_a_failed_run_is_unstaged_once_a_later_load_of_its_month_finished(store):
    add_run(store, "oct-failed", "2026-10", "failed", days_ago=3)
    add_run(store, "oct-rerun", "2026-10", "done", days_ago=2)
    add_run(store, "sep-failed", "2026-09", "failed", days_ago=3)

    report = maintain(store, SETTINGS, now=NOW)

    assert report.staged_runs == {"finished": 1, "superseded": 1}
    assert staged_runs(store) == {"sep-failed": 5}
    assert runs(store)["oct-failed"]["staged_removed_why"] == "superseded"


def test_a_cleared_task_of_a_run_past_the_resume_window_is_refused_with_what_to_do(
    store, monkeypatch
):
    add_run(store, "aug-failed", "2026-08", "failed", days_ago=30)
    maintain(store, SETTINGS, now=NOW)
    assert runs(store)["aug-failed"]["staged_removed_why"] == "expired"

    for restage in (False, True):  # a load, and the extract that would stage it again
        with pytest.raises(FincomeRunExpired, match="FINCOME_RESUME_WINDOW") as refused:
            require_resumable(store, "aug-failed", restage=restage, now=NOW)
        assert "Trigger a new run of 2026-08" in str(refused.value)


def test_a_load_task_of_a_finished_run_is_refused_by_the_operator(monkeypatch, tmp_path):
    """The operator reads its state through the connection (SQLite here; the rule it applies
    is the one the tests above run on both databases)."""
    path = tmp_path / "state.sqlite"
    store = StateStore.from_url(f"sqlite:///{path}")
    add_run(store, "oct-done", "2026-10", "done", days_ago=0.5)
    maintain(store, SETTINGS, now=NOW)
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(path))
    operator = FincomeLoadOperator(task_id="load", resource="invoices", run_key="oct-done")
    with pytest.raises(FincomeRunExpired, match=r"staged records were removed .* it finished"):
        operator.execute({})
    # The extract may stage it again (a clear of the whole run), which lifts the mark.
    assert require_resumable(store, "oct-done", restage=True) is not None
    store.start_run("oct-done", "2026-10", dry_run=False)
    assert runs(store)["oct-done"]["staged_removed_at"] is None


def test_history_past_the_retention_goes_and_history_within_it_stays(store):
    mark = dt.datetime(2025, 6, 30, 23, 0)
    add_run(store, "2025-05-run", "2025-05", "done", days_ago=540, watermark=mark)
    add_run(store, "2025-06-run", "2025-06", "done", days_ago=500, watermark=mark)
    add_run(store, "2025-06-dry", "2025-06", "dry_run", days_ago=499)
    add_run(store, "2025-10-run", "2025-10", "failed", days_ago=380)
    store.insert_rows(
        schema.ledger,
        [
            {
                "resource": "invoices",
                "record_id": "kept",
                "payload_hash": "h",
                "deleted": False,
                "confirmed_at": NOW - dt.timedelta(days=600),
            }
        ],
    )

    report = maintain(store, SETTINGS, now=NOW)

    left = runs(store)
    # The newest done run holds the watermark: it stays whatever its age.
    assert set(left) == {"2025-06-run", "2025-10-run"}
    assert store.last_watermark() == mark
    assert report.history_runs == 2
    assert report.history_rows["fincome_runs"] == 2
    assert report.history_rows["fincome_outcomes"] == 10
    assert report.history_before == (NOW - dt.timedelta(days=395)).date().isoformat()
    for table in (schema.rejects, schema.outcomes, schema.reconciliations):
        with store.begin() as conn:
            keys = set(conn.execute(select(table.c.run_key)).scalars())
        assert keys == {"2025-06-run", "2025-10-run"}, table.name
    assert row_count(store, schema.ledger) == 1  # the ledger is never removed
    if store.engine.dialect.name == "postgresql":
        assert "fincome_outcomes" in report.vacuumed


def test_each_kind_reads_its_own_watermark_and_both_outlive_the_retention(store):
    monthly, intraday = dt.datetime(2025, 5, 31, 23, 0), dt.datetime(2025, 6, 2, 9, 0)
    add_run(store, "2025-05-close", "2025-05", "done", days_ago=540, watermark=monthly)
    add_run(
        store, "2025-06-sync", "2025-06", "done", days_ago=538, watermark=intraday, kind="intraday"
    )
    add_run(
        store,
        "2025-06-sync-old",
        "2025-06",
        "done",
        days_ago=539,
        watermark=monthly,
        kind="intraday",
    )

    maintain(store, SETTINGS, now=NOW)

    assert set(runs(store)) == {"2025-05-close", "2025-06-sync"}
    # A sync never moves the monthly load's watermark; a sync reads from the later of both.
    assert store.last_watermark() == monthly
    assert store.last_watermark(RUN_KINDS) == intraday


def test_settings_come_from_the_environment_and_refuse_a_retention_shorter_than_the_window():
    settings = RetentionSettings.from_env(
        {"FINCOME_RESUME_WINDOW": "3d", "FINCOME_HISTORY_RETENTION": "400d"}
    )
    assert settings.resume_window == dt.timedelta(days=3)
    assert settings.history == dt.timedelta(days=400)
    with pytest.raises(ValueError, match="FINCOME_HISTORY_RETENTION"):
        RetentionSettings.from_env({"FINCOME_HISTORY_RETENTION": "1d"})


@pytest.mark.parametrize(("status", "removed"), [("done", 5), ("dry_run", 5), ("failed", 0)])
def test_the_audit_releases_a_finished_runs_payloads_at_once_and_keeps_a_failed_runs(
    store, status, removed
):
    add_run(store, "oct", "2026-10", status, days_ago=0.01)
    assert release_finished(store, "oct", status) == removed
    assert staged_runs(store) == ({} if removed else {"oct": 5})
    assert (runs(store)["oct"]["staged_removed_why"] == "finished") is bool(removed)
