"""The Fincome invoice and its lines (``POST /invoices``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from fincome_airflow.models import billing_rules, rules
from fincome_airflow.models.types import (
    Amount,
    Currency,
    CustomProperties,
    Date,
    FincomeModel,
    Identifier,
    NonNegativeAmount,
    Quantity,
    Text,
)

InvoiceStatus = Literal["open", "paid", "unpaid", "pending"]
LineType = Literal["subscription", "one_off"]


class InvoiceLine(FincomeModel):
    id: Identifier
    type: LineType
    description: Text | None = None
    quantity: Quantity = Decimal(1)
    net_amount: Amount
    period_start: Date | None = None
    period_end: Date | None = None
    custom_properties: CustomProperties = Field(default_factory=dict)

    @model_validator(mode="after")
    def _period_matches_type(self) -> InvoiceLine:
        start, end = self.period_start, self.period_end
        if self.type == "one_off" and (start is not None or end is not None):
            rules.refuse("invalid_value", "one_off lines carry no service period")
        if self.type == "subscription":
            rules.period_complete(start, end)
            rules.period_in_order(start, end)  # type: ignore[arg-type]  # complete: dates
        return self


class Invoice(FincomeModel):
    id: Identifier
    number: Identifier | None = None
    customer_id: Identifier
    subscription_id: Identifier
    issue_date: Date
    due_date: Date | None = None
    status: InvoiceStatus
    currency: Currency
    net_amount: NonNegativeAmount
    tax_amount: NonNegativeAmount | None = None
    lines: list[InvoiceLine] | None = None
    custom_properties: CustomProperties = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Invoice:
        rules.due_not_before_issue(self.issue_date, self.due_date)
        billing_rules.lines_consistent(self.lines, self.net_amount)
        return self
