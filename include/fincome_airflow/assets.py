"""The Airflow Asset of a billing month in Fincome, and the extra its events carry.

The monthly DAG's ``publish`` task emits one event of :data:`BILLING_MONTH` per month loaded
and reconciled, partition key the month (``2026-10``); a downstream DAG waits for months with
``schedule=PartitionedAssetTimetable(assets=BILLING_MONTH)`` and reads ``dag_run.partition_key``
and the event's extra (:func:`event_extra`). Dry runs, runs limited to some resources, runs
whose reconciliation found differences and failed runs emit nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from airflow.sdk import Asset

from fincome_airflow.money import add_amounts

#: The month's billing data in Fincome (customers, subscriptions, invoices), partitioned by month.
BILLING_MONTH: Final = Asset(name="fincome_billing_month", uri="fincome://billing/month")

#: The counts of each resource the extra carries (the audit has more: HTTP tallies, flags).
EXTRA_COUNTS: Final = ("extracted", "created", "updated", "unchanged", "deleted", "rejected")


def not_publishable(summary: Mapping[str, Any]) -> str | None:
    """Why the run's month is not published (``None``: it is loaded and reconciled)."""
    if summary.get("dry_run"):
        return "a dry run sends nothing"
    if summary.get("unfinished_tasks"):
        return f"tasks did not finish: {', '.join(summary['unfinished_tasks'])}"
    resources = summary["resources"]  # a run's own resources (older runs had fewer)
    unselected = [r for r, counts in resources.items() if not counts.get("selected", True)]
    if unselected:
        return f"the run left out {', '.join(unselected)}"
    verdict = summary.get("reconciliation") or {}
    if verdict.get("differences", 1) != 0:
        return f"reconciliation: {verdict.get('verdict', 'not done')}"
    return None


def event_extra(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The event's extra: the audit's figures, small (counts, amounts per currency, verdict)."""
    month = summary["month"]
    own = (summary.get("invoices_by_month") or {}).get(month, {})
    return {
        "month": month,
        "run_key": summary["run_key"],
        "verdict": summary["reconciliation"]["verdict"],
        "counts": {
            resource: {key: counts[key] for key in EXTRA_COUNTS}
            for resource, counts in summary["resources"].items()
        },
        # The month's invoices Fincome holds after the run (loaded now or before), per currency.
        "invoices": own.get("loaded", 0) + own.get("in_fincome", 0),
        "net_amount": add_amounts(own.get("loaded_net", {}), own.get("in_fincome_net", {})),
        "net_amount_loaded": summary.get("net_amount_loaded", {}),
    }
