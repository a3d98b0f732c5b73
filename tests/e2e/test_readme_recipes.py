"""The README's operational recipes, run as written (``tests/support/readme.py`` reads them).

One Airflow with a paused DAG, as every new deployment has it: LocalExecutor, and a PostgreSQL
metadata database as in production (on SQLite, one writer at a time, ``airflow backfill create``
can meet "database is locked" while the scheduler and dag-processor write; see the README), a
copy of the one the session migrates:

1. ``pool``: ``airflow pools set fincome_api 4 "Fincome API"``, then the processes get
   ``FINCOME_API_POOL=fincome_api``;
2. ``connections``: ``airflow connections import`` of ``include/connections.example.json`` with
   its values filled in (PostgreSQL ERP and state database, the sandbox); no ``AIRFLOW_CONN_*``;
3. ``backfill``: under a real scheduler, dag-processor and api-server (no triggerer: no task
   defers, no deadline fires in the test), the README's command (``--unpause``) over two months
   (the DAG running on schedule differs only in not being unpaused:
   ``tests/unit/test_backfill.py``);
4. ``rerun``: scheduler stopped, the headless ``airflow dags test`` of October.

The one shell of each step gets the runtime's environment (``AIRFLOW_HOME`` and settings, the
venv first on ``PATH``), as a user's terminal would have it; the ``airflow`` its lines call runs
the ``airflow`` script's ``main()`` in a child of the runtime's fork server
(``fincome_dev.airflow_shim``), with the shell's environment, directory and exit status.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support.readme import recipe

from fincome_dev.airflow_env import SCHEDULING, AirflowRuntime, airflow_runtime
from fincome_erp.cli import main as erp_main
from fincome_sandbox.launcher import SandboxProcess

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "fincome_monthly_load"
TEMPLATE = REPO / "include" / "connections.example.json"
MONTHS = ("2026-09", "2026-10")
API_TASKS = {
    "load.products",
    "load.plans",
    "load.customers",
    "load.subscriptions",
    "load.invoices",
    "load.credit_notes",
    "load.delete_cancelled_credit_notes",
    "load.delete_cancelled_invoices",
    "reconcile",
}


def shell(af: AirflowRuntime, code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a recipe in bash with the runtime's environment, its ``airflow`` the runtime's (run
    by its fork server, ``AirflowRuntime.shell_env``); fail with its output."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        env=af.shell_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"$ {code}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def database_fields(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "host": parsed.host,
        "port": parsed.port or 5432,
        "schema": parsed.database,
        "login": parsed.username,
        "password": parsed.password or "trust-auth-ignores-it",
    }


def filled_template(erp_url: str, state_url: str, sandbox: SandboxProcess) -> dict[str, Any]:
    """The connections template with its values replaced, its shape kept."""
    template = json.loads(TEMPLATE.read_text())
    values = {
        "erp_db": database_fields(erp_url),
        "fincome_state": database_fields(state_url),
        "fincome_api": {
            "host": sandbox.base_url,
            "password": sandbox.api_key,
            "extra": {**template["fincome_api"]["extra"], "requests_per_second": 200},
        },
    }
    filled = {conn_id: {**fields, **values[conn_id]} for conn_id, fields in template.items()}
    for conn_id, fields in template.items():
        assert filled[conn_id].keys() == fields.keys(), f"template of {conn_id} changed"
    return filled


def state_rows(state_url: str) -> list[Mapping[str, Any]]:
    engine = create_engine(state_url)
    try:
        with engine.connect() as conn:
            sql = "SELECT run_key, month, status, summary FROM fincome_runs ORDER BY created_at"
            return list(conn.execute(text(sql)).mappings())
    finally:
        engine.dispose()


def dag_runs(af: AirflowRuntime) -> list[dict[str, Any]]:
    sql = (
        "SELECT run_id, run_type, state, logical_date, start_date, end_date FROM dag_run "
        "WHERE dag_id = ? ORDER BY logical_date"
    )
    keys = ("run_id", "run_type", "state", "logical_date", "start_date", "end_date")
    rows = af.query(sql, (DAG_ID,))
    return [dict(zip(keys, map(str, row), strict=True)) for row in rows]


def backfill_finished(af: AirflowRuntime) -> list[dict[str, Any]]:
    """The backfill runs once both have finished."""
    runs = [run for run in dag_runs(af) if run["run_type"] == "backfill"]
    done = len(runs) == len(MONTHS) and all(run["state"] in ("success", "failed") for run in runs)
    return runs if done else []


@pytest.fixture(scope="module")
def recipes_run(tmp_path_factory, create_pg_database, create_airflow_pg_database) -> dict[str, Any]:
    """Follow the recipes once; return what each left behind."""
    work = tmp_path_factory.mktemp("readme_recipes")
    erp_url, state_url = create_pg_database("fincome_erp"), create_pg_database("fincome_state")
    argv = ["generate", "--url", erp_url, "--months", ",".join(MONTHS)]
    argv += ["--invoices-per-month", "30", "--dirty-share", "0", "--seed", "19", "--replace"]
    # The ERP is made while the metadata database is copied (migrated first if no test has).
    with ThreadPoolExecutor(max_workers=1) as background:
        erp_job = background.submit(erp_main, argv)
        metadata_url = create_airflow_pg_database("airflow_meta")
        assert erp_job.result() == 0
    env = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "FINCOME_API_POOL": "fincome_api",
        "FINCOME_REPORTS_DIR": str(work / "reports"),
        "FINCOME_RETRY_DELAY_SECONDS": "1",
    }
    with (
        SandboxProcess(api_key="readme-recipes-key") as sandbox,
        airflow_runtime(
            REPO / "dags",
            plugins_folder=REPO / "plugins",
            home=work / "home",
            env=env,
            migrate=False,
            fork_commands=True,  # its components start from one warmed server
        ) as af,
    ):
        for name in [key for key in af.env if key.startswith("AIRFLOW_CONN_")]:
            del af.env[name]  # the connections come from the import only
        result: dict[str, Any] = {"seconds": {}}
        clock = time.monotonic()

        def lap(phase: str) -> None:
            nonlocal clock
            result["seconds"][phase] = round(time.monotonic() - clock, 1)
            clock = time.monotonic()

        shell(af, recipe("pool"))
        result["pools"] = af.query("SELECT pool, slots, description FROM slot_pool")

        filled = work / "connections.json"
        filled.write_text(json.dumps(filled_template(erp_url, state_url, sandbox)))
        template_path = str(TEMPLATE.relative_to(REPO))
        shell(af, recipe("connections", {template_path: str(filled)}))
        result["connections"] = af.query("SELECT conn_id, conn_type FROM connection")

        lap("pool and connections recipes")
        af.start(*SCHEDULING)  # no triggerer: no deadline fires in the test
        af.wait_for_api()
        af.wait_for_dag(DAG_ID)
        lap("components started, DAG parsed")
        result["paused_before"] = af.query("SELECT is_paused FROM dag WHERE dag_id = ?", (DAG_ID,))
        result["backfill_output"] = shell(af, recipe("backfill", {"2024-01": MONTHS[0]})).stdout
        result["backfill_runs"] = af.wait_for(
            lambda: backfill_finished(af), timeout=600, what="the two backfill runs"
        )
        lap("backfill of two months, paused DAG")
        run_ids = [run["run_id"] for run in result["backfill_runs"]]
        marks = ",".join("?" * len(run_ids))
        result["pools_used"] = af.query(
            f"SELECT task_id, pool, state FROM task_instance WHERE run_id IN ({marks})",
            tuple(run_ids),
        )
        result["runs"] = dag_runs(af)
        result["audits"] = state_rows(state_url)
        result["sandbox"] = {resource: len(items) for resource, items in sandbox.dump().items()}
        af.stop(*SCHEDULING)  # the fork server stays: the rerun's airflow runs in it too

        sandbox.reset_stats()
        result["rerun_output"] = shell(af, recipe("rerun")).stdout
        result["rerun_audits"] = state_rows(state_url)[len(result["audits"]) :]
        result["rerun_stats"] = sandbox.stats()
        lap("headless rerun")
    print(f"README recipes, seconds per phase: {result['seconds']}")
    return result


def test_pool_recipe_creates_the_fincome_api_pool(recipes_run):
    assert ("fincome_api", 4, "Fincome API") in recipes_run["pools"]


def test_connections_recipe_imports_the_three_connections_of_the_template(recipes_run):
    assert sorted(recipes_run["connections"]) == [
        ("erp_db", "postgres"),
        ("fincome_api", "fincome"),
        ("fincome_state", "postgres"),
    ]


def test_backfill_recipe_runs_both_months_of_a_dag_that_was_paused(recipes_run):
    assert recipes_run["paused_before"] == [(1,)]
    runs = recipes_run["backfill_runs"]
    assert [run["logical_date"][:7] for run in runs] == list(MONTHS)
    assert [run["state"] for run in runs] == ["success", "success"], recipes_run["pools_used"]


def test_backfill_recipe_runs_the_months_one_after_another_oldest_first(recipes_run):
    september, october = recipes_run["backfill_runs"]
    assert september["end_date"] <= october["start_date"]


def test_backfill_records_each_month_done_and_reconciled_in_fincome_runs(recipes_run):
    audits = [row for row in recipes_run["audits"] if "/backfill__" in row["run_key"]]
    assert [row["month"] for row in audits] == list(MONTHS)
    created = 0
    for row in audits:
        summary = json.loads(row["summary"])
        assert row["status"] == "done", summary
        assert summary["reconciliation"]["verdict"] == "reconciled", summary
        assert summary["resources"]["invoices"]["extracted"] > 0, summary
        assert all(counts["balanced"] for counts in summary["resources"].values()), summary
        created += summary["resources"]["invoices"]["created"]
    # what the two runs created is what Fincome holds (the sandbox was empty)
    assert created == recipes_run["sandbox"]["invoices"] > 0


def test_backfill_starts_only_the_scheduled_runs_its_output_announced(recipes_run):
    output = recipes_run["backfill_output"]
    announced = re.findall(r"starts the scheduled run of (\d{4}-\d{2})", output)
    assert announced or "starts no other run" in output, output
    scheduled = [run for run in recipes_run["runs"] if run["run_type"] == "scheduled"]
    assert [run["logical_date"][:7] for run in scheduled] == announced


def test_tasks_calling_the_api_run_in_the_pool_set_by_the_pool_recipe(recipes_run):
    pools = {(task_id, pool) for task_id, pool, _state in recipes_run["pools_used"]}
    assert {task for task, pool in pools if pool == "fincome_api"} == API_TASKS
    assert {pool for task, pool in pools if task not in API_TASKS} == {"default_pool"}


def test_headless_rerun_recipe_finds_october_unchanged_and_sends_nothing(recipes_run):
    (audit,) = recipes_run["rerun_audits"]
    summary = json.loads(audit["summary"])
    assert audit["month"] == "2026-10" and audit["status"] == "done", summary
    for resource, counts in summary["resources"].items():
        assert counts["created"] == counts["updated"] == counts["deleted"] == 0
        assert counts["unchanged"] == counts["valid"]
        # 30 invoices a month: October may have no credit note (about 4% of invoices have one)
        assert counts["valid"] > 0 or resource == "credit_notes", resource
    writes = [route for route in recipes_run["rerun_stats"]["requests"] if "GET" not in route]
    assert writes == [], recipes_run["rerun_stats"]
