"""``/credit_notes``: upsert, read, delete and list credit notes (with the issue-date filter).

A credit note credits a stored invoice of its customer, in the invoice's currency, not before
the invoice's issue date, and names only that invoice's lines; the credit notes of one invoice
never add up to more than its ``net_amount`` (``over_credit``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic_core import PydanticCustomError

from fincome_airflow.models import CreditNote, billing_rules
from fincome_sandbox.config import FaultOptions
from fincome_sandbox.routers._records import (
    add_dated_list,
    raise_if_errors,
    record_router,
    reference_error,
)
from fincome_sandbox.store import Record, RecordStore

RESOURCE = "credit_notes"


def _rule_error(exc: PydanticCustomError, field: str, value: Any) -> dict[str, Any]:
    """A rule's refusal as a 422 item on ``field`` (its type is the rule's reason code)."""
    return reference_error(field, exc.message(), value, kind=exc.type)


def _credited_elsewhere(store: RecordStore, credit_note: CreditNote) -> Decimal:
    """What the invoice's other credit notes credit (this one's earlier version aside)."""
    others = store.referencing(RESOURCE, "invoice_id", credit_note.invoice_id)
    return sum(
        (Decimal(other["net_amount"]) for other in others if other["id"] != credit_note.id),
        start=Decimal(0),
    )


def _check_against_invoice(
    store: RecordStore, credit_note: CreditNote, invoice: Record
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if invoice["customer_id"] != credit_note.customer_id:
        errors.append(
            reference_error(
                "invoice_id",
                f"invoice belongs to another customer ({invoice['customer_id']})",
                credit_note.invoice_id,
                kind="reference_mismatch",
            )
        )
    if invoice["currency"] != credit_note.currency:
        errors.append(
            reference_error(
                "currency",
                f"currency must be the invoice's ({invoice['currency']})",
                credit_note.currency,
                kind="currency_mismatch",
            )
        )
    issued = credit_note.issue_date
    try:
        billing_rules.not_before_invoice(issued, dt.date.fromisoformat(invoice["issue_date"]))
    except PydanticCustomError as exc:
        errors.append(_rule_error(exc, "issue_date", issued.isoformat()))
    line_ids = {line["id"] for line in invoice.get("lines") or ()}
    for index, line in enumerate(credit_note.lines or ()):
        if line.invoice_line_id is not None and line.invoice_line_id not in line_ids:
            errors.append(
                reference_error(
                    ("lines", index, "invoice_line_id"),
                    "line not found on the credited invoice",
                    line.invoice_line_id,
                )
            )
    credited = _credited_elsewhere(store, credit_note) + credit_note.net_amount
    try:
        billing_rules.within_invoice(credited, Decimal(invoice["net_amount"]))
    except PydanticCustomError as exc:
        errors.append(_rule_error(exc, "net_amount", str(credit_note.net_amount)))
    return errors


def _check_references(store: RecordStore, credit_note: CreditNote, _options: FaultOptions) -> None:
    errors: list[dict[str, Any]] = []
    if store.get("customers", credit_note.customer_id) is None:
        errors.append(reference_error("customer_id", "customer not found", credit_note.customer_id))
    invoice = store.get("invoices", credit_note.invoice_id)
    if invoice is None:
        errors.append(reference_error("invoice_id", "invoice not found", credit_note.invoice_id))
    else:
        errors += _check_against_invoice(store, credit_note, invoice)
    raise_if_errors(errors)


router = record_router(
    RESOURCE,
    CreditNote,
    item="credit_note",
    check_references=_check_references,
    upsert_doc=(
        "Create or replace a credit note by id: it credits a stored invoice of its customer, in "
        "that invoice's currency, not before its issue date; the credit notes of one invoice "
        "never exceed its net_amount (422 `over_credit`)."
    ),
    read_doc="Retrieve a credit note by id.",
    delete_doc="Delete a credit note by id.",
    list_doc=None,  # below: the list takes the issue-date filter too
)
add_dated_list(
    router,
    RESOURCE,
    "List credit notes ordered by id, optionally issued in ``[issue_date_gte, issue_date_lt)``.",
)
