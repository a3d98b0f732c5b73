"""A state database with a history of runs, as the operations page reads it (bench and tests).

:func:`seed_history` writes ``fincome_runs`` rows shaped as the audit writes them, then refused
records and reconciliation differences for the latest month: what years of monthly loads leave.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fincome_airflow.audit.revenue import month_revenue
from fincome_airflow.contract import RESOURCES
from fincome_airflow.month import BillingMonth
from fincome_airflow.state import schema
from fincome_airflow.state.rejects import record_rejects
from fincome_airflow.state.store import StateStore

DAG_ID: Final = "fincome_monthly_load"
#: The resources the made-up rejects take turns in (an invoice blocked by its customer).
REJECTED_RESOURCES: Final = ("customers", "subscriptions", "invoices")
REASONS: Final = (
    "unknown_country",
    "negative_amount",
    "reference_not_found",
    "lines_do_not_add_up",
    "missing_value",
)


@dataclass(frozen=True)
class SeededMonth:
    """What was written for one month: its runs' keys (oldest first)."""

    month: str
    run_keys: tuple[str, ...]


def months_back(last: str, count: int) -> list[str]:
    """``count`` months ending with ``last``, oldest first."""
    months = [BillingMonth.parse(last)]
    while len(months) < count:
        months.append(months[-1].previous())
    return [str(m) for m in reversed(months)]


def _summary(month: str, run_key: str, *, invoices: int, rejected: int, dry_run: bool) -> dict:
    counts = {
        r: dict.fromkeys(
            ("extracted", "valid", "rejected", "blocked", "skipped", "unchanged", "created",
             "updated", "deleted", "failed"),
            0,
        )
        for r in RESOURCES
    }  # fmt: skip
    inv = counts["invoices"]
    inv.update(extracted=invoices, valid=invoices - rejected, rejected=rejected)
    inv["unchanged" if dry_run else "created"] = invoices - rejected
    net = f"{invoices * 100 + 0.5:.2f}"
    # A credit note for one invoice in twenty, of CHF 50.25 each.
    notes, credited = invoices // 20, f"{invoices // 20 * 50.25:.2f}"
    invoices_by_month = {
        month: {
            "loaded": 0 if dry_run else invoices - rejected,
            "loaded_net": {} if dry_run else {"CHF": net},
            "in_fincome": 0,
            "in_fincome_net": {},
        }
    }
    credit_notes_by_month = {
        month: {
            "loaded": 0 if dry_run else notes,
            "loaded_net": {} if dry_run else {"CHF": credited},
            "in_fincome": 0,
            "in_fincome_net": {},
        }
    }
    totals = {"expected": credited, "held": credited, "difference": "0.00"}
    return {
        "month": month,
        "run_key": run_key,
        "dry_run": dry_run,
        "resources": counts,
        "net_amount_extracted": {"CHF": net, "EUR": f"{invoices * 12:.2f}"},
        "net_amount_loaded": {} if dry_run else {"CHF": net},
        "invoices_by_month": invoices_by_month,
        "credit_notes_by_month": credit_notes_by_month,
        "revenue": month_revenue(invoices_by_month, credit_notes_by_month, month),
        "top_reject_reasons": [[REASONS[i % len(REASONS)], rejected // 5] for i in range(5)],
        "reconciliation": {
            "verdict": "reconciled",
            "differences": 0,
            "amount_at_stake": {},
            "totals": {"credit_notes": {"CHF": totals}},
        },
    }


def _run(month: str, run_id: str, status: str, start: dt.datetime, **summary: Any) -> dict:
    run_key = f"{DAG_ID}/{run_id}"
    return {
        "run_key": run_key,
        "month": month,
        "status": status,
        "dry_run": status == "dry_run",
        "created_at": start,
        "finished_at": start + dt.timedelta(minutes=3, seconds=20),
        "max_updated_at": None,
        "stage_report": None,
        "summary": json.dumps(_summary(month, run_key, dry_run=status == "dry_run", **summary)),
    }


def rejects_rows(run_key: str, count: int) -> Iterator[dict[str, Any]]:
    """``count`` refused records: every fifth blocked by the customer its invoice references."""
    for i in range(count):
        blocked = i % 5 == 4
        resource = REJECTED_RESOURCES[i % 3]
        yield {
            "run_key": run_key,
            "resource": resource,
            "record_id": f"{resource[:3].upper()}-{i:07d}",
            "seq": 0,
            "outcome": "blocked" if blocked else "rejected",
            "reason_code": "parent_refused" if blocked else REASONS[i % len(REASONS)],
            "field": None if blocked else "country",
            "message": "its customer was refused" if blocked else f"value #{i} is not accepted",
            "blocked_by": f"customers/CUS-{i:07d}" if blocked else None,
        }


def seed_history(
    store: StateStore, months: Sequence[str], *, rejects: int = 0, invoices: int = 1000
) -> list[SeededMonth]:
    """Write one loaded run per month; the last month gets a failed scheduled run first (then
    a manual rerun that loaded it), ``rejects`` refused records and two differences."""
    seeded, rows = [], []
    for month in months:
        first = BillingMonth.parse(month).end
        start = dt.datetime(first.year, first.month, first.day, 0, 5, tzinfo=dt.UTC)
        runs = []
        if month == months[-1]:
            runs.append(_run(month, f"scheduled__{month}", "failed", start, invoices=invoices,
                             rejected=rejects))  # fmt: skip
            start += dt.timedelta(hours=5)
            runs.append(_run(month, f"manual__{month}_dry-run", "dry_run", start,
                             invoices=invoices, rejected=rejects))  # fmt: skip
            start += dt.timedelta(hours=1)
        run_id = f"manual__{month}_load" if month == months[-1] else f"scheduled__{month}"
        runs.append(_run(month, run_id, "done", start, invoices=invoices, rejected=rejects))
        rows.extend(runs)
        seeded.append(SeededMonth(month, tuple(r["run_key"] for r in runs)))
    store.insert_rows(schema.runs, rows)
    latest = seeded[-1].run_keys[-1]
    with store.begin() as conn:
        record_rejects(conn, rejects_rows(latest, rejects))
    store.insert_rows(
        schema.differences,
        [
            {"run_key": latest, "resource": "invoices", "record_id": "INV-0000042",
             "kind": "amount", "currency": "CHF", "amount_at_stake": 120.5,
             "fields": "total", "detail": "Fincome holds 100.00, the ERP 220.50"},
            {"run_key": latest, "resource": "customers", "record_id": "CUS-0000007",
             "kind": "missing", "currency": None, "amount_at_stake": None,
             "fields": None, "detail": "not in Fincome"},
        ],
    )  # fmt: skip
    return seeded
