"""The run's CSV reports are written through Airflow's ObjectStoragePath to
``FINCOME_REPORTS_URL``: a local folder (``file://``) or any filesystem Airflow has attached
(here fsspec's in-memory one, ``memory://``), by the real prepare, extract and reconcile tasks
against the demo ERP and the sandbox (a dry run: Fincome stays empty, every invoice differs)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import attach
from fsspec.implementations.memory import MemoryFileSystem
from sqlalchemy import func, select
from support.connections import fincome_conn_json, sqlite_conn_json

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore
from fincome_airflow.tasks.extract import extract_month
from fincome_airflow.tasks.prepare import prepare_run
from fincome_airflow.tasks.reconcile import reconcile_run
from fincome_erp.cli import main as erp_main

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


class Dag:
    dag_id = "fincome_monthly_load"


@pytest.fixture(scope="module")
def erp_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("erp") / "erp.sqlite"
    assert erp_main(["demo", "--url", f"sqlite:///{path}"]) == 0
    return path


@pytest.fixture(params=["file", "memory"])
def reports_url(request, tmp_path) -> str:
    if request.param == "file":
        return (tmp_path / "finance" / "reports").as_uri()
    attach(protocol="memory", fs=MemoryFileSystem())  # what a provider registers for its scheme
    return f"memory://finance/{tmp_path.name}/reports"


def read_csv(url: str, encoding: str) -> list[dict[str, str]]:
    text = ObjectStoragePath(url).read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_rejects_and_reconciliation_csvs_land_under_the_reports_url(
    reports_url, erp_file, sandbox, tmp_path, monkeypatch
):
    monkeypatch.setenv("FINCOME_REPORTS_URL", reports_url)
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", sqlite_conn_json(erp_file))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.sqlite"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_FINCOME_API", fincome_conn_json(sandbox.api_key, host=sandbox.base_url)
    )
    context = {
        "params": {"month": "2026-10", "dry_run": True, "max_reject_ratio": 0.5},
        "dag": Dag(),
        "run_id": "manual__reports",
    }
    plan = prepare_run(context)
    report = extract_month(plan, erp_conn_id="erp_db", state_conn_id="fincome_state", now=NOW)
    result = reconcile_run(plan, fincome_conn_id="fincome_api", state_conn_id="fincome_state")

    prefix = f"{reports_url}/fincome_monthly_load_manual__reports"
    assert report["rejects_file"] == f"{prefix}_rejects.csv"
    assert result["file"] == f"{prefix}_reconciliation.csv"
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with store.begin() as conn:
        stored_rejects = conn.execute(select(func.count()).select_from(schema.rejects)).scalar()
        stored_differences = conn.execute(
            select(func.count()).select_from(schema.differences)
        ).scalar()
    rejects = read_csv(report["rejects_file"], "utf-8-sig")
    assert stored_rejects > 0 and len(rejects) == stored_rejects
    assert {row["reason_code"] for row in rejects} >= {"lines_do_not_add_up"}
    differences = read_csv(result["file"], "utf-8")
    assert stored_differences > 0 and len(differences) == stored_differences
    assert {row["kind"] for row in differences} >= {"missing", "refused"}
