"""Run ``fincome_monthly_load`` and ``fincome_intraday_sync`` headless with ``airflow dags
test`` and read what they did.

One migrated SQLite Airflow (:func:`fincome_dev.airflow_env.airflow_runtime`) serves every
run of a session; each :class:`MonthlyLoad` binds it to one ERP, one state database and one
sandbox through ``AIRFLOW_CONN_*`` variables given to the ``dags test`` command only. The API
key never reaches the command line, and it is masked in the log text handed back.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from fincome_dev import connections
from fincome_dev.airflow_env import AirflowRuntime

DAG_ID = "fincome_monthly_load"
#: The demo ERP's month.
MONTH = "2026-10"
#: The demo set is 10% dirty; once the watermark has moved a rerun's refused share is ~6%.
LENIENT = {"max_reject_ratio": 0.1}
#: ``dags test`` logical date of the October run (its data interval is October).
RUN_AFTER = "2026-11-01"
INTRADAY_DAG_ID = "fincome_intraday_sync"
#: ``dags test`` logical date of an intraday sync of October (the open month then).
SYNC_AT = "2026-10-31T12:00:00+00:00"
#: Seconds one ``dags test`` may take before it is stopped (a bound, not an expectation).
RUN_TIMEOUT = 240.0


#: The API settings of the DAG's runs: fast, with room for the sandbox's faults.
API_SETTINGS = {"requests_per_second": 500, "max_concurrency": 8, "retry_budget": 50}


@dataclass
class RunResult:
    """One ``dags test``: its exit status, the audit it saved and its log (key masked)."""

    returncode: int
    log: str
    summary: dict[str, Any] | None
    status: str | None
    run_key: str | None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        assert self.summary is not None, self.tail()
        return self.summary["resources"]

    def counts(self, key: str) -> dict[str, int]:
        """One count of the audit per resource, e.g. ``counts("created")``."""
        return {resource: c[key] for resource, c in self.resources.items()}

    def tail(self, chars: int = 6000) -> str:
        return self.log[-chars:]


@dataclass
class MonthlyLoad:
    """The DAG bound to one ERP, one state database and one sandbox."""

    airflow: AirflowRuntime
    erp_url: str
    state_url: str
    sandbox: Any  # fincome_sandbox.launcher.SandboxProcess
    reports_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    #: API connection settings over :data:`API_SETTINGS`.
    api_settings: dict[str, Any] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        api = connections.fincome_api(
            self.sandbox.base_url, self.sandbox.api_key, **(API_SETTINGS | self.api_settings)
        )
        return {
            **connections.environ(erp=self.erp_url, state=self.state_url, api=api),
            "FINCOME_REPORTS_DIR": str(self.reports_dir),
            **self.env,
        }

    def run(self, month: str = "2026-10", **conf: Any) -> RunResult:
        """``airflow dags test`` of ``month`` with Params ``conf``; never raises on failure."""
        return self.dags_test(DAG_ID, RUN_AFTER, month, {"month": month, **conf})

    def sync(self, at: str = SYNC_AT, **conf: Any) -> RunResult:
        """``airflow dags test`` of the intraday sync at logical date ``at`` (its month is the
        one holding ``at``) with Params ``conf``; never raises on failure."""
        return self.dags_test(INTRADAY_DAG_ID, at, at[:7], conf)

    def dags_test(self, dag_id: str, run_after: str, month: str, conf: dict) -> RunResult:
        """One ``airflow dags test``; the run is found in the state database by its month."""
        before = set(self.run_keys(month))
        args = dags_test_args(self.airflow, dag_id, run_after, "--conf", json.dumps(conf))
        try:
            done = self.airflow.cli(*args, check=False, timeout=RUN_TIMEOUT, env=self.environment())
            returncode, log = done.returncode, f"{done.stdout}\n{done.stderr}"
        except subprocess.TimeoutExpired as exc:
            returncode, log = -1, f"timed out after {RUN_TIMEOUT}s\n{exc.stdout or ''}"
        log = log.replace(self.sandbox.api_key, "***")
        new = [key for key in self.run_keys(month) if key not in before]
        row = self.run_row(new[0]) if new else None
        return RunResult(
            returncode=returncode,
            log=log,
            summary=json.loads(row["summary"]) if row and row["summary"] else None,
            status=row["status"] if row else None,
            run_key=new[0] if new else None,
        )

    def _state(self, sql: str, **params: Any) -> list[Mapping[str, Any]]:
        engine = create_engine(self.state_url)
        try:
            with engine.connect() as conn:
                exists = engine.dialect.has_table(conn, "fincome_runs")
                return list(conn.execute(text(sql), params).mappings()) if exists else []
        finally:
            engine.dispose()

    def run_keys(self, month: str) -> list[str]:
        """Run keys of ``month`` in the state database, the latest first."""
        rows = self._state(
            "SELECT run_key FROM fincome_runs WHERE month = :month ORDER BY created_at DESC",
            month=month,
        )
        return [row["run_key"] for row in rows]

    def run_row(self, run_key: str) -> Mapping[str, Any] | None:
        rows = self._state("SELECT * FROM fincome_runs WHERE run_key = :key", key=run_key)
        return rows[0] if rows else None

    def ledger(self) -> list[Mapping[str, Any]]:
        return self._state("SELECT * FROM fincome_ledger ORDER BY resource, record_id")


def dags_test_args(airflow: AirflowRuntime, dag_id: str, *args: str) -> tuple[str, ...]:
    """``dags test <dag_id> <args>`` of the DAG's own file: the command parses and saves that
    DAG alone, not every DAG of the folder (the project's DAG files are named by their ids)."""
    dag_file = Path(airflow.env["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{dag_id}.py"
    return ("dags", "test", dag_id, *args, "--dagfile-path", str(dag_file))


def ok(result: RunResult) -> RunResult:
    """``result``, asserted to have succeeded and saved its audit."""
    assert result.returncode == 0, result.tail()
    assert result.summary is not None, result.tail()
    return result


def sends(stats: Mapping[str, Any]) -> dict[str, int]:
    """Write requests per route from the sandbox statistics (``{"POST /invoices": 3}``)."""
    return {
        route: sum(statuses.values())
        for route, statuses in stats["requests"].items()
        if not route.startswith("GET ")
    }


def writes(sandbox: Any) -> dict[str, int]:
    """The write requests the sandbox received since its statistics were last reset."""
    return sends(sandbox.stats())
