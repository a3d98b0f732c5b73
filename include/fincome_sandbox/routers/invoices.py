"""``/invoices``: upsert, read, delete and list invoices (with the issue-date filter)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from fincome_airflow import contract
from fincome_airflow.models import Invoice
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
from fincome_sandbox.store import Record, RecordStore

RESOURCE = "invoices"
router = APIRouter(prefix=f"/{RESOURCE}", tags=[RESOURCE])

DateFromQuery = Annotated[
    dt.date | None,
    Query(alias=contract.INVOICE_DATE_FROM_PARAM, description="issue_date on or after"),
]
DateToQuery = Annotated[
    dt.date | None,
    Query(alias=contract.INVOICE_DATE_TO_PARAM, description="issue_date strictly before"),
]


def _check_references(store: RecordStore, invoice: Invoice) -> None:
    errors: list[dict[str, Any]] = []
    if store.get("customers", invoice.customer_id) is None:
        errors.append(reference_error("customer_id", "customer not found", invoice.customer_id))
    subscription = store.get("subscriptions", invoice.subscription_id)
    if subscription is None:
        errors.append(
            reference_error("subscription_id", "subscription not found", invoice.subscription_id)
        )
    elif subscription["customer_id"] != invoice.customer_id:
        errors.append(
            reference_error(
                "subscription_id",
                f"subscription belongs to another customer ({subscription['customer_id']})",
                invoice.subscription_id,
                kind="reference_mismatch",
            )
        )
    raise_if_errors(errors)


@router.post(
    "",
    status_code=contract.STATUS_CREATED,
    response_model=None,
    responses=upsert_responses(RESOURCE),
)
async def upsert_invoice(invoice: Invoice, store: StoreDep) -> Response:
    """Create or replace an invoice by id; its customer and subscription must exist and match."""
    _check_references(store, invoice)
    return upsert(store, RESOURCE, invoice)


@router.get("", response_model=None, responses=list_responses(RESOURCE))
async def list_invoices(
    store: StoreDep,
    limit: LimitQuery = contract.LIST_MAX_LIMIT,
    starting_after: CursorQuery = None,
    issue_date_gte: DateFromQuery = None,
    issue_date_lt: DateToQuery = None,
) -> Response:
    """List invoices ordered by id, optionally issued in ``[issue_date_gte, issue_date_lt)``."""
    keep = None
    if issue_date_gte is not None or issue_date_lt is not None:
        low = issue_date_gte.isoformat() if issue_date_gte else None
        high = issue_date_lt.isoformat() if issue_date_lt else None

        def keep(record: Record) -> bool:
            issued = record["issue_date"]
            return (low is None or issued >= low) and (high is None or issued < high)

    return list_page(store, RESOURCE, limit, starting_after, keep)


@router.get("/{record_id:path}", response_model=None, responses=read_responses(RESOURCE))
async def get_invoice(record_id: RecordId, store: StoreDep) -> Response:
    """Retrieve an invoice by id."""
    return read(store, RESOURCE, record_id)


@router.delete(
    "/{record_id:path}",
    status_code=contract.STATUS_DELETED,
    response_model=None,
    responses=DELETE_RESPONSES,
)
async def delete_invoice(record_id: RecordId, store: StoreDep) -> Response:
    """Delete an invoice by id."""
    return remove(store, RESOURCE, record_id)
