"""What one load extracts: the billing month, the watermark, and the pending records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from fincome_airflow.contract import Resource

#: At most this many pending records per resource are re-extracted by one run (a bound on the
#: size of the ``IN`` list; SQLite accepts 32766 parameters). The oldest go first; the rest
#: follow in later runs.
MAX_PENDING_PER_RESOURCE: Final = 10_000


@dataclass(frozen=True)
class LoadScope:
    """The parameters every extraction query binds."""

    month_start: dt.date
    month_end: dt.date
    #: The last successful load's watermark (every change stamped at or before it was read).
    watermark: dt.datetime
    pending: Mapping[Resource, frozenset[str]] = field(default_factory=dict)
    #: How far behind ``watermark`` the queries re-read (see ``extract/watermark.py``).
    overlap: dt.timedelta = dt.timedelta(0)
    #: Read only what changed (the intraday sync): no record is taken for its date in the month.
    changes_only: bool = False

    @classmethod
    def for_month(
        cls,
        month_start: dt.date,
        month_end: dt.date,
        watermark: dt.datetime | None,
        pending: Mapping[Resource, frozenset[str]] | None = None,
        overlap: dt.timedelta = dt.timedelta(0),
        *,
        changes_only: bool = False,
    ) -> LoadScope:
        """Before the first successful load the watermark is the start of the month, with no
        overlap: no earlier load can have passed a change that had not committed yet."""
        if watermark is None:
            watermark = dt.datetime.combine(month_start, dt.time())
            overlap = dt.timedelta(0)
        if watermark.tzinfo is not None:  # ERP timestamps are naive
            watermark = watermark.replace(tzinfo=None)
        return cls(month_start, month_end, watermark, dict(pending or {}), overlap, changes_only)

    @property
    def changed_since(self) -> dt.datetime:
        """What the queries bind as ``watermark``: the watermark less the overlap."""
        return self.watermark - self.overlap

    def pending_ids(self, resource: Resource) -> list[str]:
        return sorted(self.pending.get(resource, frozenset()))

    def params(self) -> dict[str, Any]:
        """Every parameter of the queries (each query binds the ones it names).

        Changes only: the month's date range is bound empty (``month_end = month_start``), so
        the queries read the changed and pending rows alone, through the ``updated_at`` indexes.
        """
        return {
            "month_start": self.month_start,
            "month_end": self.month_start if self.changes_only else self.month_end,
            "watermark": self.changed_since,
            "pending_ids": [],
            "pending_invoice_ids": self.pending_ids("invoices"),
            "pending_subscription_ids": self.pending_ids("subscriptions"),
            "pending_customer_ids": self.pending_ids("customers"),
            "pending_product_ids": self.pending_ids("products"),
            "pending_plan_ids": self.pending_ids("plans"),
            "pending_credit_note_ids": self.pending_ids("credit_notes"),
        }

    def params_for(self, resource: Resource) -> dict[str, Any]:
        """The parameters of the query of ``resource`` (``pending_ids`` = its own pending)."""
        params = self.params()
        params["pending_ids"] = self.pending_ids(resource)
        return params
