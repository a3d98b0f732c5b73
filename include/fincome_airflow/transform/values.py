"""Strict converters of ERP column values, recording a :class:`Problem` instead of raising.

ERP drivers differ: PostgreSQL returns ``date`` and ``Decimal``; SQLite returns text, ``int``
or ``float``. Each converter accepts all of these and refuses anything it would have to guess.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from fincome_airflow import contract
from fincome_airflow.models.types import iso_countries, iso_currencies
from fincome_airflow.validation.reasons import Problem, problem

CENT: Final = Decimal("0.01")
MILLI: Final = Decimal("0.001")
_MAX_AMOUNT: Final = Decimal(10) ** (contract.AMOUNT_MAX_DIGITS - contract.AMOUNT_DECIMAL_PLACES)
_CONTROL: Final = re.compile("[\x00-\x1f\x7f]")
_MAX_QTY: Final = Decimal(10) ** (contract.QUANTITY_MAX_DIGITS - contract.QUANTITY_DECIMAL_PLACES)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def identifier(value: Any, field: str, issues: list[Problem], *, required: bool = True) -> Any:
    """A record id or reference: non-empty text, at most 255 characters, no control chars."""
    if blank(value):
        if required:
            issues.append(problem("missing_value", field))
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > contract.MAX_ID_LENGTH or _CONTROL.search(value):
        issues.append(problem("invalid_identifier", field, value))
        return None
    return value


def text(value: Any, field: str, issues: list[Problem], *, required: bool = False) -> Any:
    """Free text; blank becomes null (or ``missing_value`` when required)."""
    if blank(value):
        if required:
            issues.append(problem("missing_value", field))
        return None
    value = str(value)
    if len(value) > contract.MAX_TEXT_LENGTH:
        issues.append(problem("text_too_long", field, value))
        return None
    if _CONTROL.search(value):
        issues.append(problem("invalid_text", field, value))
        return None
    return value


def date(value: Any, field: str, issues: list[Problem], *, required: bool = False) -> Any:
    """A calendar date between the contract's years, or None (with a problem if required)."""
    if blank(value):
        if required:
            issues.append(problem("missing_value", field))
        return None
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            issues.append(problem("invalid_date", field, value))
            return None
        value = value.date()
    elif isinstance(value, str):
        parsed = _parse_date(value.strip())
        if parsed is None:
            issues.append(problem("invalid_date", field, value))
            return None
        value = parsed
    elif not isinstance(value, dt.date):
        issues.append(problem("invalid_date", field, value))
        return None
    if not contract.MIN_YEAR <= value.year <= contract.MAX_YEAR:
        issues.append(problem("date_out_of_range", field, value.isoformat()))
        return None
    return value


def _parse_date(value: str) -> dt.date | None:
    """``YYYY-MM-DD``, or a timestamp at midnight (SQLite may store dates either way)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp.date() if stamp.time() == dt.time() else None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def amount(
    value: Any, field: str, issues: list[Problem], *, required: bool = True
) -> Decimal | None:
    """A non-negative amount with at most 2 decimals, quantized to cents (``10.5`` -> 10.50)."""
    if blank(value):
        if required:
            issues.append(problem("missing_value", field))
        return None
    number = _decimal(value)
    if number is None or number != number.quantize(CENT) or abs(number) >= _MAX_AMOUNT:
        issues.append(problem("invalid_amount", field, value))
        return None
    if number < 0:
        issues.append(problem("negative_amount", field, value))
        return None
    return number.quantize(CENT)


def quantity(value: Any, field: str, issues: list[Problem]) -> Decimal | None:
    """A quantity above zero with at most 3 decimals (blank means 1)."""
    if blank(value):
        return Decimal(1)
    number = _decimal(value)
    if number is None or number <= 0 or number != number.quantize(MILLI) or number >= _MAX_QTY:
        issues.append(problem("invalid_quantity", field, value))
        return None
    return number.normalize() if number == number.to_integral_value() else number


def currency(value: Any, field: str, issues: list[Problem]) -> str | None:
    """An upper-case ISO 4217 code (never guessed from lower case)."""
    if blank(value):
        issues.append(problem("missing_value", field))
        return None
    if value not in iso_currencies():
        issues.append(problem("unknown_currency", field, value))
        return None
    return value


def country(value: Any, field: str, issues: list[Problem]) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased; blank becomes null."""
    if blank(value):
        return None
    code = str(value).strip().upper()
    if code not in iso_countries():
        issues.append(problem("unknown_country", field, value))
        return None
    return code


def money(number: Decimal) -> str:
    """The JSON form of an amount (``"1250.00"``)."""
    return format(number, "f")
