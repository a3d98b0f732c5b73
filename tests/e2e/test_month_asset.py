"""The month's Asset: a downstream DAG scheduled on it receives the month once it is loaded and
reconciled, with the audit's figures; a dry run, and a run whose reconciliation found differences
(policy ``warn``, so the run succeeds), publish nothing.

The consumer (``tests/dags_consumer``) runs under a real scheduler (api-server, dag-processor,
scheduler, triggerer on a migrated SQLite metadata database); the monthly load runs with
``airflow dags test`` on the same metadata database, against the sandbox over real HTTP.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from support.airflow import migrated_airflow
from support.connections import sqlite_conn_json
from support.erp import sqlite_erp
from support.paths import DAGS, REPO
from support.reliability import CONF, KNOWN_KEY, MONTH, fincome_conn

from fincome_airflow.assets import BILLING_MONTH
from fincome_airflow.contract import RESOURCES

pytestmark = pytest.mark.timeout(480)

PRODUCER = "fincome_monthly_load"
CONSUMER = "fincome_month_consumer"


def asset_events(af: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """(partition key, extra) of every event of the month's Asset."""
    rows = af.query(
        "SELECT e.partition_key, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
        "WHERE a.name = ? ORDER BY e.id",
        (BILLING_MONTH.name,),
    )
    return [(key, json.loads(extra) if isinstance(extra, str) else extra) for key, extra in rows]


def dags_test(
    af: Any, conf: dict[str, Any], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    args = ("dags", "test", PRODUCER, "--conf", json.dumps(conf))
    return af.cli(*args, check=False, timeout=240, env=env)


def delete_by_hand(sandbox: Any) -> None:
    """An invoice deleted in Fincome by hand: the next reconciliation finds it missing."""
    import requests

    invoice = sorted(sandbox.dump()["invoices"])[0]
    answer = requests.delete(
        f"{sandbox.base_url}/invoices/{invoice}", headers={"X-API-KEY": sandbox.api_key}, timeout=10
    )
    answer.raise_for_status()


@pytest.fixture(scope="module")
def published(tmp_path_factory, airflow_db_template) -> dict[str, Any]:
    """A dry run, then a load of the month; the events and what the consumer received."""
    from fincome_sandbox.launcher import SandboxProcess

    work = tmp_path_factory.mktemp("month_asset")
    dags = work / "dags"
    dags.mkdir()
    shutil.copy(DAGS / f"{PRODUCER}.py", dags)
    shutil.copy(REPO / "tests" / "dags_consumer" / f"{CONSUMER}.py", dags)
    record = work / "consumer.jsonl"
    erp = work / "erp"
    erp.mkdir()
    sqlite_erp(erp, invoices=120, seed=7)
    with SandboxProcess(api_key=KNOWN_KEY) as sandbox:
        return _publish(work, dags, erp, record, sandbox, airflow_db_template)


def _publish(work, dags, erp, record, sandbox, template) -> dict[str, Any]:
    env = {
        "AIRFLOW_CONN_ERP_DB": sqlite_conn_json(erp / "erp.sqlite"),
        "AIRFLOW_CONN_FINCOME_STATE": sqlite_conn_json(work / "state.db"),
        "AIRFLOW_CONN_FINCOME_API": fincome_conn(sandbox.base_url),
        "FINCOME_REPORTS_DIR": str(work / "reports"),
        "FINCOME_RETRY_DELAY_SECONDS": "1",
        "FINCOME_DEADLINE_INTERVAL": "1h",
        "FINCOME_CONSUMER_RECORD_PATH": str(record),
    }
    with migrated_airflow(template, work / "home", dags, env=env) as af:
        af.start()
        af.wait_for_api()
        af.wait_for_dag(CONSUMER)
        af.unpause(CONSUMER)
        dry = dags_test(af, {**CONF, "dry_run": True})
        after_dry_run = asset_events(af)
        load = dags_test(af, CONF)
        received = af.wait_for(
            lambda: record.exists() and record.read_text().strip(),
            timeout=180,
            what="the consumer DAG's record",
        )
        consumer_runs = af.query(
            "SELECT run_id, run_type, partition_key FROM dag_run WHERE dag_id = ?", (CONSUMER,)
        )
        delete_by_hand(sandbox)
        warn = {"FINCOME_RECONCILE_ON_DIFFERENCE": "warn"}
        differences = dags_test(af, {**CONF, "reconcile_only": True}, env=warn)
        publish_states = af.query(
            "SELECT state FROM task_instance WHERE dag_id = ? AND task_id = 'publish' "
            "ORDER BY start_date",
            (PRODUCER,),
        )
        events = asset_events(af)
    return {
        "differences": differences,
        "publish_states": [state for (state,) in publish_states],
        "dry": dry,
        "load": load,
        "after_dry_run": after_dry_run,
        "events": events,
        "received": [json.loads(line) for line in received.splitlines()],
        "consumer_runs": consumer_runs,
    }


def test_dry_run_publishes_no_event(published):
    assert published["dry"].returncode == 0, published["dry"].stdout[-3000:]
    assert published["after_dry_run"] == []


def test_run_whose_reconciliation_found_differences_publishes_no_event(published):
    assert published["differences"].returncode == 0, published["differences"].stdout[-3000:]
    assert published["publish_states"] == ["skipped", "success", "skipped"]
    assert len(published["events"]) == 1


def test_loaded_month_publishes_one_event_partitioned_by_month(published):
    assert published["load"].returncode == 0, published["load"].stdout[-3000:]
    assert [key for key, _ in published["events"]] == [MONTH]
    extra = published["events"][0][1]
    assert extra["month"] == MONTH
    assert extra["verdict"] == "reconciled"
    assert set(extra["counts"]) == set(RESOURCES)
    assert extra["counts"]["invoices"]["created"] > 0
    assert extra["invoices"] >= extra["counts"]["invoices"]["created"]
    assert extra["net_amount"] and all(float(v) > 0 for v in extra["net_amount"].values())


def test_consumer_dag_runs_once_for_the_month_with_the_event_extra(published):
    runs = published["consumer_runs"]
    assert [(run_type, key) for _, run_type, key in runs] == [("asset_triggered", MONTH)], runs
    [received] = published["received"]
    assert received["partition_key"] == MONTH
    assert received["events"] == [{"partition_key": MONTH, "extra": published["events"][0][1]}]
