"""``/subscriptions``: upsert, read, delete and list subscriptions."""

from __future__ import annotations

from fincome_airflow.models import Subscription
from fincome_sandbox.routers._records import raise_if_errors, record_router, reference_error
from fincome_sandbox.store import RecordStore

RESOURCE = "subscriptions"


def _check_references(store: RecordStore, subscription: Subscription) -> None:
    if store.get("customers", subscription.customer_id) is None:
        raise_if_errors(
            [reference_error("customer_id", "customer not found", subscription.customer_id)]
        )


router = record_router(
    RESOURCE,
    Subscription,
    item="subscription",
    check_references=_check_references,
    upsert_doc="Create or replace a subscription by id; its customer must exist.",
    read_doc="Retrieve a subscription by id.",
    delete_doc="Delete a subscription by id (its invoices are kept).",
    list_doc="List subscriptions ordered by id, ``limit`` at a time, after ``starting_after``.",
)
