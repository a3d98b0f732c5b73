"""API down for the whole retry budget: the sandbox process is stopped a third of the way
through the invoices. The load task fails saying the API is unavailable; the ledger holds only
what Fincome had confirmed; once the API is back, a rerun completes the month exactly.

Level: the load operators executed in-process (no scheduler: the point is the operator's
failure and the ledger), SQLite ERP and state databases, real HTTP to a sandbox that keeps its
records in a SQLite file across its stop and restart.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing

import pytest
from support.connections import sqlite_conn_json
from support.erp import sqlite_erp
from support.reliability import KNOWN_KEY, MONTH, assert_exact, fincome_conn, reference_load

from fincome_airflow.contract import DELETION_STEPS, RESOURCES
from fincome_airflow.exceptions import FincomeApiUnavailable
from fincome_airflow.operators import FincomeDeleteOperator, FincomeLoadOperator
from fincome_airflow.tasks.extract import extract_month

pytestmark = pytest.mark.timeout(180)

RUN_KEY = "fincome_monthly_load/manual__api_down"
PLAN = {"run_key": RUN_KEY, "month": MONTH, "send": True, "max_reject_ratio": 0.5}


def load(resource: str) -> dict:
    op = FincomeLoadOperator(
        task_id=f"load_{resource}", resource=resource, run_key=RUN_KEY, month=MONTH
    )
    return op.execute({})


def ledger_ids(state_db, resource: str) -> set[str]:
    with closing(sqlite3.connect(state_db)) as conn:
        sql = "SELECT record_id FROM fincome_ledger WHERE resource = ? AND deleted = 0"
        return {row[0] for row in conn.execute(sql, (resource,))}


def stop_when(sandbox, posts: int, stopped: threading.Event) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        requests = sandbox.stats()["requests"].get("POST /invoices", {})
        if sum(requests.values()) >= posts:
            break
        time.sleep(0.05)
    sandbox.stop()
    stopped.set()


def test_api_down_fails_the_load_clearly_keeps_only_confirmed_and_a_rerun_completes(
    tmp_path, sandbox_factory, monkeypatch, record_result
):
    erp_url = sqlite_erp(tmp_path, invoices=300, seed=3)
    expected = reference_load(erp_url, tmp_path)
    sandbox = sandbox_factory(api_key=KNOWN_KEY, db=str(tmp_path / "fincome.db"), latency_ms=5)
    state_db = tmp_path / "state.db"
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", sqlite_conn_json(tmp_path / "erp.sqlite"))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(state_db))
    monkeypatch.setenv("FINCOME_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_FINCOME_API",
        fincome_conn(
            sandbox.base_url, requests_per_second=80, max_concurrency=4, timeout=1, retry_budget=2
        ),
    )
    extract_month(PLAN, erp_conn_id="erp_db", state_conn_id="fincome_state")
    for resource in RESOURCES[: RESOURCES.index("invoices")]:  # products ... subscriptions
        load(resource)

    stopped = threading.Event()
    third = len(expected["invoices"]) // 3
    watcher = threading.Thread(target=stop_when, args=(sandbox, third, stopped), daemon=True)
    watcher.start()
    with pytest.raises(FincomeApiUnavailable) as failure:
        load("invoices")
    watcher.join(timeout=70)
    assert stopped.is_set()
    message = str(failure.value)
    assert "Fincome API unavailable" in message and "whole retry budget" in message, message
    assert "connection error" in message, message
    assert KNOWN_KEY not in message

    confirmed = ledger_ids(state_db, "invoices")
    sandbox.start()  # back on the same port, with the records it had
    held = set(sandbox.dump()["invoices"])
    assert 0 < len(confirmed) < len(expected["invoices"])
    assert confirmed <= held, f"ledger records sends Fincome never got: {confirmed - held}"

    sandbox.reset_stats()
    rerun = load("invoices")
    load("credit_notes")
    for step, resource in DELETION_STEPS.items():  # credit notes before the invoices they credit
        FincomeDeleteOperator(
            task_id=step, resource=resource, run_key=RUN_KEY, month=MONTH
        ).execute({})
    assert rerun["to_send"] == len(expected["invoices"]) - len(confirmed)
    comparison = assert_exact(sandbox.dump(), expected)
    record_result(
        "api_down",
        kind="fault",
        level="operator",
        outcome="fail, rerun ok",
        faults={"API stopped": 1},
        retries=rerun["retries"],
        confirmed_before_outage=len(confirmed),
        **comparison.figures(),
    )
