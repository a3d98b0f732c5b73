"""``/customers``: upsert, read, partial update, delete and list customers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from fincome_airflow import contract
from fincome_airflow.models import Customer
from fincome_sandbox.dependencies import StoreDep
from fincome_sandbox.routers._records import (
    DELETE_RESPONSES,
    CursorQuery,
    LimitQuery,
    RecordId,
    find,
    json_response,
    list_page,
    list_responses,
    raise_if_errors,
    raise_validation_error,
    read,
    read_responses,
    reference_error,
    remove,
    upsert,
    upsert_responses,
)
from fincome_sandbox.schemas import RECORD_MODELS, CustomerPatch, Message
from fincome_sandbox.store import TIMESTAMP_FIELDS, RecordStore

RESOURCE = "customers"
router = APIRouter(prefix=f"/{RESOURCE}", tags=[RESOURCE])


def _check_references(store: RecordStore, customer: Customer) -> None:
    errors: list[dict[str, Any]] = []
    parent = customer.root_parent_id
    if parent is not None and store.get(RESOURCE, parent) is None:
        errors.append(reference_error("root_parent_id", "parent customer not found", parent))
    raise_if_errors(errors)


@router.post(
    "",
    status_code=contract.STATUS_CREATED,
    response_model=None,
    responses=upsert_responses(RESOURCE),
)
async def upsert_customer(customer: Customer, store: StoreDep) -> Response:
    """Create or replace a customer by id (201 created, 200 updated)."""
    _check_references(store, customer)
    return upsert(store, RESOURCE, customer)


@router.get("", response_model=None, responses=list_responses(RESOURCE))
async def list_customers(
    store: StoreDep,
    limit: LimitQuery = contract.LIST_MAX_LIMIT,
    starting_after: CursorQuery = None,
) -> Response:
    """List customers ordered by id, ``limit`` at a time, after ``starting_after``."""
    return list_page(store, RESOURCE, limit, starting_after)


@router.get("/{record_id:path}", response_model=None, responses=read_responses(RESOURCE))
async def get_customer(record_id: RecordId, store: StoreDep) -> Response:
    """Retrieve a customer by id."""
    return read(store, RESOURCE, record_id)


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


@router.delete(
    "/{record_id:path}",
    status_code=contract.STATUS_DELETED,
    response_model=None,
    responses=DELETE_RESPONSES,
)
async def delete_customer(record_id: RecordId, store: StoreDep) -> Response:
    """Delete a customer by id (its subscriptions and invoices are kept)."""
    return remove(store, RESOURCE, record_id)
