"""The month's Asset: a downstream DAG scheduled on it receives the month once it is loaded and
reconciled, with the audit's figures; a dry run, and a run whose reconciliation found differences
(policy ``warn``, so the run succeeds), publish nothing. Then the intraday sync's latency: on a
one-minute schedule, an ERP change reaches Fincome within one interval plus the load time.

The consumer (``tests/dags_consumer``) and the intraday sync run under a real scheduler
(api-server, dag-processor, scheduler, triggerer on a migrated SQLite metadata database); the
monthly load runs with ``airflow dags test`` on the same metadata database, against the sandbox
over real HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.airflow import migrated_airflow
from support.connections import sqlite_conn_json
from support.erp import sqlite_erp
from support.erp_truth import erp_timestamp, update_erp
from support.paths import DAGS, REPO
from support.reliability import CONF, KNOWN_KEY, MONTH, fincome_conn

from fincome_airflow.assets import BILLING_MONTH
from fincome_airflow.contract import RESOURCES
from fincome_dev.airflow_env import SCHEDULING, query_sqlite

pytestmark = pytest.mark.timeout(780)

PRODUCER = "fincome_monthly_load"
CONSUMER = "fincome_month_consumer"
INTRADAY = "fincome_intraday_sync"
#: The intraday sync's schedule here (``FINCOME_INTRADAY_SCHEDULE``), and so its interval.
EVERY_MINUTE = "* * * * *"
INTERVAL = dt.timedelta(minutes=1)


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
    shutil.copy(DAGS / f"{INTRADAY}.py", dags)
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
        "FINCOME_INTRADAY_SCHEDULE": EVERY_MINUTE,
    }
    with migrated_airflow(template, work / "home", dags, env=env) as af:
        af.start(*SCHEDULING)  # no triggerer: no deadline fires in the test
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
        sync = _intraday_latency(af, erp / "erp.sqlite", work / "state.db", sandbox)
    return {
        "sync": sync,
        "differences": differences,
        "publish_states": [state for (state,) in publish_states],
        "dry": dry,
        "load": load,
        "after_dry_run": after_dry_run,
        "events": events,
        "received": [json.loads(line) for line in received.splitlines()],
        "consumer_runs": consumer_runs,
    }


def _utc(value: str) -> dt.datetime:
    """A timestamp of the metadata or state database (SQLite: UTC, stored naive)."""
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _intraday_latency(af: Any, erp_db: Path, state_db: Path, sandbox: Any) -> dict[str, Any]:
    """Pay an invoice Fincome holds open, unpause the intraday sync (every minute); once Fincome
    holds it paid: when the ERP changed, when Fincome confirmed it, and the run that sent it."""
    held = sandbox.dump()["invoices"]
    invoice = next(no for no in sorted(held) if held[no]["status"] == "open")

    def confirmation() -> tuple[str, str]:
        """The invoice's (run key, confirmed at) in the ledger."""
        sql = (
            "SELECT run_key, confirmed_at FROM fincome_ledger "
            "WHERE resource = 'invoices' AND record_id = ?"
        )
        [row] = query_sqlite(state_db, sql, (invoice,))
        return row

    before = confirmation()  # the monthly load's
    changed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert (
        update_erp(
            f"sqlite:///{erp_db}",
            "UPDATE {erp}invoices SET doc_status = 'PAID', updated_at = :at WHERE invoice_no = :no",
            at=erp_timestamp(changed_at),
            no=invoice,
        )
        == 1
    )
    af.wait_for_dag(INTRADAY)
    af.unpause(INTRADAY)

    def confirmed_paid() -> tuple[str, str] | None:
        """The ledger's new confirmation, once Fincome holds the invoice paid. The ledger is
        written after Fincome answers: for a moment Fincome holds it paid while the ledger
        still holds the monthly load's confirmation."""
        if sandbox.dump()["invoices"][invoice]["status"] != "paid":
            return None
        return latest if (latest := confirmation()) != before else None

    run_key, confirmed_at = af.wait_for(
        confirmed_paid,
        timeout=300,
        what="the payment in Fincome, confirmed in the ledger",
        diagnostics=lambda: _sync_state(af, state_db, invoice),
    )
    dag_id, _, run_id = run_key.partition("/")
    state = af.wait_for_run(
        INTRADAY, run_id, timeout=300, diagnostics=lambda: _sync_state(af, state_db, invoice)
    )
    ((run_type, run_after, end_date),) = af.query(
        "SELECT run_type, run_after, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?",
        (INTRADAY, run_id),
    )
    return {
        "dag_id": dag_id,
        "state": state,
        "run_type": run_type,
        "changed_at": changed_at,
        "confirmed_at": _utc(confirmed_at),
        "run_after": _utc(run_after),
        "end_date": _utc(end_date),
    }


def _sync_state(af: Any, state_db: Path, invoice: str) -> str:
    """What a stuck intraday sync left: its runs, its unfinished tasks, the month locks, and
    the invoice's ledger, pending and refusal rows (a timeout's message ends with them)."""
    runs = af.query("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (INTRADAY,))
    tasks = af.query(
        "SELECT run_id, task_id, map_index, state, try_number FROM task_instance "
        "WHERE dag_id = ? AND state IS NOT 'success' ORDER BY run_id, task_id",
        (INTRADAY,),
    )
    lines = [f"intraday runs: {runs}", f"intraday tasks not succeeded: {tasks}"]
    for what, sql, params in (
        ("month locks", "SELECT * FROM fincome_month_locks", ()),
        ("runs", "SELECT run_key, kind, status, max_updated_at FROM fincome_runs", ()),
        ("ledger", "SELECT * FROM fincome_ledger WHERE record_id = ?", (invoice,)),
        ("pending", "SELECT * FROM fincome_pending WHERE record_id = ?", (invoice,)),
        ("refusals", "SELECT * FROM fincome_rejects WHERE record_id = ?", (invoice,)),
        ("outcomes", "SELECT * FROM fincome_outcomes WHERE record_id = ?", (invoice,)),
    ):
        lines.append(f"{what}: {query_sqlite(state_db, sql, params)}")
    return f"--- invoice {invoice} in the intraday sync ---\n" + "\n".join(lines)


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


def test_an_erp_change_reaches_fincome_within_one_sync_interval_plus_the_load_time(published):
    sync = published["sync"]
    assert (sync["dag_id"], sync["state"], sync["run_type"]) == (INTRADAY, "success", "scheduled")
    # The run that sent it was due at most one interval after the change, and confirmed it
    # before it ended: the change waited for the next run, then for that run's load.
    assert sync["run_after"] <= sync["changed_at"] + INTERVAL, sync
    assert sync["changed_at"] <= sync["confirmed_at"] <= sync["end_date"], sync
    latency, load_time = (
        sync["confirmed_at"] - sync["changed_at"],
        sync["end_date"] - sync["run_after"],
    )
    assert latency <= INTERVAL + load_time, sync
