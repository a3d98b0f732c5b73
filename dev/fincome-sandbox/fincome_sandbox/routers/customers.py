"""``/customers``: upsert, read, partial update, delete and list customers."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import ValidationError

from fincome_airflow.models import Customer
from fincome_sandbox.config import FaultOptions
from fincome_sandbox.dependencies import StoreDep
from fincome_sandbox.routers._records import (
    RecordId,
    find,
    json_response,
    raise_if_errors,
    raise_validation_error,
    record_router,
    reference_error,
)
from fincome_sandbox.schemas import RECORD_MODELS, CustomerPatch, Message
from fincome_sandbox.store import TIMESTAMP_FIELDS, RecordStore

RESOURCE = "customers"


def _check_references(
    store: RecordStore, customer: Customer, _options: FaultOptions | None = None
) -> None:
    errors: list[dict[str, Any]] = []
    parent = customer.root_parent_id
    if parent is not None and store.get(RESOURCE, parent) is None:
        errors.append(reference_error("root_parent_id", "parent customer not found", parent))
    raise_if_errors(errors)


router = record_router(
    RESOURCE,
    Customer,
    item="customer",
    check_references=_check_references,
    upsert_doc="Create or replace a customer by id (201 created, 200 updated).",
    read_doc="Retrieve a customer by id.",
    delete_doc="Delete a customer by id (its subscriptions and invoices are kept).",
    list_doc="List customers ordered by id, ``limit`` at a time, after ``starting_after``.",
)


@router.patch(
    "/{record_id:path}",
    status_code=202,
    response_model=None,
    responses={202: {"model": RECORD_MODELS[RESOURCE]}, 404: {"model": Message}},
)
async def update_customer(record_id: RecordId, patch: CustomerPatch, store: StoreDep) -> Response:
    """Update a customer by id: only the fields sent change (202)."""
    current = find(store, RESOURCE, record_id)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("id", record_id) != record_id:
        raise_if_errors(
            [reference_error("id", "id must match the path", changes["id"], "value_error")]
        )
    merged = {k: v for k, v in current.items() if k not in TIMESTAMP_FIELDS} | changes
    merged["id"] = record_id
    try:
        customer = Customer.model_validate(merged)
    except ValidationError as exc:
        raise_validation_error(exc)
    _check_references(store, customer)
    record, _ = store.upsert(RESOURCE, customer.model_dump(mode="json"))
    return json_response(record, 202)
