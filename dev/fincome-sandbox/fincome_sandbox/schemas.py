"""Response and patch schemas of the sandbox, derived from the shared contract models.

The request bodies are the models of :mod:`fincome_airflow.models` themselves; these schemas
only document the answers in the OpenAPI document (handlers send pre-built JSON).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, create_model

from fincome_airflow.models import (
    MODEL_BY_BILLING_RESOURCE,
    MODEL_BY_RESOURCE,
    Customer,
    FincomeModel,
)
from fincome_airflow.models.types import Country, CustomProperties, Identifier, Text


def _record_model(model: type[FincomeModel]) -> type[BaseModel]:
    """Return ``<Model>Record``: the model plus the timestamps every answer carries."""
    return create_model(
        f"{model.__name__}Record",
        __base__=model,
        created_at=(dt.datetime, ...),
        updated_at=(dt.datetime, ...),
    )


def _page_model(record: type[BaseModel]) -> type[BaseModel]:
    """Return ``<Model>Page``: one page of a list endpoint."""
    return create_model(
        record.__name__.removesuffix("Record") + "Page",
        data=(list[record], ...),
        has_more=(bool, ...),
    )


RECORD_MODELS = {
    name: _record_model(model)
    for name, model in {**MODEL_BY_RESOURCE, **MODEL_BY_BILLING_RESOURCE}.items()
}
PAGE_MODELS = {name: _page_model(model) for name, model in RECORD_MODELS.items()}


class CustomerPatch(BaseModel):
    """Body of ``PATCH /customers/{id}``: only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    id: Identifier | None = None
    name: Text | None = Field(default=None, min_length=1)
    email: Text | None = None
    country: Country | None = None
    zip_code: Text | None = None
    root_parent_id: Identifier | None = None
    custom_properties: CustomProperties | None = None


class Message(BaseModel):
    """An error answer other than 422: ``{"detail": "..."}``."""

    detail: str


__all__ = ["PAGE_MODELS", "RECORD_MODELS", "Customer", "CustomerPatch", "Message"]
