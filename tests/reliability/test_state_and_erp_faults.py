"""Database faults, at the task level (the task callables and operators in-process, real
PostgreSQL and SQLite, real HTTP to the sandbox):

* the ERP database unreachable, or its connection terminated (``pg_terminate_backend``) while
  the month streams: a clear failure, the run is left ``extracting`` and the loads refuse it;
  the retried extraction stages the whole month;
* the PostgreSQL state database's connections terminated mid-load: the load fails or
  recovers, the ledger never records a send that Fincome does not hold, and a retry completes;
* two runs of one month at once: the second fails clearly on the month lock, sends nothing,
  and its retry after the first finishes sends nothing twice.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from support.connections import database_json, sqlite_conn_json
from support.erp import generated_erp, sqlite_erp
from support.reliability import KNOWN_KEY, MONTH, assert_exact, fincome_conn, reference_load

from fincome_airflow.contract import DELETION_STEPS, RESOURCES
from fincome_airflow.exceptions import FincomeStageIncomplete
from fincome_airflow.operators import FincomeDeleteOperator, FincomeLoadOperator
from fincome_airflow.state.locks import MonthLockedError
from fincome_airflow.state.store import StateStore
from fincome_airflow.tasks.extract import extract_month

pytestmark = pytest.mark.timeout(240)

PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def plan(run_key: str) -> dict:
    return {"run_key": run_key, "month": MONTH, "send": True, "max_reject_ratio": 0.5}


def load(run_key: str, resource: str) -> dict:
    op = FincomeLoadOperator(
        task_id=f"load_{resource}", resource=resource, run_key=run_key, month=MONTH
    )
    return op.execute({})


def load_month(run_key: str) -> None:
    for resource in RESOURCES:
        load(run_key, resource)
    for step, resource in DELETION_STEPS.items():
        FincomeDeleteOperator(
            task_id=f"delete_{step}", resource=resource, run_key=run_key, month=MONTH
        ).execute({})


def without_nulls(record: dict) -> dict:
    """A record as sent or held, server timestamps and absent (null) fields aside."""
    server = ("created_at", "updated_at")
    return {k: v for k, v in record.items() if v is not None and k not in server}


def terminate_backends(database: str) -> int:
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.fixture
def fincome(tmp_path, sandbox_factory, monkeypatch):
    sandbox = sandbox_factory(api_key=KNOWN_KEY, latency_ms=3)
    monkeypatch.setenv("FINCOME_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_FINCOME_API",
        fincome_conn(sandbox.base_url, requests_per_second=150, max_concurrency=4),
    )
    return sandbox


def test_unreachable_erp_fails_clearly_and_leaves_nothing_loadable(
    tmp_path, fincome, monkeypatch, record_result
):
    from fincome_dev.airflow_env import free_port

    closed = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/erp"
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", database_json(closed))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))
    with pytest.raises(DBAPIError) as failure:
        extract_month(plan("erp/closed"), erp_conn_id="erp_db", state_conn_id="fincome_state")
    assert "Connection refused" in str(failure.value)
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    assert store.run("erp/closed")["status"] == "extracting"
    with pytest.raises(FincomeStageIncomplete, match="did not finish"):
        load("erp/closed", "customers")
    assert fincome.stats()["total_requests"] == 0
    record_result(
        "erp_unreachable",
        kind="fault",
        level="task",
        outcome="fail, none sent",
        faults={"closed port": 1},
        retries=0,
    )


def test_erp_connection_dropped_mid_extract_stages_no_partial_month_and_retry_completes(
    tmp_path, fincome, create_pg_database, monkeypatch, record_result
):
    erp_url = generated_erp(create_pg_database("fincome_rel_erp"), invoices=6000, seed=9)
    database = make_url(erp_url).database
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", database_json(erp_url))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    killed: list[int] = []
    done = threading.Event()

    def kill_while_streaming() -> None:
        """Terminate the extraction's ERP connection whenever it is there, until it fails."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not done.is_set():
            if n := terminate_backends(database):  # only the extraction connects to the ERP
                killed.append(n)
            time.sleep(0.005)

    killer = threading.Thread(target=kill_while_streaming, daemon=True)
    killer.start()
    try:
        with pytest.raises(DBAPIError) as failure:
            extract_month(plan("erp/dropped"), erp_conn_id="erp_db", state_conn_id="fincome_state")
    finally:
        done.set()
        killer.join(timeout=70)
    assert killed, f"the ERP connection was never terminated; the extraction failed: {failure}"
    assert "terminat" in str(failure.value).lower() or "closed" in str(failure.value).lower()
    assert store.run("erp/dropped")["status"] == "extracting"
    with pytest.raises(FincomeStageIncomplete):
        load("erp/dropped", "invoices")
    assert fincome.stats()["total_requests"] == 0

    report = extract_month(
        plan("erp/dropped"), erp_conn_id="erp_db", state_conn_id="fincome_state"
    )  # Airflow's retry of the task
    assert store.run("erp/dropped")["status"] == "staged"
    assert report["counts"]["invoices"]["extracted"] == 6000
    record_result(
        "erp_dropped_mid_extract",
        kind="fault",
        level="task",
        outcome="fail, retry ok",
        faults={"pg_terminate_backend": sum(killed)},
        retries=1,
    )


def test_state_db_connections_terminated_mid_load_never_record_an_unsent_send(
    tmp_path, fincome, create_pg_database, monkeypatch, record_result
):
    erp_url = sqlite_erp(tmp_path, invoices=1500, seed=4)
    expected = reference_load(erp_url, tmp_path)
    state_url = create_pg_database("fincome_rel_state")
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", sqlite_conn_json(tmp_path / "erp.sqlite"))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", database_json(state_url))
    run_key = "state/terminated"
    extract_month(plan(run_key), erp_conn_id="erp_db", state_conn_id="fincome_state")
    for resource in ("products", "plans", "customers", "subscriptions"):
        load(run_key, resource)
    kills: list[int] = []

    def kill_when_half_sent() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            posts = fincome.stats()["requests"].get("POST /invoices", {})
            if sum(posts.values()) >= len(expected["invoices"]) // 2:
                kills.append(terminate_backends(make_url(state_url).database))
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_half_sent, daemon=True)
    killer.start()
    try:
        load(run_key, "invoices")
        outcome = "recovered"
    except DBAPIError:
        outcome = "failed, retry ok"
    killer.join(timeout=70)
    assert kills

    store = StateStore.from_url(state_url)
    held = fincome.dump()
    with store.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT l.resource, l.record_id, s.payload FROM fincome_ledger l "
                "JOIN fincome_staged s ON s.resource = l.resource AND s.record_id = l.record_id "
                "AND s.run_key = :run WHERE l.deleted = false"
            ),
            {"run": run_key},
        ).all()
    for resource, record_id, _payload in rows:
        record = held[resource].get(record_id)
        assert record is not None, f"ledger shows {resource}/{record_id} sent; Fincome lacks it"
        want = expected[resource][record_id]
        assert without_nulls(record) == without_nulls(want), (
            f"{resource}/{record_id} differs from what the ledger says was confirmed"
        )

    load(run_key, "invoices")  # the task's retry
    load(run_key, "credit_notes")
    for step, resource in DELETION_STEPS.items():
        FincomeDeleteOperator(
            task_id=f"delete_{step}", resource=resource, run_key=run_key, month=MONTH
        ).execute({})
    comparison = assert_exact(fincome.dump(), expected)
    store.engine.dispose()
    record_result(
        "state_db_terminated",
        kind="fault",
        level="operator",
        outcome=outcome,
        faults={"pg_terminate_backend": kills[0]},
        retries=1 if outcome != "recovered" else 0,
        ledger_rows_checked=len(rows),
        **comparison.figures(),
    )


def test_two_runs_of_one_month_never_interleave_their_sends(
    tmp_path, fincome, monkeypatch, record_result
):
    erp_url = sqlite_erp(tmp_path, invoices=600, seed=8)
    expected = reference_load(erp_url, tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", sqlite_conn_json(tmp_path / "erp.sqlite"))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))
    scheduled, manual = "month/scheduled", "month/manual"
    for run_key in (scheduled, manual):
        extract_month(plan(run_key), erp_conn_id="erp_db", state_conn_id="fincome_state")
    load(scheduled, "customers")
    load(scheduled, "subscriptions")
    errors: dict[str, BaseException] = {}
    started = threading.Event()

    def scheduled_invoices() -> None:
        started.set()
        try:
            load(scheduled, "invoices")
        except BaseException as e:
            errors[scheduled] = e

    first = threading.Thread(target=scheduled_invoices)
    first.start()
    started.wait(10)
    deadline = time.monotonic() + 30
    while not fincome.stats()["requests"].get("POST /invoices") and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(MonthLockedError, match=f"being sent by another run \\({scheduled}"):
        load(manual, "invoices")
    first.join(timeout=120)
    assert not errors, errors

    retry = load(manual, "invoices")  # the manual run's retry, once the month is free
    assert retry["to_send"] == 0
    posts = sum(fincome.stats()["requests"]["POST /invoices"].values())
    assert posts == len(expected["invoices"])  # each invoice sent once, by one run
    # the invoices are this test's subject: the other resources are taken as expected
    comparison = assert_exact(
        {**expected, "invoices": fincome.dump()["invoices"]},
        expected,
    )
    record_result(
        "two_runs_same_month",
        kind="fault",
        level="operator",
        outcome="2nd waits",
        faults={"concurrent run": 1},
        retries=1,
        **comparison.figures(),
    )
