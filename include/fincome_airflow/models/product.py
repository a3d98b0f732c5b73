"""The Fincome product (``POST /products``) and pricing plan (``POST /plans``)."""

from __future__ import annotations

from pydantic import Field

from fincome_airflow.contract import PlanInterval
from fincome_airflow.models.types import (
    Currency,
    CustomProperties,
    FincomeModel,
    Identifier,
    NonNegativeAmount,
    Text,
)


class Product(FincomeModel):
    id: Identifier
    name: Text = Field(min_length=1)
    custom_properties: CustomProperties = Field(default_factory=dict)


class Plan(FincomeModel):
    """A product with a billing interval and a price per interval."""

    id: Identifier
    name: Text = Field(min_length=1)
    product_id: Identifier
    interval: PlanInterval
    amount: NonNegativeAmount | None = None
    currency: Currency
    custom_properties: CustomProperties = Field(default_factory=dict)
