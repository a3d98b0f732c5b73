"""The contract's rules of products, plans and credit notes, in the style of ``models.rules``.

Each refuses with a :class:`~pydantic_core.PydanticCustomError` whose *type* is the reason
code (``fincome_airflow.reasons``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from fincome_airflow.models import rules
from fincome_airflow.models.rules import refuse


class _Line(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def net_amount(self) -> Decimal: ...


def lines_consistent(lines: Sequence[_Line] | None, net_amount: Decimal) -> None:
    """A document's lines (invoice or credit note), if any: unique ids, adding up to its total."""
    if lines:
        seen: set[str] = set()
        for index, line in enumerate(lines):
            rules.line_id_unique(line.id, seen, f"lines.{index}.id")
            seen.add(line.id)
        rules.lines_add_up(sum((line.net_amount for line in lines), start=0), net_amount)


def positive(value: Decimal) -> Decimal:
    """A credited amount: more than zero (a negative one is ``negative_amount``)."""
    rules.non_negative(value)
    if value == 0:
        refuse("zero_amount", "must be more than zero")
    return value


def period_pair(start: dt.date | None, end: dt.date | None) -> None:
    """A credited service period has both ends or none, in order."""
    if (start is None) != (end is None):
        rules.period_complete(start, end)
    if start is not None and end is not None:
        rules.period_in_order(start, end)


def not_before_invoice(issued: dt.date, invoice_issued: dt.date) -> None:
    """A credit note is not issued before the invoice it credits."""
    if issued < invoice_issued:
        refuse(
            "credit_before_invoice",
            "issue_date must not be before the credited invoice's issue_date {detail}",
            value=issued.isoformat(),
            detail=invoice_issued.isoformat(),
            field="issue_date",
        )


def within_invoice(credited: Decimal, invoice_net: Decimal) -> None:
    """The credit notes of one invoice never add up to more than its ``net_amount``."""
    if credited > invoice_net:
        refuse(
            "over_credit",
            "credit notes add up to {value}, more than the invoice net_amount {detail}",
            value=str(credited),
            detail=str(invoice_net),
            field="net_amount",
        )
