"""What one generation writes: months, invoices per month, dirty share, seed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fincome_erp.months import Month, month_range

#: Default months: the demo month and two before it, so that "updated since the watermark"
#: cases exist (an August invoice paid in October). The snapshot is the end of the last month:
#: a later month would date clean invoices after today's clock until that month is over.
DEFAULT_FIRST_MONTH = Month(2026, 8)
DEFAULT_LAST_MONTH = Month(2026, 10)
#: The month the demo loads.
DEMO_MONTH = Month(2026, 10)
DEFAULT_DIRTY_SHARE = 0.05
DEFAULT_EDGE_SHARE = 0.01
DEFAULT_SEED = 2026


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of one generation; equal configs write identical rows.

    :param months: consecutive billing months.
    :param invoice_counts: invoices (documents, any status) dated in each month.
    :param dirty_share: share of the customers, of the contracts and of the invoices that
        carry a defect, split evenly over the kinds of each.
    :param edge_share: share of hostile-but-valid names and descriptions.
    """

    months: tuple[Month, ...]
    invoice_counts: tuple[int, ...]
    dirty_share: float = DEFAULT_DIRTY_SHARE
    edge_share: float = DEFAULT_EDGE_SHARE
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not self.months or len(self.months) != len(self.invoice_counts):
            raise ValueError("one invoice count per month is needed")
        if list(self.months) != list(month_range(self.months[0], self.months[-1])):
            raise ValueError("months must be consecutive")
        if min(self.invoice_counts) < 0:
            raise ValueError("invoice counts must not be negative")
        if not 0 <= self.dirty_share <= 1 or not 0 <= self.edge_share <= 1:
            raise ValueError("shares must be between 0 and 1")

    @classmethod
    def build(
        cls,
        first: Month | None = None,
        last: Month | None = None,
        *,
        invoices_per_month: int | None = None,
        invoices: int | None = None,
        **options: Any,
    ) -> GeneratorConfig:
        """Config over ``first..last``: ``invoices_per_month`` each, or ``invoices`` in all.

        Without months: 2026-08..2026-10; with ``first`` only: that month. A total is spread
        as evenly as possible, earlier months taking the remainder.
        """
        if first is None:
            first, last = DEFAULT_FIRST_MONTH, last or DEFAULT_LAST_MONTH
        months = month_range(first, last or first)
        if invoices is not None and invoices_per_month is not None:
            raise ValueError("give invoices per month or a total, not both")
        if invoices is None:
            counts = (1000 if invoices_per_month is None else invoices_per_month,) * len(months)
        else:
            base, extra = divmod(invoices, len(months))
            counts = tuple(base + (1 if i < extra else 0) for i in range(len(months)))
        return cls(months, counts, **options)

    @property
    def as_of(self) -> dt.datetime:
        """The ERP snapshot instant: the end of the last month; every ``updated_at`` is before."""
        return dt.datetime.combine(self.months[-1].end, dt.time())

    @property
    def total_invoices(self) -> int:
        return sum(self.invoice_counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "months": [str(m) for m in self.months],
            "invoice_counts": list(self.invoice_counts),
            "dirty_share": self.dirty_share,
            "edge_share": self.edge_share,
            "seed": self.seed,
            "as_of": self.as_of.isoformat(sep=" "),
        }
