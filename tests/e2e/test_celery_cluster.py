"""The pipeline on a CeleryExecutor cluster, with the settings docker-compose.yaml deploys.

api-server, scheduler, dag-processor, triggerer and two Celery workers as local processes, each
with its own home, working directory and log folder (``support/celery_cluster.py``), all running
the installed wheel; PostgreSQL metadata, ERP and state databases (throwaway), Redis as broker,
the sandbox over real HTTP. One story, read by the tests below: the month is triggered through
the REST API; while its invoices load, the worker sending them is SIGKILLed with all its
processes (a host lost); the other worker finishes the load; a rerun sends nothing; the first
run misses a 5-second deadline and the triggerer runs the callback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text
from support.celery_cluster import (
    EXECUTION_API,
    RESULT_BACKEND,
    WORKERS,
    Cluster,
    celery_cluster,
    localized,
    python_of,
)
from support.dag_runs import API_SETTINGS, DAG_ID, sends
from support.deploy import DEPLOY_ENV, read_env_file
from support.dist import install_wheel
from support.erp import fill_demo_erp
from support.erp_truth import differences, expected_fincome, month_scope, read_erp, refused_ids

from fincome_airflow.reports.location import file_safe
from fincome_dev import connections
from fincome_sandbox.launcher import SandboxProcess

pytestmark = pytest.mark.timeout(900)

MONTH = "2026-10"
#: The demo ERP is 10% dirty on purpose (the DAG's default gate is 5%).
CONF = {"month": MONTH, "max_reject_ratio": 0.1}
#: Redis as broker, on a database number of its own.
BROKER_URL = os.environ.get("FINCOME_TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/5")
#: The shared API budget's store (its keys are named after the sandbox's URL, unique per run).
BUDGET_URL = os.environ.get("FINCOME_TEST_BUDGET_REDIS_URL", "redis://127.0.0.1:6379/6")
#: The connection's API budget: the ~170 invoices take ~8 s, time to kill their worker.
RPS = 20
#: Invoice POSTs seen before the kill.
KILL_AFTER = 30
#: Settings of the test only, over the deployed ones: a lost worker noticed in seconds and its
#: task retried at once, only the runs the test triggers, a deadline the first run misses.
TEST_ONLY = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    "FINCOME_RETRY_DELAY_SECONDS": "1",
    "FINCOME_DEADLINE_INTERVAL": "5s",
}


def invoice_posts(sandbox: SandboxProcess) -> int:
    return sum(sandbox.stats()["requests"].get("POST /invoices", {}).values())


def confirmed(state_url: str, resource: str) -> dict[str, dt.datetime]:
    """When the ledger recorded each record of ``resource`` as confirmed by Fincome."""
    engine = create_engine(state_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT record_id, confirmed_at FROM fincome_ledger WHERE resource = :r"),
                {"r": resource},
            )
            return {record_id: at for record_id, at in rows}
    finally:
        engine.dispose()


def worker_sending(cluster: Cluster, port: int) -> str | None:
    """The worker whose processes hold a connection to the sandbox (the one loading)."""
    for name in WORKERS:
        for pid in cluster.members[name].pids():
            try:
                connections = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.Error:
                continue
            if any(c.raddr and c.raddr.port == port for c in connections):
                return name
    return None


def dag_parsed(cluster: Cluster) -> bool:
    try:
        return cluster.api("GET", f"/dags/{DAG_ID}")["dag_id"] == DAG_ID
    except httpx.HTTPStatusError:
        return False


def invoice_attempt_logs(cluster: Cluster, run_id: str) -> dict[str, list[str]]:
    """The invoice load's attempt logs found in each worker's own log folder."""
    found = {}
    for name in WORKERS:
        folder = cluster.members[name].log_folder / f"dag_id={DAG_ID}" / f"run_id={run_id}"
        found[name] = sorted(
            path.name
            for path in folder.glob("task_id=load.invoices*/**/attempt=*.log")
            if path.stat().st_size
        )
    return found


def cluster_env(
    erp_url: str, state_url: str, sandbox: SandboxProcess, root: Path
) -> dict[str, str]:
    """Connections and project settings of every member, then the test-only settings."""
    settings = API_SETTINGS | {"requests_per_second": RPS, "max_concurrency": 4}
    api = connections.fincome_api(sandbox.base_url, sandbox.api_key, **settings)
    return {
        **connections.environ(erp=erp_url, state=state_url, api=api),
        # Written by whoever runs the deadline callback: the triggerer, into its own home.
        "FINCOME_DEADLINE_RECORD_PATH": str(root / "triggerer" / "deadline_missed.jsonl"),
        # A queue of this session's own: Redis may be shared with other test sessions.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"fincome_e2e_{secrets.token_hex(4)}",
        **TEST_ONLY,
    }


class Timeline:
    """Seconds since the story began at each step (printed: see ``pytest -s``)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.steps: dict[str, float] = {}

    def mark(self, step: str) -> None:
        self.steps[step] = round(time.monotonic() - self.start, 1)


@pytest.fixture(scope="module")
def story(
    tmp_path_factory, create_pg_database, create_airflow_pg_database, fincome_wheel
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("celery_cluster")
    erp_url = create_pg_database("fincome_celery_erp")
    state_url = create_pg_database("fincome_celery_state")
    deploy = read_env_file(DEPLOY_ENV)
    timeline = Timeline()
    # The wheel is installed and the ERP made while the metadata database is copied (migrated
    # first if no test of the session has).
    with ThreadPoolExecutor(max_workers=2) as background:
        wheel_job = background.submit(install_wheel, fincome_wheel, root / "site")
        erp_job = background.submit(fill_demo_erp, erp_url)
        metadata_url = create_airflow_pg_database("fincome_celery_airflow")
        with (
            SandboxProcess(api_key=secrets.token_hex(16)) as sandbox,
            celery_cluster(
                root,
                metadata_url=metadata_url,
                broker_url=BROKER_URL,
                budget_url=BUDGET_URL,
                # A folder every host mounts (the reports are read by people, not by the tasks).
                reports_url=(root / "shared_reports").as_uri(),
                site=root / "site",
                env=cluster_env(erp_url, state_url, sandbox, root),
            ) as cluster,
        ):
            timeline.mark("metadata database made")
            site, manifest = wheel_job.result(), erp_job.result()
            timeline.mark("wheel installed, ERP filled")
            story = tell(cluster, sandbox, deploy, state_url, timeline)
    print(f"celery cluster story, seconds: {timeline.steps}")
    erp = read_erp(erp_url)
    return {
        **story,
        "stopped": cluster.stopped,
        "still_running": cluster.still_running(),
        "reports": sorted(path.name for path in (root / "shared_reports").glob("*.csv")),
        "site": site,
        "expected": expected_fincome(erp, month_scope(erp, MONTH), refused_ids(manifest)),
    }


def tell(
    cluster: Cluster,
    sandbox: SandboxProcess,
    deploy: Mapping[str, str],
    state_url: str,
    timeline: Timeline,
) -> dict[str, Any]:
    """Start the cluster, load the month with a worker killed, rerun it; return what happened."""
    cluster.start()
    cluster.wait_for(cluster.healthy, timeout=240, what="the cluster's health")
    cluster.wait_for(cluster.workers_ready, timeout=120, what="both Celery workers")
    package = python_of(
        cluster.members["worker-1"], "import fincome_airflow; print(fincome_airflow.__file__)"
    )
    pool = {"name": deploy["FINCOME_API_POOL"], "slots": int(deploy["FINCOME_API_POOL_SLOTS"])}
    cluster.api("POST", "/pools", json={**pool, "description": "Fincome API"})
    cluster.wait_for(lambda: dag_parsed(cluster), timeout=120, what=f"DAG {DAG_ID}")
    cluster.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    timeline.mark("cluster ready")

    first = cluster.trigger(DAG_ID, CONF)
    cluster.wait_for(
        lambda: invoice_posts(sandbox) >= KILL_AFTER, timeout=300, what="invoices sent"
    )
    victim = cluster.wait_for(
        lambda: worker_sending(cluster, sandbox.port), timeout=10, what="the sending worker"
    )
    cluster.kill(victim)
    posts_at_kill = invoice_posts(sandbox)
    confirmed_at_kill = confirmed(state_url, "invoices")
    timeline.mark("worker killed")
    first_state = cluster.wait_for_run(DAG_ID, first, timeout=300)
    timeline.mark("first run finished")
    first_stats = sandbox.stats()
    first_dump = sandbox.dump()

    sandbox.reset_stats()
    second = cluster.trigger(DAG_ID, CONF)
    second_state = cluster.wait_for_run(DAG_ID, second, timeout=300)
    timeline.mark("rerun finished")
    record = cluster.members["triggerer"].home / "deadline_missed.jsonl"
    lines = record.read_text().splitlines() if record.exists() else []
    return {
        "package": Path(package),
        "first": first,
        "first_state": first_state,
        "first_tis": cluster.task_instances(DAG_ID, first),
        "first_stats": first_stats,
        "first_dump": first_dump,
        "victim": victim,
        "survivor": next(name for name in WORKERS if name != victim),
        "attempt_logs": invoice_attempt_logs(cluster, first),
        "posts_at_kill": posts_at_kill,
        "confirmed_at_kill": confirmed_at_kill,
        "confirmed_at_end": confirmed(state_url, "invoices"),
        "second": second,
        "second_state": second_state,
        "second_sends": sends(sandbox.stats()),
        "deadline_records": [json.loads(line) for line in lines],
        "callbacks": cluster.query("SELECT state, output FROM callback"),
        "deadline_logged_by": [
            name
            for name, member in cluster.members.items()
            if f"Deadline missed: dag_id={DAG_ID} run_id={first} " in member.log.read_text()
        ],
        "diagnostics": cluster.diagnostics(),
    }


def test_every_member_runs_the_installed_wheel_not_the_working_copy(story):
    assert story["package"].is_relative_to(story["site"])


def test_every_process_of_the_cluster_is_stopped_by_its_pid_at_the_end(story):
    assert len(story["stopped"]) >= 6  # the six members, and their children
    assert story["still_running"] == []


def test_the_month_triggered_through_the_rest_api_leaves_fincome_as_the_erp_says(story):
    assert story["first_state"] == "success", story["diagnostics"]
    found = differences(story["expected"], story["first_dump"])
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:30])


def test_the_killed_workers_invoice_load_is_finished_by_the_other_worker(story):
    loads = {k: ti for k, ti in story["first_tis"].items() if k.startswith("load.invoices")}
    assert loads and {ti["state"] for ti in loads.values()} == {"success"}, loads
    retried = [key for key, ti in loads.items() if ti["try_number"] == 2]
    assert len(retried) == 1, loads  # the load killed with its worker, and only it
    logs = story["attempt_logs"]
    assert "attempt=1.log" in logs[story["victim"]], logs
    assert "attempt=2.log" not in logs[story["victim"]], logs
    assert "attempt=2.log" in logs[story["survivor"]], logs


def test_no_invoice_confirmed_before_the_kill_is_sent_again(story):
    before, after = story["confirmed_at_kill"], story["confirmed_at_end"]
    expected = story["expected"]
    assert 0 < len(before) < len(expected["invoices"])
    assert {record: after[record] for record in before} == before  # never confirmed again
    assert set(after) == set(expected["invoices"])
    posts = sends(story["first_stats"])
    assert posts["POST /customers"] == len(expected["customers"])
    assert posts["POST /subscriptions"] == len(expected["subscriptions"])
    resent = posts["POST /invoices"] - len(expected["invoices"])
    # Only what was in flight or not yet in the ledger at the kill may go out again.
    assert 0 <= resent <= story["posts_at_kill"] - len(before), (resent, story["posts_at_kill"])


def test_both_runs_reports_land_in_the_one_folder_every_worker_writes(story):
    for run_id in (story["first"], story["second"]):
        kinds = {name.rsplit("_", 1)[1] for name in story["reports"] if file_safe(run_id) in name}
        assert kinds == {"rejects.csv", "reconciliation.csv"}, story["reports"]


def test_a_rerun_of_the_month_sends_nothing(story):
    assert story["second_state"] == "success", story["diagnostics"]
    assert story["second_sends"] == {}


def test_the_triggerer_runs_the_callback_of_the_missed_deadline(story):
    runs = [record["run_id"] for record in story["deadline_records"]]
    assert story["first"] in runs, story["deadline_records"]
    assert story["deadline_logged_by"] == ["triggerer"]
    assert story["callbacks"] and {state for state, _ in story["callbacks"]} == {"success"}


def test_the_test_changes_only_timings_and_the_triggered_runs_over_the_deployed_settings():
    deployed = read_env_file(DEPLOY_ENV)
    assert deployed["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    overridden = set(TEST_ONLY) & set(deployed)
    assert overridden == {"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"}


def test_the_local_cluster_keeps_the_deployed_drivers_and_refuses_another():
    local = "postgresql+psycopg2://postgres@127.0.0.1:5432/airflow_test"
    deployed = read_env_file(DEPLOY_ENV)
    addresses = {
        "broker_url": BROKER_URL,
        "api_url": "http://127.0.0.1:9999",
        "budget_url": BUDGET_URL,
        "reports_url": "file:///tmp/reports",
    }
    settings = localized(deployed, metadata_url=local, **addresses)
    assert settings[RESULT_BACKEND] == f"db+{local}"
    assert settings[EXECUTION_API] == "http://127.0.0.1:9999/execution/"
    psycopg3 = {**deployed, RESULT_BACKEND: "db+postgresql://airflow:airflow@postgres/airflow"}
    with pytest.raises(ValueError, match="scheme"):
        localized(psycopg3, metadata_url=local, **addresses)
