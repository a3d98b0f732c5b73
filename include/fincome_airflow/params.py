"""The DAG's Params: shown in the trigger form, validated by their JSON schema and by the code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fincome_airflow.contract import RESOURCES
from fincome_airflow.month import MONTH_PATTERN, BillingMonth

DEFAULT_MAX_REJECT_RATIO = 0.05


def dag_params() -> dict[str, Any]:
    """The ``params=`` of the monthly DAG (imported at parse time: keep it cheap)."""
    from airflow.sdk import Param

    return {
        "month": Param(
            None,
            type=["null", "string"],
            pattern=MONTH_PATTERN,
            title="Billing month",
            description="Month to load, YYYY-MM. Empty: the run's data interval, or for a "
            "manual run without one, the previous calendar month.",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Extract, validate and compare with what Fincome holds, but send "
            "nothing: reports what would be created, updated, deleted, left unchanged, "
            "rejected or blocked.",
        ),
        "full_resync": Param(
            False,
            type="boolean",
            title="Full resync",
            description="Send every record of the month even if unchanged since the last load "
            "(repairs records edited or deleted by hand in Fincome).",
        ),
        "resources": Param(
            list(RESOURCES),
            type="array",
            items={"type": "string", "enum": list(RESOURCES)},
            uniqueItems=True,
            minItems=1,
            title="Resources",
            description="Which resources to send (products, plans, customers, subscriptions, "
            "invoices, credit_notes). A cancelled record is deleted with its resource: credit "
            "notes before invoices.",
        ),
        "max_reject_ratio": Param(
            DEFAULT_MAX_REJECT_RATIO,
            type="number",
            minimum=0,
            maximum=1,
            title="Maximum reject ratio",
            description="Share of rejected or blocked records above which the run fails before "
            "sending anything, naming the most frequent reasons.",
        ),
        "reconcile_only": Param(
            False,
            type="boolean",
            title="Reconcile only",
            description="Skip extraction and loading: only compare Fincome with the ERP month.",
        ),
    }


@dataclass(frozen=True)
class RunOptions:
    """The validated Params of one run (the code re-checks what the form already checked)."""

    month: BillingMonth
    dry_run: bool
    full_resync: bool
    resources: tuple[str, ...]
    max_reject_ratio: float
    reconcile_only: bool

    @classmethod
    def from_params(cls, params: Mapping[str, Any], month: BillingMonth) -> RunOptions:
        resources = params.get("resources") or list(RESOURCES)
        if isinstance(resources, str):
            resources = [resources]
        unknown = sorted(set(resources) - set(RESOURCES))
        if unknown:
            raise ValueError(f"unknown resources {unknown}; choose among {', '.join(RESOURCES)}")
        ratio = params.get("max_reject_ratio", DEFAULT_MAX_REJECT_RATIO)
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise ValueError(f"max_reject_ratio must be a number from 0 to 1, got {ratio!r}")
        return cls(
            month=month,
            dry_run=_flag(params, "dry_run"),
            full_resync=_flag(params, "full_resync"),
            resources=tuple(r for r in RESOURCES if r in resources),
            max_reject_ratio=float(ratio),
            reconcile_only=_flag(params, "reconcile_only"),
        )


def _flag(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value
