"""The contract's rules, each written once, each refusing with its reject reason code.

A rule takes a value already converted to Python (``str``, ``date``, ``Decimal``) and returns it,
or raises :class:`~pydantic_core.PydanticCustomError` whose *type* is the reason code
(``fincome_airflow.reasons``). The models apply the rules (field types and model validators),
so a refusal is found by its type, never by its wording; the mapping applies the same rules to
each ERP column (``transform.values``), to name every defect of a record with its column.
``ctx`` may carry ``value`` (the value to show), ``detail`` and ``field`` (the model field a
rule across fields is about).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from typing import Any, Final, NoReturn

from pydantic_core import PydanticCustomError

from fincome_airflow import contract
from fincome_airflow.reasons import ReasonCode

#: Searched only in a text that is not printable: each control character is unprintable, and
#: ``str.isprintable`` answers most texts several times faster than the search.
_CONTROL_CHARS: Final = re.compile("[\x00-\x1f\x7f]")
_CENT: Final = Decimal(1).scaleb(-contract.AMOUNT_DECIMAL_PLACES)
_MAX_AMOUNT: Final = Decimal(10) ** (contract.AMOUNT_MAX_DIGITS - contract.AMOUNT_DECIMAL_PLACES)
_MIN_YEAR: Final = contract.MIN_YEAR
_MAX_YEAR: Final = contract.MAX_YEAR
_MAX_ID_LENGTH: Final = contract.MAX_ID_LENGTH
_MAX_TEXT_LENGTH: Final = contract.MAX_TEXT_LENGTH
_MILLI: Final = Decimal(1).scaleb(-contract.QUANTITY_DECIMAL_PLACES)
_MAX_QUANTITY: Final = Decimal(10) ** (
    contract.QUANTITY_MAX_DIGITS - contract.QUANTITY_DECIMAL_PLACES
)


def refuse(code: ReasonCode, message: str, **ctx: Any) -> NoReturn:
    """Raise the typed error of ``code`` (``message`` may use ``{name}`` of ``ctx``)."""
    raise PydanticCustomError(code, message, ctx or None)


@cache
def iso_currencies() -> frozenset[str]:
    """ISO 4217 codes (loaded on first use: pycountry's tables are not needed to parse a DAG)."""
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def iso_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes."""
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries)


# -- one value ---------------------------------------------------------------------------------


def identifier(value: str) -> str:
    if len(value) > _MAX_ID_LENGTH or (not value.isprintable() and _CONTROL_CHARS.search(value)):
        refuse(
            "invalid_identifier",
            f"must be at most {contract.MAX_ID_LENGTH} characters, without control characters",
        )
    return value


def text(value: str) -> str:
    if len(value) > _MAX_TEXT_LENGTH:
        refuse("text_too_long", f"must be at most {contract.MAX_TEXT_LENGTH} characters")
    if not value.isprintable() and _CONTROL_CHARS.search(value):
        refuse("invalid_text", "must not contain control characters")
    return value


def currency(value: str) -> str:
    if value not in iso_currencies():
        refuse("unknown_currency", "must be an upper-case ISO 4217 currency code")
    return value


def country(value: str) -> str:
    if value not in iso_countries():
        refuse("unknown_country", "must be an upper-case ISO 3166-1 alpha-2 country code")
    return value


def date_in_range(value: dt.date) -> dt.date:
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        refuse(
            "date_out_of_range",
            f"year must be between {contract.MIN_YEAR} and {contract.MAX_YEAR}",
            value=value.isoformat(),
        )
    return value


def amount(value: Decimal) -> Decimal:
    """Finite, below 10**12 and at most 2 decimals (the size first: quantizing 1E+30 raises)."""
    if not value.is_finite() or abs(value) >= _MAX_AMOUNT or value != value.quantize(_CENT):
        refuse("invalid_amount", "must have at most 12 digits before the point and 2 after it")
    return value


def non_negative(value: Decimal) -> Decimal:
    if value < 0:
        refuse("negative_amount", "must be zero or more")
    return value


def quantity(value: Decimal) -> Decimal:
    if (
        not value.is_finite()
        or value <= 0
        or value >= _MAX_QUANTITY
        or value != value.quantize(_MILLI)
    ):
        refuse("invalid_quantity", "must be more than zero, with at most 3 decimals")
    return value


# -- across the fields of one record (``field`` names the one at fault) ------------------------


def not_own_parent(record_id: str, parent_id: str | None) -> None:
    if parent_id is not None and parent_id == record_id:
        refuse(
            "own_parent",
            "root_parent_id must not be the customer itself",
            value=parent_id,
            field="root_parent_id",
        )


def _not_before(code: ReasonCode, later: dt.date, earlier: dt.date, field: str, what: str) -> None:
    if later < earlier:
        refuse(code, f"{field} must not be before {what}", value=later.isoformat(), field=field)


def end_not_before_start(start: dt.date, end: dt.date | None) -> None:
    if end is not None:
        _not_before("end_before_start", end, start, "end_date", "start_date")


def canceled_not_before_start(start: dt.date, canceled: dt.date | None) -> None:
    if canceled is not None:
        _not_before("canceled_before_start", canceled, start, "canceled_at", "start_date")


def due_not_before_issue(issued: dt.date, due: dt.date | None) -> None:
    if due is not None:
        _not_before("due_before_issue", due, issued, "due_date", "issue_date")


def canceled_has_date(status: str | None, canceled: dt.date | None) -> None:
    if status == "canceled" and canceled is None:
        refuse(
            "missing_termination_date",
            "canceled_at is required when status is canceled",
            field="canceled_at",
        )


def lines_add_up(total: Decimal, net_amount: Decimal) -> None:
    if total != net_amount:
        refuse(
            "lines_do_not_add_up",
            "lines add up to {detail}, not to the invoice net_amount {value}",
            value=str(net_amount),
            detail=str(total),
            field="net_amount",
        )


def period_in_order(start: dt.date, end: dt.date, field: str = "period_end") -> None:
    """``[start, end)``: the end after the start."""
    if not start < end:
        refuse(
            "period_end_before_start",
            "period_start must be before period_end",
            value=end.isoformat(),
            field=field,
        )


def period_complete(start: dt.date | None, end: dt.date | None) -> None:
    """A subscription line has both ends of its service period."""
    if start is None or end is None:
        refuse(
            "missing_period",
            "subscription lines need period_start and period_end",
            field="period_start" if start is None else "period_end",
        )


def line_id_unique(line_id: str, seen: set[str], field: str = "id") -> None:
    """``line_id`` is not among the ids of the invoice's lines before it (``seen``)."""
    if line_id in seen:
        refuse(
            "duplicate_line",
            "line ids must be unique within the invoice",
            value=line_id,
            field=field,
        )
