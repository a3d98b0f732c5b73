"""``/invoices``: upsert, read, delete and list invoices (with the issue-date filter)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query, Response

from fincome_airflow import contract
from fincome_airflow.models import Invoice
from fincome_sandbox.dependencies import StoreDep
from fincome_sandbox.routers._records import (
    CursorQuery,
    LimitQuery,
    list_page,
    list_responses,
    raise_if_errors,
    record_router,
    reference_error,
)
from fincome_sandbox.store import Record, RecordStore

RESOURCE = "invoices"

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


router = record_router(
    RESOURCE,
    Invoice,
    item="invoice",
    check_references=_check_references,
    upsert_doc=(
        "Create or replace an invoice by id; its customer and subscription must exist and match."
    ),
    read_doc="Retrieve an invoice by id.",
    delete_doc="Delete an invoice by id.",
    list_doc=None,  # below: the list takes the issue-date filter too
)


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
