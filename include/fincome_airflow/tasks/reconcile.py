"""The reconcile task: read the month back from Fincome and compare it with the ERP."""

from __future__ import annotations

import logging
import os
from typing import Any, Final

from airflow.sdk.exceptions import AirflowFailException

from fincome_airflow.contract import RESOURCES
from fincome_airflow.hooks.fincome import FincomeHook
from fincome_airflow.month import BillingMonth
from fincome_airflow.reconcile.compare import totals_differ
from fincome_airflow.reconcile.reconcile_month import reconcile_month
from fincome_airflow.state.retention import require_resumable
from fincome_airflow.state.store import StateStore
from fincome_airflow.tasks.extract import report_path

log = logging.getLogger(__name__)

#: ``fail`` (default): differences fail the task; ``warn``: they are only reported.
ENV_ON_DIFFERENCE: Final = "FINCOME_RECONCILE_ON_DIFFERENCE"
POLICIES: Final = ("fail", "warn")


class ReconciliationFailed(AirflowFailException):
    """Fincome does not hold what the ERP month calls for (retrying would not change that)."""


def difference_policy(value: str | None = None) -> str:
    policy = (value or os.environ.get(ENV_ON_DIFFERENCE) or "fail").strip().lower()
    if policy not in POLICIES:
        raise ValueError(f"{ENV_ON_DIFFERENCE} must be one of {POLICIES}, got {policy!r}")
    return policy


def describe(result: dict[str, Any]) -> str:
    largest = "; ".join(
        f"{d['resource']} {d['record_id']} {d['kind']}"
        + (f" ({d['fields']})" if d.get("fields") else "")
        + (f" {d['amount_at_stake']} {d['currency']}" if d.get("currency") else "")
        for d in result.get("largest", [])
    )
    others = ", ".join(result.get("other_months") or []) or "none"
    differ = ", ".join(" ".join(item) for item in totals_differ(result.get("totals") or {}))
    return (
        f"{result['verdict']}; amounts at stake {result['amount_at_stake'] or 'none'}; "
        f"month totals Fincome holds differently: {differ or 'none'}; "
        f"by kind {result['by_kind']}; largest: {largest or 'none'}; "
        f"other months whose invoices this run sent, checked too: {others}; "
        f"list in {result['file']}"
    )


def reconcile_run(
    plan: dict[str, Any],
    *,
    fincome_conn_id: str,
    state_conn_id: str,
    on_difference: str | None = None,
) -> dict[str, Any]:
    """Reconcile the run's month; the verdict is stored before any failure is raised."""
    policy = difference_policy(on_difference)
    store = StateStore.from_connection(state_conn_id)
    require_resumable(store, plan["run_key"])
    hook = FincomeHook(fincome_conn_id=fincome_conn_id)
    path = report_path(plan["run_key"], "reconciliation")
    result = reconcile_month(hook, store, plan["run_key"], BillingMonth.parse(plan["month"]), path)
    message = describe(result)
    if result["differences"] == 0:
        log.info("Month %s reconciled: %s", plan["month"], message)
    # A dry run, or a run limited to some resources (the others stay as they were), only warns.
    elif policy == "fail" and not plan["dry_run"] and set(plan["resources"]) >= set(RESOURCES):
        raise ReconciliationFailed(f"Month {plan['month']}: {message}")
    else:
        log.warning("Month %s: %s", plan["month"], message)
    return result
