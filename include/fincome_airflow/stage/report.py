"""The small summary of an extraction (the task's XCom: counts and keys, never records)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from fincome_airflow.validation.decisions import Decision

#: How many reject reasons the report lists.
TOP_REASONS = 5


@dataclass
class ResourceCounts:
    extracted: int = 0
    valid: int = 0
    rejected: int = 0
    blocked: int = 0
    to_delete: int = 0
    skipped: int = 0


@dataclass
class StageReport:
    """Counts per resource, net amounts per currency and the top reject reasons of a run."""

    run_key: str
    month: str
    dry_run: bool
    watermark: str
    #: The ``updated_at`` the queries read from: the watermark less the overlap.
    changed_since: str | None = None
    #: The run's watermark candidate: its highest ``updated_at``, at most the horizon.
    max_updated_at: str | None = None
    #: ``horizon`` or ``overlap`` (see ``extract/watermark.py``), and the horizon or why none.
    watermark_guard: str | None = None
    horizon: str | None = None
    counts: dict[str, ResourceCounts] = field(default_factory=dict)
    #: Net amount of the issued invoices extracted (DRAFT and CANCELLED excluded), per currency.
    net_by_currency: dict[str, str] = field(default_factory=dict)
    #: Net amount of the invoices staged for sending, per currency.
    staged_net_by_currency: dict[str, str] = field(default_factory=dict)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    #: The billing months of the invoices staged to send or delete (the run locks them).
    invoice_months: list[str] = field(default_factory=list)
    pending_reextracted: int = 0
    #: Records refused and unchanged since the watermark (read again as pending, or as the
    #: references of a change): refusals not caused by a change since the last run (the
    #: intraday sync's reject gate leaves them out).
    known_refused: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReportBuilder:
    """Accumulates a :class:`StageReport` from the stream of decisions."""

    def __init__(self, report: StageReport) -> None:
        self.report = report
        self._reasons: Counter[str] = Counter()
        self._net: dict[str, Decimal] = {}
        self._staged_net: dict[str, Decimal] = {}
        self._months: set[str] = set()

    def add(self, d: Decision) -> None:
        c = self.report.counts.get(d.resource)
        if c is None:  # (setdefault would build a ResourceCounts per record)
            c = self.report.counts[d.resource] = ResourceCounts()
        c.extracted += 1
        kind = d.kind
        if kind == "stage":  # the common case first, in as few steps as it needs
            c.valid += 1
            if d.month is not None:
                self._months.add(d.month)
            if d.resource == "invoices":
                self._add_net(d, staged=True)
        elif kind == "delete":
            c.to_delete += 1
            if d.month is not None:
                self._months.add(d.month)
        elif kind == "skip":
            c.skipped += 1
        else:
            outcome = d.outcome
            c.blocked += outcome == "blocked"
            c.rejected += outcome == "rejected"
            self._reasons[d.problems[0].reason_code if d.problems else "invalid_value"] += 1
            if d.resource == "invoices":
                self._add_net(d, staged=False)

    def _add_net(self, d: Decision, *, staged: bool) -> None:
        """An invoice staged or refused counts in its currency's net (staged: in both)."""
        net, currency = d.net_amount, d.currency
        if net is None or not currency:
            return
        self._net[currency] = self._net.get(currency, Decimal(0)) + net
        if staged:
            self._staged_net[currency] = self._staged_net.get(currency, Decimal(0)) + net

    def finish(self) -> StageReport:
        r = self.report
        r.net_by_currency = {k: format(v, "f") for k, v in sorted(self._net.items())}
        r.staged_net_by_currency = {k: format(v, "f") for k, v in sorted(self._staged_net.items())}
        r.top_reasons = self._reasons.most_common(TOP_REASONS)
        r.invoice_months = sorted(self._months)
        return r
