"""Calendar helpers of the generator: months, dates as ISO text."""

from __future__ import annotations

import datetime as dt
import re
from typing import Self

from fincome_airflow.month import BillingMonth

_MONTH_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


class Month(BillingMonth):
    """A calendar month (the load's :class:`BillingMonth`: ``start``, ``end``, ``next()``, order).

    Only the parsing differs: the generator's command line takes padded text and any year.
    """

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse ``YYYY-MM`` (raises ``ValueError`` otherwise)."""
        match = _MONTH_RE.match(text.strip())
        if not match:
            raise ValueError(f"a month is written YYYY-MM, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))


def month_range(first: Month, last: Month) -> tuple[Month, ...]:
    """Every month from ``first`` to ``last``, both included."""
    if last < first:
        raise ValueError(f"month range ends ({last}) before it starts ({first})")
    months = [first]
    while months[-1] < last:
        months.append(months[-1].next())
    return tuple(months)


class DateText:
    """ISO text of dates and timestamps, cached over a window of ordinals (the hot path)."""

    def __init__(self, first: dt.date, last: dt.date) -> None:
        self._base = first.toordinal()
        self._dates = [
            dt.date.fromordinal(o).isoformat() for o in range(self._base, last.toordinal() + 1)
        ]
        self._times = [
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        ]

    def date(self, ordinal: int) -> str:
        """``YYYY-MM-DD`` of a date ordinal."""
        index = ordinal - self._base
        if 0 <= index < len(self._dates):
            return self._dates[index]
        return dt.date.fromordinal(ordinal).isoformat()

    def stamp(self, ordinal: int, second: int) -> str:
        """``YYYY-MM-DD HH:MM:SS`` of a date ordinal and a second of that day."""
        return f"{self.date(ordinal)} {self._times[second]}"
