"""The Fincome invoice and its lines (``POST /invoices``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

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
        has_period = self.period_start is not None or self.period_end is not None
        if self.type == "one_off" and has_period:
            raise ValueError("one_off lines carry no service period")
        if self.type == "subscription":
            if self.period_start is None or self.period_end is None:
                raise ValueError("subscription lines need period_start and period_end")
            if not self.period_start < self.period_end:
                raise ValueError("period_start must be before period_end")
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
        if self.due_date is not None and self.due_date < self.issue_date:
            raise ValueError("due_date must not be before issue_date")
        if self.lines:
            ids = [line.id for line in self.lines]
            if len(ids) != len(set(ids)):
                raise ValueError("line ids must be unique within the invoice")
            total = sum((line.net_amount for line in self.lines), start=0)
            if total != self.net_amount:
                raise ValueError(
                    f"lines add up to {total}, not to the invoice net_amount {self.net_amount}"
                )
        return self
