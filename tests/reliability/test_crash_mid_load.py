"""Crash mid-load: the ``load.invoices`` task process is SIGKILLed when about half of the
invoices are sent; Airflow's retry finishes the month, exactly, and resends only what was in
flight or not yet durable in the ledger at the moment of the kill.

Level: real scheduler, dag-processor, triggerer and api-server, LocalExecutor
(``airflow_runtime``), SQLite metadata and state databases, real HTTP to the sandbox.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
from contextlib import closing

import psutil
import pytest
from support.connections import sqlite_conn_json
from support.erp import sqlite_erp
from support.reliability import (
    DAG_ID,
    KNOWN_KEY,
    assert_exact,
    fincome_conn,
    reference_load,
    task_states,
)

from fincome_airflow.month import BillingMonth
from fincome_dev.airflow_env import SCHEDULING

pytestmark = pytest.mark.timeout(300)

RPS = 60
CONCURRENCY = 4
#: OutcomeWriter's max_age: a confirmation is in the ledger within a second.
FLUSH_SECONDS = 1.0


def invoice_posts(sandbox) -> int:
    return sum(sandbox.stats()["requests"].get("POST /invoices", {}).values())


def ledger_count(state_db, resource: str) -> int:
    with closing(sqlite3.connect(state_db, timeout=30)) as conn:
        sql = "SELECT count(*) FROM fincome_ledger WHERE resource = ? AND deleted = 0"
        return conn.execute(sql, (resource,)).fetchone()[0]


def staged_count(state_db, resource: str) -> int:
    with closing(sqlite3.connect(state_db, timeout=30)) as conn:
        sql = "SELECT count(*) FROM fincome_staged WHERE resource = ? AND action = 'upsert'"
        return conn.execute(sql, (resource,)).fetchone()[0]


def task_processes_talking_to(root_pids: list[int], port: int) -> list[psutil.Process]:
    """The Airflow descendants with a TCP connection to the sandbox: the task process sending
    (while the invoices load, only it talks to Fincome; its supervisor does not)."""
    found = []
    for root in root_pids:
        for proc in psutil.Process(root).children(recursive=True):
            try:
                connections = proc.net_connections(kind="tcp")
            except psutil.Error:
                continue
            if any(c.raddr and c.raddr.port == port for c in connections):
                found.append(proc)
    return found


def test_sigkilled_invoice_load_is_finished_by_airflow_retry_without_resending_confirmed(
    tmp_path, sandbox_factory, airflow_rig, record_result
):
    # The scheduler runs the last closed month of the real calendar: the ERP holds that month.
    month = BillingMonth.parse(dt.date.today().strftime("%Y-%m")).previous()
    erp_url = sqlite_erp(tmp_path, invoices=800, dirty_share=0.02, seed=5, month=str(month))
    expected = reference_load(erp_url, tmp_path, month=str(month))
    sandbox = sandbox_factory(api_key=KNOWN_KEY, latency_ms=5)
    state_db = tmp_path / "state.db"
    af = airflow_rig(
        {
            "AIRFLOW_CONN_ERP_DB": sqlite_conn_json(tmp_path / "erp.sqlite"),
            "AIRFLOW_CONN_FINCOME_STATE": sqlite_conn_json(state_db),
            "AIRFLOW_CONN_FINCOME_API": fincome_conn(
                sandbox.base_url, requests_per_second=RPS, max_concurrency=CONCURRENCY
            ),
        }
    )
    af.start(*SCHEDULING)  # no triggerer: no deadline fires in the test
    af.wait_for_api()
    af.wait_for_dag(DAG_ID)
    af.unpause(DAG_ID)
    # Unpausing creates the scheduled run of the last closed month (default params): the run a
    # production deployment makes on the 1st of the next month.
    run_id = af.wait_for(
        lambda: (
            (rows := af.query("SELECT run_id FROM dag_run WHERE dag_id = ?", (DAG_ID,)))
            and rows[0][0]
        ),
        timeout=60,
        what="the scheduled run",
    )
    assert run_id.startswith(f"scheduled__{month}__{month.end.isoformat()}")  # its month first
    half = len(expected["invoices"]) // 2
    af.wait_for(lambda: invoice_posts(sandbox) >= half, timeout=180, what="half the invoices")

    roots = [p.pid for p in af.processes.values()]
    victims = af.wait_for(
        lambda: task_processes_talking_to(roots, sandbox.port),
        timeout=10,
        what="the invoice task's process",
    )
    killed = [(v.pid, " ".join(v.cmdline())[:200]) for v in victims]
    for victim in victims:
        os.kill(victim.pid, signal.SIGKILL)
    psutil.wait_procs(victims, timeout=10)
    posts_at_kill = invoice_posts(sandbox)
    confirmed_at_kill = ledger_count(state_db, "invoices")
    # Read while the run is loading: its audit releases the staged payloads once it finished.
    staged = staged_count(state_db, "invoices")

    state = af.wait_for_run(DAG_ID, run_id, timeout=200)
    states = task_states(af, run_id)
    assert state == "success", (states, af.log_tail("scheduler"))
    # the invoice load is mapped over chunks: at this size and rate one chunk (map_index=0)
    task_logs = af.home / f"logs/dag_id={DAG_ID}/run_id={run_id}/task_id=load.invoices"
    (killed_log,) = task_logs.glob("**/attempt=1.log")
    assert "SIGKILL" in killed_log.read_text(), "the first attempt did not die by the kill"
    assert states["load.invoices"] == ("success", 2), (states, killed)  # killed, retried once
    comparison = assert_exact(sandbox.dump(), expected)

    retry_audit = json.loads(
        af.query(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'load.invoices'",
            (DAG_ID, run_id),
        )[0][0]
    )
    # the retry sent exactly the invoices the ledger did not show as confirmed
    assert retry_audit["to_send"] == staged - confirmed_at_kill
    posts = invoice_posts(sandbox)
    resent = posts - staged
    unflushed = int(RPS * FLUSH_SECONDS) + 1
    assert 0 < confirmed_at_kill < staged
    assert resent <= 2 * CONCURRENCY + unflushed, (posts, staged, confirmed_at_kill)
    record_result(
        "crash_mid_load",
        kind="fault",
        level="scheduler",
        outcome="success",
        faults={"SIGKILL": 1},
        retries=1,
        posts_at_kill=posts_at_kill,
        confirmed_at_kill=confirmed_at_kill,
        resent=resent,
        **comparison.figures(),
    )
