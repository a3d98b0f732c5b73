"""The Fincome subscription (``POST /subscriptions``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fincome_airflow.models import rules
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
        rules.canceled_has_date(self.status, self.canceled_at)
        rules.end_not_before_start(self.start_date, self.end_date)
        rules.canceled_not_before_start(self.start_date, self.canceled_at)
        return self
