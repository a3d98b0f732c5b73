"""State shared by the record builders of one generation: RNG, calendar, ids, output."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import NamedTuple

from fincome_erp.config import GeneratorConfig
from fincome_erp.dirty import KINDS_BY_RESOURCE, DirtySchedule
from fincome_erp.manifest import Manifest
from fincome_erp.months import DateText
from fincome_erp.tables import Row, Table

#: How far before the first month customers and contracts may start.
HISTORY_DAYS = 1500


class Customer(NamedTuple):
    cust_no: str
    currency: str
    tax_bp: int
    created: int  # date ordinal


class Contract(NamedTuple):
    contract_no: str
    cust_no: str
    currency: str
    tax_bp: int
    plan_label: str
    units: int
    base_cents: int
    addon_label: str | None
    addon_cents: int
    billing_day: int


def money(cents: int) -> str:
    """``1250.00`` from 125000 cents."""
    if cents < 0:
        return "-" + money(-cents)
    return f"{cents // 100}.{cents % 100:02d}"


class Context:
    """Everything the builders share; ``emit`` sends one row to the writer and counts it."""

    def __init__(self, config: GeneratorConfig, add: Callable[[Table, Row], None]) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.manifest = Manifest(config.to_dict())
        self._add = add
        self._rows = self.manifest.rows
        self.month_start = [m.start.toordinal() for m in config.months]
        self.month_last = [m.end.toordinal() - 1 for m in config.months]
        self.range_start = self.month_start[0]
        self.as_of = config.as_of.date().toordinal()  # first day after the last month
        self.text = DateText(
            dt.date.fromordinal(self.range_start - HISTORY_DAYS),
            dt.date.fromordinal(self.as_of + 400),
        )
        self.schedules = {
            resource: DirtySchedule(kinds, config.dirty_share, self.rng)
            for resource, kinds in KINDS_BY_RESOURCE.items()
        }
        #: Called with each invoice written from a contract slot (row, line rows, dirty kind).
        self.on_invoice: Callable[[Row, list[Row], str | None], None] | None = None
        self._seq = {"customer": 0, "contract": 0, "missing_customer": 0, "missing_contract": 0}

    def emit(self, table: Table, row: Row) -> None:
        self._add(table, row)
        self._rows[table] += 1

    def next_id(self, what: str) -> str:
        """A fresh id; ids of missing records have 9 digits and never collide with real ones."""
        self._seq[what] += 1
        n = self._seq[what]
        if what == "customer":
            return f"CUST-{n:07d}"
        if what == "contract":
            return f"CTR-{n:07d}"
        if what == "missing_customer":
            return f"CUST-9{n:08d}"
        return f"CTR-9{n:08d}"

    def stamp(self, ordinal: int) -> str:
        """A timestamp on that day, at a random second."""
        return self.text.stamp(ordinal, int(self.rng.random() * 86400))

    def stamp_in_range(self, after: int | None = None) -> tuple[int, str]:
        """A random timestamp in the generated months (not before ``after``)."""
        low = max(self.range_start, after or 0)
        day = self.rng.randrange(low, self.as_of)
        return day, self.stamp(day)
