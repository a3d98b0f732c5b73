"""A month three times longer than a load task's timeout, loaded in chunks by ``dags test``.

At 5 requests per second and a 10 s ``execution_timeout`` per load task, the demo month (~360
records to send: more than 3 x 10 s x 5 req/s) cannot load in one task per resource; cut in
chunks of 25 records (half the timeout at the rate) every chunk finishes in its first try.
Airflow's own metadata tells the tries and the chunk names the UI shows.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable

import pytest
from support import dag_runs
from support.dag_runs import MonthlyLoad, sends
from support.erp import fill_demo_erp
from support.erp_truth import (
    RESOURCES,
    differences,
    expected_fincome,
    month_scope,
    read_erp,
    refused_ids,
)

pytestmark = pytest.mark.timeout(600)

MONTH = "2026-10"
RATE = 5
TIMEOUT_S = 10
#: Records per chunk the DAG plans: half the timeout at the rate, one chunk at a time.
CHUNK = RATE * TIMEOUT_S // 2
STEPS = {f"load.{r}": r for r in RESOURCES} | {"load.delete_cancelled_invoices": "deletions"}


def task_instances(airflow, run_id: str) -> list[sqlite3.Row]:
    with sqlite3.connect(airflow.db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute(
            "SELECT task_id, map_index, rendered_map_index, try_number, state "
            "FROM task_instance WHERE run_id = ? ORDER BY task_id, map_index",
            (run_id,),
        ).fetchall()


def latest_run_id(airflow) -> str:
    with sqlite3.connect(airflow.db_path) as db:
        (run_id,) = db.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = 'fincome_monthly_load' "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return run_id


def test_a_month_three_times_the_task_timeout_loads_in_chunks_without_a_timeout(
    tmp_path, airflow, sandbox, monthly_load: Callable[..., MonthlyLoad], monkeypatch
):
    monkeypatch.setattr(dag_runs, "RUN_TIMEOUT", 600.0)  # a bound: ~360 sends at 5 req/s
    erp_url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    refused = refused_ids(fill_demo_erp(erp_url))
    erp = read_erp(erp_url)
    expected = expected_fincome(erp, month_scope(erp, MONTH), refused)
    load = monthly_load(erp_url, f"sqlite:///{tmp_path / 'state.sqlite'}", sandbox)
    load.api_settings = {"requests_per_second": RATE}
    load.env = {
        "FINCOME_LOAD_TIMEOUT_SECONDS": str(TIMEOUT_S),
        "FINCOME_LOAD_PARALLEL_CHUNKS": "1",
    }

    result = load.run(MONTH, max_reject_ratio=0.1)

    assert result.returncode == 0, result.tail()
    to_send = sum(len(expected[r]) for r in RESOURCES)
    assert to_send > 3 * TIMEOUT_S * RATE  # at the rate, one task would need 3 timeouts
    found = differences(expected, sandbox.dump())
    assert not found, "\n".join(found[:30])
    assert sends(sandbox.stats()) == {f"POST /{r}": len(expected[r]) for r in RESOURCES}
    instances = task_instances(airflow, latest_run_id(airflow))
    assert {(ti["state"], ti["try_number"]) for ti in instances} == {("success", 1)}
    chunks = Counter(ti["task_id"] for ti in instances if ti["task_id"] in STEPS)
    for resource in RESOURCES:
        assert chunks[f"load.{resource}"] >= len(expected[resource]) // CHUNK, chunks
    labels = {ti["rendered_map_index"] for ti in instances if ti["task_id"] == "load.invoices"}
    of = chunks["load.invoices"]
    assert labels == {f"invoices {i}/{of}" for i in range(1, of + 1)}
    audit = result.resources
    assert {r: audit[r]["created"] for r in RESOURCES} == {r: len(expected[r]) for r in RESOURCES}
    assert all(audit[r]["balanced"] for r in RESOURCES), audit
    assert result.summary["reconciliation"]["verdict"] == "reconciled"
    assert "AirflowTaskTimeout" not in result.log

    sandbox.reset_stats()
    rerun = load.run(MONTH, max_reject_ratio=0.1)
    assert rerun.returncode == 0, rerun.tail()
    assert sends(sandbox.stats()) == {}
