"""Field types shared by the Fincome resource models (built from the choices in ``contract``)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from fincome_airflow import contract


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


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _no_control_chars(value: str) -> str:
    if _CONTROL_CHARS.search(value):
        raise ValueError("must not contain control characters")
    return value


def _iso_currency(value: str) -> str:
    if value not in iso_currencies():
        raise ValueError("must be an upper-case ISO 4217 currency code")
    return value


def _iso_country(value: str) -> str:
    if value not in iso_countries():
        raise ValueError("must be an upper-case ISO 3166-1 alpha-2 country code")
    return value


def _date_in_range(value: dt.date) -> dt.date:
    if not contract.MIN_YEAR <= value.year <= contract.MAX_YEAR:
        raise ValueError(f"year must be between {contract.MIN_YEAR} and {contract.MAX_YEAR}")
    return value


def _decimal_to_str(value: Decimal) -> str:
    return format(value, "f")


Identifier = Annotated[
    str,
    Field(min_length=1, max_length=contract.MAX_ID_LENGTH),
    AfterValidator(_no_control_chars),
]
Text = Annotated[str, Field(max_length=contract.MAX_TEXT_LENGTH), AfterValidator(_no_control_chars)]
Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_iso_currency)]
Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_iso_country)]
Date = Annotated[dt.date, AfterValidator(_date_in_range)]
Amount = Annotated[
    Decimal,
    Field(
        max_digits=contract.AMOUNT_MAX_DIGITS,
        decimal_places=contract.AMOUNT_DECIMAL_PLACES,
        allow_inf_nan=False,
    ),
    PlainSerializer(_decimal_to_str, return_type=str, when_used="json"),
]
NonNegativeAmount = Annotated[Amount, Field(ge=0)]
Quantity = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=contract.QUANTITY_MAX_DIGITS,
        decimal_places=contract.QUANTITY_DECIMAL_PLACES,
        allow_inf_nan=False,
    ),
    PlainSerializer(_decimal_to_str, return_type=str, when_used="json"),
]
CustomProperties = dict[str, Any]


class FincomeModel(BaseModel):
    """Base of every request body: unknown fields are refused, nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON body sent to Fincome (amounts as strings, dates ISO 8601)."""
        return self.model_dump(mode="json", exclude_none=True)
