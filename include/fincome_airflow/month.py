"""The billing month a run loads: from the ``month`` Param, the data interval, or last month."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Self

from fincome_airflow import contract

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_MONTH_RE = re.compile(MONTH_PATTERN)


@dataclass(frozen=True, order=True)
class BillingMonth:
    """A calendar month; ``start`` inclusive, ``end`` exclusive (the first day of the next)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse ``YYYY-MM``; anything else raises ``ValueError`` with a readable message."""
        if not isinstance(text, str) or not _MONTH_RE.match(text):
            raise ValueError(f"month must be a real month written YYYY-MM, got {text!r}")
        year, month = (int(part) for part in text.split("-"))
        if year < contract.MIN_YEAR:
            raise ValueError(f"month {text!r} is before {contract.MIN_YEAR}")
        return cls(year, month)

    @classmethod
    def containing(cls, day: dt.date) -> Self:
        return cls(day.year, day.month)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def end(self) -> dt.date:
        return (self.start + dt.timedelta(days=32)).replace(day=1)

    def previous(self) -> Self:
        return self.containing(self.start - dt.timedelta(days=1))

    def next(self) -> Self:
        return self.containing(self.end)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def day_of(value: Any) -> dt.date | None:
    """A date as the ERP gives it (a date, or ISO text on SQLite); ``None`` when not a date."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def month_of(value: Any) -> str | None:
    """The month ``YYYY-MM`` of an ERP date (``None`` when it is not a date)."""
    day = day_of(value)
    return None if day is None else str(BillingMonth.containing(day))


def resolve_month(
    requested: str | None,
    data_interval_start: dt.datetime | None,
    now: dt.datetime,
) -> BillingMonth:
    """Pick the month a run loads.

    An explicit ``month`` Param wins; a scheduled run loads the month of its data interval (the
    monthly timetable's interval is the closed month); a manual run without a data interval
    loads the previous calendar month.
    """
    if requested:
        return BillingMonth.parse(requested)
    if data_interval_start is not None:
        return BillingMonth.containing(data_interval_start.date())
    return BillingMonth.containing(now.date()).previous()


def open_month(context: Any, now: dt.datetime | None = None) -> BillingMonth:
    """The month an intraday run belongs to (and locks): the one holding its logical date, or
    for a manual run without one, the current month."""
    when = context.get("logical_date") or now or dt.datetime.now(dt.UTC)
    return BillingMonth.containing(when.date())


def month_from_context(context: Any, now: dt.datetime | None = None) -> BillingMonth:
    """Resolve the run's month from an Airflow task context."""
    params = context.get("params") or {}
    return resolve_month(
        params.get("month"),
        context.get("data_interval_start"),
        now or dt.datetime.now(dt.UTC),
    )
