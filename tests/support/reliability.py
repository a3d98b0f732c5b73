"""The reliability scenarios' rig: their API connection, ``airflow dags test`` and what it left,
the fault-free reference load every faulty run must match."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fincome_airflow.contract import DELETION_STEPS, RESOURCES
from fincome_dev import connections
from fincome_dev.airflow_env import AirflowRuntime
from fincome_dev.reliability.results import Comparison, compare_dumps
from support.dag_runs import dags_test_args

DAG_ID = "fincome_monthly_load"
#: The known key: every secrets check searches for it.
KNOWN_KEY = "fk_live_RELIABILITY_d41c8e9b72"
MONTH = "2026-10"
#: A generous reject ratio: the dirty ERP months refuse more than the 5 % default.
CONF = {"month": MONTH, "max_reject_ratio": 0.5}


def fincome_conn(base_url: str, api_key: str = KNOWN_KEY, **extra: Any) -> str:
    """The API connection of the scenarios: a modest rate, short timeouts, a retry budget."""
    settings = {"requests_per_second": 400, "max_concurrency": 6, "timeout": 5, "retry_budget": 30}
    return json.dumps(connections.fincome_api(base_url, api_key, **(settings | extra)))


def dags_test(
    af: AirflowRuntime, conf: Mapping[str, Any] = CONF, *, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``airflow dags test fincome_monthly_load --conf ...`` (retries happen in its loop)."""
    args = dags_test_args(af, DAG_ID, "--conf", json.dumps(conf))
    return af.cli(*args, check=False, timeout=timeout)


def task_states(af: AirflowRuntime, run_id: str | None = None) -> dict[str, tuple[str, int]]:
    """``{task_id: (state, try_number)}`` of the (only, or given) run."""
    sql = "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ?"
    params: tuple = (DAG_ID,)
    if run_id:
        sql += " AND run_id = ?"
        params += (run_id,)
    return {row[0]: (row[1], row[2]) for row in af.query(sql, params)}


def audit_of(af: AirflowRuntime) -> dict[str, Any]:
    """The ``audit`` XCom of the last run (the summary the audit task pushed)."""
    rows = af.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND task_id = 'audit' AND key = 'audit' "
        "ORDER BY timestamp DESC LIMIT 1",
        (DAG_ID,),
    )
    assert rows, "the audit task pushed no summary"
    value = rows[0][0]
    return json.loads(value if isinstance(value, str) else value.decode())


def reference_load(erp_url: str, tmp: Path, month: str = MONTH) -> dict[str, Any]:
    """Load ``month`` fault-free, in-process, into a fresh sandbox; return its dump.

    The expected Fincome state that every faulty run must reach exactly.
    """
    import datetime as dt
    import logging
    import os

    from fincome_airflow.engines import erp_engine
    from fincome_airflow.hooks.fincome import FincomeHook
    from fincome_airflow.load.send_loops import delete_resource, load_resource
    from fincome_airflow.stage.stage_month import extract_and_stage
    from fincome_airflow.state.ledger import Ledger
    from fincome_airflow.state.store import StateStore
    from fincome_sandbox.launcher import SandboxProcess

    log = logging.getLogger("reference")
    store = StateStore.from_url(f"sqlite:///{tmp / 'reference_state.db'}")
    engine = erp_engine(erp_url)
    with SandboxProcess(api_key=KNOWN_KEY) as sandbox:
        saved = os.environ.get("AIRFLOW_CONN_REFERENCE_API")
        os.environ["AIRFLOW_CONN_REFERENCE_API"] = fincome_conn(sandbox.base_url)
        try:
            extract_and_stage(engine, store, "reference", month, now=dt.datetime.now(dt.UTC))
            hook = FincomeHook("reference_api")
            for resource in RESOURCES:
                load_resource(hook, Ledger(store, "reference", resource), log=log)
            for resource in DELETION_STEPS.values():  # credit notes before their invoices
                delete_resource(hook, Ledger(store, "reference", resource), log=log)
        finally:
            engine.dispose()
            if saved is None:
                os.environ.pop("AIRFLOW_CONN_REFERENCE_API", None)
            else:
                os.environ["AIRFLOW_CONN_REFERENCE_API"] = saved
        return sandbox.dump()


def assert_exact(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> Comparison:
    """The sandbox holds exactly the expected records: none lost, stale or extra."""
    comparison = compare_dumps(actual, expected)
    assert comparison.expected > 0
    assert comparison.lost == [], f"lost records: {comparison.lost[:10]}"
    assert comparison.stale == [], f"stale records: {comparison.stale[:10]}"
    assert comparison.extra == [], f"records that should not be there: {comparison.extra[:10]}"
    return comparison
