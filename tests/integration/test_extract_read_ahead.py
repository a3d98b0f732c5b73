"""The month's queries read ahead on PostgreSQL (extract/ahead.py): on the run's one snapshot,
and nothing left behind (connection, thread) when the run stops early or a query fails."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from importlib.resources import as_file, files

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from support.erp import generated_erp

from fincome_airflow.contract import RESOURCES
from fincome_airflow.engines import erp_engine
from fincome_airflow.extract.ahead import month_queries
from fincome_airflow.extract.queries import SQL_DIR_ENV
from fincome_airflow.extract.scope import LoadScope
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.state.store import StateStore
from fincome_dev.airflow_env import wait_for

NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
RENAMED = "Renamed after the snapshot"


class ValidationStopped(Exception):
    pass


@pytest.fixture(scope="module")
def erp_url(create_pg_database) -> str:
    return generated_erp(create_pg_database("fincome_ahead_erp"), invoices=400, seed=5)


@pytest.fixture
def engine(erp_url) -> Engine:
    engine = erp_engine(erp_url)
    yield engine
    engine.dispose()


def _queries() -> list[tuple[str, dict]]:
    scope = LoadScope.for_month(dt.date(2026, 10, 1), dt.date(2026, 11, 1), None)
    return [(resource, scope.params_for(resource)) for resource in RESOURCES]


def _reader_threads() -> list[str]:
    prefixes = tuple(f"fincome-{resource}" for resource in RESOURCES)
    return [t.name for t in threading.enumerate() if t.name.startswith(prefixes)]


def _backends(url: str) -> list[str]:
    """The states of the sessions connected to ``url``'s database (this check's excepted)."""
    admin = create_engine(make_url(url).set(database="postgres"))
    try:
        with admin.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT coalesce(state, '?') FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": make_url(url).database},
                ).scalars()
            )
    finally:
        admin.dispose()


def _assert_nothing_left(engine: Engine, url: str) -> None:
    """No reader thread alive, no session in a transaction, none checked out of the pool
    (disposing the pool closes every connection given back to it). A closed connection's server
    process leaves ``pg_stat_activity`` after the client closed it, later on a loaded machine (a
    full suite once saw two still listed); one still checked out would stay."""
    assert _reader_threads() == []
    assert [state for state in _backends(url) if state != "idle"] == []
    engine.dispose()
    wait_for(
        lambda: _backends(url) == [],
        timeout=10,
        interval=0.1,
        what="the pool's sessions to leave",
        diagnostics=lambda: f"sessions left: {_backends(url)}",
    )


def test_the_queries_read_ahead_see_the_runs_one_snapshot(engine, erp_url):
    with engine.connect() as conn, engine.connect() as other:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with month_queries(conn, _queries(), ahead=0) as month:  # customers not started yet
            assert [row.product_code for row in month.rows("products")]
            with other.begin():  # committed after the snapshot, before the customers' read
                customer = other.execute(
                    text(
                        "UPDATE erp.customers SET company_name = :name, "
                        "updated_at = '2026-10-15' WHERE cust_no = "
                        "(SELECT min(cust_no) FROM erp.customers) RETURNING cust_no"
                    ),
                    {"name": RENAMED},
                ).scalar_one()
            assert "fincome-customers" not in _reader_threads()
            seen = {row.cust_no: row.company_name for row in month.rows("customers")}
    assert customer in seen
    assert seen[customer] != RENAMED
    with engine.connect() as conn:  # a later run sees it
        conn.execution_options(isolation_level="REPEATABLE READ")
        with month_queries(conn, _queries()) as month:
            later = {row.cust_no: row.company_name for row in month.rows("customers")}
    assert later[customer] == RENAMED


def test_a_validation_stopping_midway_leaves_no_connection_and_no_thread(engine, erp_url):
    with pytest.raises(ValidationStopped), engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with month_queries(conn, _queries(), ahead=len(RESOURCES)) as month:
            assert list(month.rows("products"))
            for n, _row in enumerate(month.rows("customers")):
                if n == 10:
                    raise ValidationStopped  # the other queries are waiting, read ahead
    _assert_nothing_left(engine, erp_url)


def test_a_failing_query_names_itself_and_leaves_no_connection_and_no_thread(
    engine, erp_url, tmp_path, monkeypatch
):
    with as_file(files("fincome_airflow.extract") / "sql") as packaged:
        shutil.copytree(packaged, tmp_path / "sql")
    (tmp_path / "sql" / "invoices.sql").write_text(
        "SELECT invoice_no FROM invoices WHERE invoice_date >= :month_start "
        "AND 1 / (invoice_no = 'none')::int = 1\n"  # fails on its first row: division by zero
    )
    monkeypatch.setenv(SQL_DIR_ENV, str(tmp_path / "sql"))
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")

    with pytest.raises(DBAPIError, match="division by zero") as failure:
        extract_and_stage(engine, store, "ahead/failing", "2026-10", now=NOW)

    assert str(failure.value).startswith("(query invoices)")
    assert store.run("ahead/failing")["status"] == "extracting"
    _assert_nothing_left(engine, erp_url)


def test_a_run_that_succeeds_leaves_no_connection_and_no_thread(engine, erp_url, tmp_path):
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")

    report = extract_and_stage(engine, store, "ahead/ok", "2026-10", now=NOW)

    assert report.counts["invoices"].extracted == 400
    _assert_nothing_left(engine, erp_url)
