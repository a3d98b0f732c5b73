"""Flaky API: the whole DAG (``airflow dags test``) against a sandbox that answers 5 % 5xx
(mostly 503), 2 % 429 with ``Retry-After``, drops 1 % of connections and stalls 1 % past the
client's 1 s timeout. The month completes and Fincome holds exactly what a fault-free load
of the same ERP month gives: every record, latest values, nothing extra.

Level: ``airflow dags test`` (real task runner, SQLite metadata and state databases, real HTTP).
"""

from __future__ import annotations

import pytest
from support.connections import sqlite_conn_json
from support.erp import sqlite_erp
from support.reliability import (
    CONF,
    KNOWN_KEY,
    assert_exact,
    audit_of,
    dags_test,
    fincome_conn,
    reference_load,
    task_states,
)

pytestmark = pytest.mark.timeout(300)

FAULTS = {
    "error_rate": 0.05,
    "throttle_rate": 0.02,
    "reset_rate": 0.01,
    "stall_rate": 0.01,
    "stall_seconds": 3,
    "seed": 20261,
}


def test_flaky_api_month_completes_exactly_with_balanced_audit(
    tmp_path, sandbox_factory, airflow_rig, record_result
):
    erp_url = sqlite_erp(tmp_path, invoices=300, seed=11)
    expected = reference_load(erp_url, tmp_path)
    flaky = sandbox_factory(api_key=KNOWN_KEY, **FAULTS)
    af = airflow_rig(
        {
            "AIRFLOW_CONN_ERP_DB": sqlite_conn_json(tmp_path / "erp.sqlite"),
            "AIRFLOW_CONN_FINCOME_STATE": sqlite_conn_json(tmp_path / "state.db"),
            "AIRFLOW_CONN_FINCOME_API": fincome_conn(flaky.base_url, timeout=1, retry_budget=60),
        }
    )

    result = dags_test(af, CONF)

    states = task_states(af)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {state for state, _ in states.values()} == {"success"}, states
    stats = flaky.stats()
    faults = {**stats["faults"], "429": stats["rate_limited"]}
    assert all(faults[kind] > 0 for kind in ("error", "reset", "stall", "429")), faults
    comparison = assert_exact(flaky.dump(), expected)

    audit = audit_of(af)
    for resource, counts in audit["resources"].items():
        assert counts["balanced"], (resource, counts)
        assert counts["failed"] == 0
        # every record Fincome now holds was confirmed once by this run (created, or updated
        # when a confirmation was lost to a fault and the retry found it there)
        assert counts["created"] + counts["updated"] == len(expected[resource]), resource
    assert audit["reconciliation"]["verdict"] == "reconciled"
    retries = sum(c["retries"] for c in audit["resources"].values())
    assert retries >= sum(faults.values()) - faults["stall"]  # each fault cost at least a retry
    record_result(
        "flaky_api",
        kind="fault",
        level="dags test",
        outcome="success",
        faults=faults,
        retries=retries,
        **comparison.figures(),
    )
