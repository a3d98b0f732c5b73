"""``/invoices``: upsert, read, delete and list invoices (with the issue-date filter)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from fincome_airflow import contract
from fincome_airflow.models import Invoice
from fincome_sandbox.config import FaultOptions
from fincome_sandbox.routers._records import (
    add_dated_list,
    raise_if_errors,
    record_router,
    reference_error,
)
from fincome_sandbox.store import RecordStore

RESOURCE = "invoices"


def _check_references(store: RecordStore, invoice: Invoice, _options: FaultOptions) -> None:
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


def _check_not_credited(store: RecordStore, invoice_id: str) -> None:
    """Answer 409 while credit notes reference the invoice."""
    credit_notes = store.referencing("credit_notes", "invoice_id", invoice_id)
    if credit_notes:
        raise HTTPException(
            status_code=contract.STATUS_CONFLICT,
            detail=f"invoice is credited by {len(credit_notes)} credit note(s); delete them first",
        )


router = record_router(
    RESOURCE,
    Invoice,
    item="invoice",
    check_references=_check_references,
    upsert_doc=(
        "Create or replace an invoice by id; its customer and subscription must exist and match."
    ),
    read_doc="Retrieve an invoice by id.",
    delete_doc="Delete an invoice by id (409 while credit notes reference it).",
    list_doc=None,  # below: the list takes the issue-date filter too
    check_delete=_check_not_credited,
)
add_dated_list(
    router,
    RESOURCE,
    "List invoices ordered by id, optionally issued in ``[issue_date_gte, issue_date_lt)``.",
)
