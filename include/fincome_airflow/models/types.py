"""Field types shared by the Fincome resource models (their rules are in ``models.rules``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from fincome_airflow import contract
from fincome_airflow.models import rules


def _decimal_to_str(value: Decimal) -> str:
    return format(value, "f")


def _schema(**keywords: int) -> Any:
    """The JSON schema's length keywords of a type whose rule checks the length itself."""
    return Field(json_schema_extra=keywords)


def _number_schema(**keywords: float) -> WithJsonSchema:
    """The JSON schema of a decimal (number or string) whose bound its rule checks itself."""
    return WithJsonSchema(
        {"anyOf": [{"type": "number", **keywords}, {"type": "string"}]}, mode="validation"
    )


Identifier = Annotated[
    str,
    Field(min_length=1),
    _schema(maxLength=contract.MAX_ID_LENGTH),
    AfterValidator(rules.identifier),
]
Text = Annotated[str, _schema(maxLength=contract.MAX_TEXT_LENGTH), AfterValidator(rules.text)]
Currency = Annotated[
    str, Field(min_length=1), _schema(minLength=3, maxLength=3), AfterValidator(rules.currency)
]
Country = Annotated[
    str, Field(min_length=1), _schema(minLength=2, maxLength=2), AfterValidator(rules.country)
]
Date = Annotated[dt.date, AfterValidator(rules.date_in_range)]
Amount = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    AfterValidator(rules.amount),
    PlainSerializer(_decimal_to_str, return_type=str, when_used="json"),
]
NonNegativeAmount = Annotated[
    Amount, _number_schema(minimum=0.0), AfterValidator(rules.non_negative)
]
Quantity = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    _number_schema(exclusiveMinimum=0.0),
    AfterValidator(rules.quantity),
    PlainSerializer(_decimal_to_str, return_type=str, when_used="json"),
]
CustomProperties = dict[str, Any]


class FincomeModel(BaseModel):
    """Base of every request body: unknown fields are refused, nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON body sent to Fincome (amounts as strings, dates ISO 8601)."""
        return self.model_dump(mode="json", exclude_none=True)
