"""Strict converters of ERP column values, recording a :class:`Problem` instead of raising.

ERP drivers differ: PostgreSQL returns ``date`` and ``Decimal``; SQLite returns text, ``int``
or ``float``. Each converter accepts all of these and refuses anything it would have to guess,
then applies the contract's rule (``models.rules``, written there once) to the Python value, so
that every defect of a record is named with its ERP column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final, cast

from pydantic_core import PydanticCustomError

from fincome_airflow.models import rules
from fincome_airflow.reasons import Problem, ReasonCode, problem

CENT: Final = Decimal("0.01")


def refused(
    issues: list[Problem],
    field: str,
    shown: object,
    refusal: PydanticCustomError,
    resource: str | None = None,
) -> None:
    """Record a contract rule's refusal as a problem of ``field`` showing ``shown`` (worded
    for ``resource`` where its message differs, see ``reasons.RESOURCE_MESSAGES``)."""
    detail = (refusal.context or {}).get("detail", "")
    issues.append(problem(cast(ReasonCode, refusal.type), field, shown, detail, resource=resource))


def passes(
    issues: list[Problem],
    field: str,
    shown: object,
    rule: Callable[..., object],
    *args: Any,
    resource: str | None = None,
) -> bool:
    """Apply ``rule(*args)``; a refusal is recorded (:func:`refused`) and gives False."""
    try:
        rule(*args)
    except PydanticCustomError as refusal:
        refused(issues, field, shown, refusal, resource)
        return False
    return True


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _ruled(
    rule: Callable[[Any], Any], value: Any, field: str, shown: object, issues: list[Problem]
) -> Any:
    """``rule(value)``, or None with the refusal recorded (:func:`refused`)."""
    try:
        return rule(value)
    except PydanticCustomError as refusal:
        return refused(issues, field, shown, refusal)


def identifier(value: Any, field: str, issues: list[Problem], *, required: bool = True) -> Any:
    """A record id or reference: non-empty text, at most 255 characters, no control chars."""
    if type(value) is str and value.strip():  # the common case, without the checks below
        return _ruled(rules.identifier, value, field, value, issues)
    if blank(value):
        if required:
            issues.append(problem("missing_value", field))
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        issues.append(problem("invalid_identifier", field, value))
        return None
    try:
        return rules.identifier(value)
    except PydanticCustomError as refusal:
        return refused(issues, field, value, refusal)


def text(value: Any, field: str, issues: list[Problem], *, required: bool = False) -> Any:
    """Free text; blank becomes null (or ``missing_value`` when required)."""
    if type(value) is str and value.strip():  # the common case, without the checks below
        return _ruled(rules.text, value, field, value, issues)
    if blank(value):
        if required:
            issues.append(problem("missing_value", field))
        return None
    value = str(value)
    try:
        return rules.text(value)
    except PydanticCustomError as refusal:
        return refused(issues, field, value, refusal)


def date(value: Any, field: str, issues: list[Problem], *, required: bool = False) -> Any:
    """A calendar date between the contract's years, or None (with a problem if required)."""
    if type(value) is dt.date:  # the common case (PostgreSQL, MySQL), without the checks below
        try:
            return rules.date_in_range(value)
        except PydanticCustomError as refusal:
            return refused(issues, field, value.isoformat(), refusal)
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
    try:
        return rules.date_in_range(value)
    except PydanticCustomError as refusal:
        return refused(issues, field, value.isoformat(), refusal)


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
    if number is None:
        issues.append(problem("invalid_amount", field, value))
        return None
    try:
        return rules.non_negative(rules.amount(number)).quantize(CENT)
    except PydanticCustomError as refusal:
        return refused(issues, field, value, refusal)


def quantity(value: Any, field: str, issues: list[Problem]) -> Decimal | None:
    """A quantity above zero with at most 3 decimals (blank means 1)."""
    if blank(value):
        return Decimal(1)
    number = _decimal(value)
    if number is None:
        issues.append(problem("invalid_quantity", field, value))
        return None
    try:
        rules.quantity(number)
    except PydanticCustomError as refusal:
        return refused(issues, field, value, refusal)
    return number.normalize() if number == number.to_integral_value() else number


def currency(value: Any, field: str, issues: list[Problem]) -> str | None:
    """An upper-case ISO 4217 code (never guessed from lower case)."""
    if blank(value):
        issues.append(problem("missing_value", field))
        return None
    try:
        return rules.currency(value)
    except PydanticCustomError as refusal:
        return refused(issues, field, value, refusal)


def country(value: Any, field: str, issues: list[Problem]) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased; blank becomes null."""
    if blank(value):
        return None
    try:
        return rules.country(str(value).strip().upper())
    except PydanticCustomError as refusal:
        return refused(issues, field, value, refusal)


def money(number: Decimal) -> str:
    """The JSON form of an amount (``"1250.00"``)."""
    return format(number, "f")
