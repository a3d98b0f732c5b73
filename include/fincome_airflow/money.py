"""Amounts for humans: ``CHF 6,707.00``, one currency after another, never a Python repr."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

#: What an empty set of amounts reads as.
NOTHING = "none"


def format_amount(currency: str, amount: str | Decimal | float | int | None) -> str:
    """``format_amount("CHF", "6707")`` -> ``"CHF 6,707.00"`` (two decimals, grouped)."""
    try:
        value = Decimal(str(amount if amount is not None else 0))
    except InvalidOperation:
        return f"{currency} {amount}"
    return f"{currency} {value.quantize(Decimal('0.01')):,.2f}"


def format_amounts(amounts: Mapping[str, str | Decimal | float | int] | None) -> str:
    """Every currency of ``amounts``, sorted, joined by `` · ``; ``none`` when empty."""
    if not amounts:
        return NOTHING
    return " · ".join(format_amount(cur, amounts[cur]) for cur in sorted(amounts))


def add_amounts(*parts: Mapping[str, str | Decimal] | None) -> dict[str, str]:
    """Sum amounts per currency (decimal strings in, decimal strings out)."""
    total: dict[str, Decimal] = {}
    for part in parts:
        for currency, amount in (part or {}).items():
            total[currency] = total.get(currency, Decimal(0)) + Decimal(str(amount))
    return {cur: format(total[cur].quantize(Decimal("0.01")), "f") for cur in sorted(total)}


def subtract_amounts(
    minuend: Mapping[str, str | Decimal] | None, subtrahend: Mapping[str, str | Decimal] | None
) -> dict[str, str]:
    """``minuend - subtrahend`` per currency (a currency of either side appears)."""
    negated = {cur: -Decimal(str(amount)) for cur, amount in (subtrahend or {}).items()}
    return add_amounts(minuend, negated)
