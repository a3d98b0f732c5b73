"""``/subscriptions``: upsert, read, delete and list subscriptions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from fincome_airflow import contract
from fincome_airflow.models import Subscription
from fincome_sandbox.dependencies import StoreDep
from fincome_sandbox.routers._records import (
    DELETE_RESPONSES,
    CursorQuery,
    LimitQuery,
    RecordId,
    list_page,
    list_responses,
    raise_if_errors,
    read,
    read_responses,
    reference_error,
    remove,
    upsert,
    upsert_responses,
)

RESOURCE = "subscriptions"
router = APIRouter(prefix=f"/{RESOURCE}", tags=[RESOURCE])


@router.post(
    "",
    status_code=contract.STATUS_CREATED,
    response_model=None,
    responses=upsert_responses(RESOURCE),
)
async def upsert_subscription(subscription: Subscription, store: StoreDep) -> Response:
    """Create or replace a subscription by id; its customer must exist."""
    if store.get("customers", subscription.customer_id) is None:
        raise_if_errors(
            [reference_error("customer_id", "customer not found", subscription.customer_id)]
        )
    return upsert(store, RESOURCE, subscription)


@router.get("", response_model=None, responses=list_responses(RESOURCE))
async def list_subscriptions(
    store: StoreDep,
    limit: LimitQuery = contract.LIST_MAX_LIMIT,
    starting_after: CursorQuery = None,
) -> Response:
    """List subscriptions ordered by id, ``limit`` at a time, after ``starting_after``."""
    return list_page(store, RESOURCE, limit, starting_after)


@router.get("/{record_id:path}", response_model=None, responses=read_responses(RESOURCE))
async def get_subscription(record_id: RecordId, store: StoreDep) -> Response:
    """Retrieve a subscription by id."""
    return read(store, RESOURCE, record_id)


@router.delete(
    "/{record_id:path}",
    status_code=contract.STATUS_DELETED,
    response_model=None,
    responses=DELETE_RESPONSES,
)
async def delete_subscription(record_id: RecordId, store: StoreDep) -> Response:
    """Delete a subscription by id (its invoices are kept)."""
    return remove(store, RESOURCE, record_id)
