"""The Fincome credit note and its lines (``POST /credit_notes``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from fincome_airflow.models import billing_rules
from fincome_airflow.models.types import (
    Amount,
    Currency,
    CustomProperties,
    Date,
    FincomeModel,
    Identifier,
    NonNegativeAmount,
    Text,
)

#: ``open``: issued, not yet refunded or applied.
CreditNoteStatus = Literal["open", "refunded"]
PositiveAmount = Annotated[
    Amount,
    WithJsonSchema(
        {"anyOf": [{"type": "number", "exclusiveMinimum": 0.0}, {"type": "string"}]},
        mode="validation",
    ),
    AfterValidator(billing_rules.positive),
]


class CreditNoteLine(FincomeModel):
    id: Identifier
    invoice_line_id: Identifier | None = None
    description: Text | None = None
    net_amount: PositiveAmount
    period_start: Date | None = None
    period_end: Date | None = None
    custom_properties: CustomProperties = Field(default_factory=dict)

    @model_validator(mode="after")
    def _period(self) -> CreditNoteLine:
        billing_rules.period_pair(self.period_start, self.period_end)
        return self


class CreditNote(FincomeModel):
    """Amounts are positive: Fincome counts ``net_amount`` against the invoice's revenue."""

    id: Identifier
    number: Identifier | None = None
    customer_id: Identifier
    invoice_id: Identifier
    issue_date: Date
    status: CreditNoteStatus
    currency: Currency
    net_amount: PositiveAmount
    tax_amount: NonNegativeAmount | None = None
    lines: list[CreditNoteLine] | None = None
    custom_properties: CustomProperties = Field(default_factory=dict)

    @model_validator(mode="after")
    def _lines_consistent(self) -> CreditNote:
        billing_rules.lines_consistent(self.lines, self.net_amount)
        return self
