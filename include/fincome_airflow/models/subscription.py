"""The Fincome subscription (``POST /subscriptions``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fincome_airflow.models.types import (
    Currency,
    CustomProperties,
    Date,
    FincomeModel,
    Identifier,
    NonNegativeAmount,
)

SubscriptionStatus = Literal["active", "trialing", "paused", "canceled"]


class Subscription(FincomeModel):
    id: Identifier
    customer_id: Identifier
    plan_id: Identifier | None = None
    status: SubscriptionStatus
    start_date: Date
    end_date: Date | None = None
    canceled_at: Date | None = None
    currency: Currency
    monthly_value: NonNegativeAmount | None = None
    custom_properties: CustomProperties = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates_consistent(self) -> Subscription:
        if self.status == "canceled" and self.canceled_at is None:
            raise ValueError("canceled_at is required when status is canceled")
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if self.canceled_at is not None and self.canceled_at < self.start_date:
            raise ValueError("canceled_at must not be before start_date")
        return self
