"""Runs shaped for people: status labels, counts, durations, amounts, links into Airflow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from fincome_airflow.audit.revenue import month_revenue
from fincome_airflow.contract import RESOURCES
from fincome_airflow.kinds import KIND_MONTHLY
from fincome_airflow.load.progress import format_duration

#: The counts a month row shows, each summed over the three resources.
COUNTS: Final = ("extracted", "sent", "unchanged", "rejected", "blocked", "deleted")
#: Statuses of the state database that mean the run is still going (or died mid-way).
_IN_PROGRESS: Final = {"extracting": "running", "staged": "running"}
_LABELS: Final = {"done": "done", "partial": "partial", "dry_run": "dry run", "failed": "failed"}


@dataclass
class RunView:
    """One run as the pages show it."""

    run_key: str
    dag_id: str
    run_id: str
    month: str
    status: str
    started: dt.datetime | None
    finished: dt.datetime | None
    counts: dict[str, int]
    erp_net: dict[str, str]
    fincome_net: dict[str, str]
    verdict: str
    amount_at_stake: dict[str, str]
    late_months: list[str] = field(default_factory=list)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    invoices: int = 0
    #: ``monthly`` or ``intraday`` (the sync between closes).
    kind: str = KIND_MONTHLY
    #: The month's credit notes in Fincome after the run: how many, net amount per currency.
    credit_notes: int = 0
    credited: dict[str, str] = field(default_factory=dict)
    #: The month's invoices minus its credit notes in Fincome, per currency.
    net_revenue: dict[str, str] = field(default_factory=dict)
    #: The reconciliation's month totals: ``{resource: {currency: {expected, held, difference}}}``.
    totals: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    @property
    def revenue_rows(self) -> list[tuple[str, str, str, str]]:
        """``(currency, invoices, credit notes, net revenue)`` per currency, in Fincome."""
        currencies = sorted(self.fincome_net.keys() | self.credited.keys())
        return [
            (c, self.fincome_net.get(c, "0.00"), self.credited.get(c, "0.00"), self.net_revenue[c])
            for c in currencies
        ]

    @property
    def duration_s(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return max((_aware(self.finished) - _aware(self.started)).total_seconds(), 0.0)

    @property
    def loaded(self) -> bool:
        """Whether the run completed a load (the state that supersedes a failed run)."""
        return self.status in ("done", "partial")

    def to_json(self) -> dict[str, Any]:
        return {
            "run_key": self.run_key,
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "month": self.month,
            "kind": self.kind,
            "status": self.status,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "duration_s": self.duration_s,
            "counts": self.counts,
            "net_amount_erp": self.erp_net,
            "net_amount_fincome": self.fincome_net,
            "reconciliation": self.verdict,
            "amount_at_stake": self.amount_at_stake,
            "late_change_months": self.late_months,
            "credit_notes_fincome": {"count": self.credit_notes, "net_amount": self.credited},
            "net_revenue_fincome": self.net_revenue,
            "reconciliation_totals": self.totals,
        }


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _counts(resources: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    def total(*keys: str) -> int:
        return sum(int(resources.get(r, {}).get(k, 0)) for r in RESOURCES for k in keys)

    counts = {key: total(key) for key in COUNTS if key != "sent"}
    counts["sent"] = total("created", "updated")
    return {key: counts[key] for key in COUNTS}


def run_view(run: Mapping[str, Any]) -> RunView:
    """Shape one ``fincome_runs`` row (summary and stage report decoded)."""
    summary = run.get("summary") or {}
    stage = run.get("stage_report") or {}
    status = _LABELS.get(run["status"]) or _IN_PROGRESS.get(run["status"], run["status"])
    resources = summary.get("resources") or stage.get("counts") or {}
    by_month = summary.get("invoices_by_month")
    credit_notes = summary.get("credit_notes_by_month") or {}
    if by_month is not None:
        revenue = month_revenue(by_month, credit_notes, run["month"])
    else:  # a summary written before the split by month: what the run loaded
        loaded = dict(summary.get("net_amount_loaded") or {})
        revenue = {"gross": loaded, "credited": {}, "net": loaded}
    own_notes = credit_notes.get(run["month"]) or {}
    verdict = summary.get("reconciliation") or {}
    dag_id, _, run_id = run["run_key"].partition("/")
    return RunView(
        run_key=run["run_key"],
        dag_id=dag_id,
        run_id=run_id,
        month=run["month"],
        status=status,
        started=run.get("created_at"),
        finished=run.get("finished_at"),
        counts=_counts(resources),
        erp_net=dict(summary.get("net_amount_extracted") or stage.get("net_by_currency") or {}),
        fincome_net=revenue["gross"],
        verdict=verdict.get("verdict") or ("not run" if summary else ""),
        amount_at_stake=dict(verdict.get("amount_at_stake") or {}),
        late_months=sorted(m for m in (by_month or {}) if m != run["month"]),
        top_reasons=[tuple(x) for x in summary.get("top_reject_reasons") or []],
        invoices=int((resources.get("invoices") or {}).get("extracted", 0)),
        kind=run.get("kind") or KIND_MONTHLY,
        credit_notes=int(own_notes.get("loaded", 0)) + int(own_notes.get("in_fincome", 0)),
        credited=revenue["credited"],
        net_revenue=revenue["net"],
        totals=dict(verdict.get("totals") or {}),
    )


def with_supersession(runs: Sequence[RunView]) -> list[RunView]:
    """Mark ``superseded`` a failed run of a month that a later run of its kind, or a later
    monthly run, loaded (oldest first in): an intraday sync does not replace a monthly close."""
    out = list(runs)
    loaded_after: set[str] = set()
    for view in reversed(out):
        if view.status == "failed" and loaded_after & {view.kind, KIND_MONTHLY}:
            view.status = "superseded"
        if view.loaded:
            loaded_after.add(view.kind)
    return out


@dataclass
class MonthRow:
    """A billing month: its latest run, and when it was last loaded."""

    month: str
    latest: RunView
    runs: int
    last_loaded: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "runs": self.runs,
            "last_loaded": self.last_loaded.isoformat() if self.last_loaded else None,
            "latest_run": self.latest.to_json(),
        }


def month_rows(runs: Iterable[Mapping[str, Any]]) -> list[MonthRow]:
    """One row per month (the latest month first) from runs ordered by month, then start."""
    by_month: dict[str, list[RunView]] = {}
    for run in runs:
        by_month.setdefault(run["month"], []).append(run_view(run))
    rows = []
    for month in sorted(by_month, reverse=True):
        views = with_supersession(by_month[month])
        loads = [v.finished for v in views if v.loaded and v.finished]
        rows.append(MonthRow(month, views[-1], len(views), max(loads) if loads else None))
    return rows


def airflow_run_path(view: RunView) -> str:
    """Path of the run in Airflow's UI (relative to the UI's root)."""
    return f"dags/{quote(view.dag_id, safe='')}/runs/{quote(view.run_id, safe='')}"


def duration_text(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h04m``; an empty string when unknown."""
    return "" if seconds is None else format_duration(seconds)
