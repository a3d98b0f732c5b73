"""The Fincome customer (``POST /customers``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from fincome_airflow.models import rules
from fincome_airflow.models.types import (
    Country,
    CustomProperties,
    FincomeModel,
    Identifier,
    Text,
)


class Customer(FincomeModel):
    id: Identifier
    name: Text = Field(min_length=1)
    email: Text | None = None
    country: Country | None = None
    zip_code: Text | None = None
    root_parent_id: Identifier | None = None
    custom_properties: CustomProperties = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_own_parent(self) -> Customer:
        rules.not_own_parent(self.id, self.root_parent_id)
        return self
