"""The month's revenue per currency as Fincome holds it after a run: the invoices of the month
(gross) minus its credit notes (credited), which Fincome always counts against revenue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fincome_airflow.money import add_amounts, subtract_amounts


def held_net(by_month: Mapping[str, Mapping[str, Any]] | None, month: str) -> dict[str, str]:
    """Net amount per currency of a dated resource's records of ``month`` that Fincome holds
    after the run (loaded by it, or held already), from ``audit.run_counts.by_issue_month``."""
    own = (by_month or {}).get(month) or {}
    return add_amounts(own.get("loaded_net"), own.get("in_fincome_net"))


def month_revenue(
    invoices_by_month: Mapping[str, Mapping[str, Any]] | None,
    credit_notes_by_month: Mapping[str, Mapping[str, Any]] | None,
    month: str,
) -> dict[str, dict[str, str]]:
    """``{"gross": ..., "credited": ..., "net": ...}``, each ``{currency: amount}``."""
    gross = held_net(invoices_by_month, month)
    credited = held_net(credit_notes_by_month, month)
    return {"gross": gross, "credited": credited, "net": subtract_amounts(gross, credited)}
