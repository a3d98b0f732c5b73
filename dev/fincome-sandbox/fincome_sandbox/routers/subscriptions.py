"""``/subscriptions``: upsert, read, delete and list subscriptions."""

from __future__ import annotations

from typing import Any

from fincome_airflow.models import Subscription
from fincome_sandbox.config import FaultOptions
from fincome_sandbox.routers._records import raise_if_errors, record_router, reference_error
from fincome_sandbox.store import RecordStore

RESOURCE = "subscriptions"


def _check_references(
    store: RecordStore, subscription: Subscription, options: FaultOptions
) -> None:
    errors: list[dict[str, Any]] = []
    if store.get("customers", subscription.customer_id) is None:
        errors.append(
            reference_error("customer_id", "customer not found", subscription.customer_id)
        )
    plan = subscription.plan_id
    if options.require_plans and plan is not None and store.get("plans", plan) is None:
        errors.append(reference_error("plan_id", "plan not found", plan))
    raise_if_errors(errors)


router = record_router(
    RESOURCE,
    Subscription,
    item="subscription",
    check_references=_check_references,
    upsert_doc=(
        "Create or replace a subscription by id; its customer must exist, and its plan too "
        "(when the sandbox requires plans)."
    ),
    read_doc="Retrieve a subscription by id.",
    delete_doc="Delete a subscription by id (its invoices are kept).",
    list_doc="List subscriptions ordered by id, ``limit`` at a time, after ``starting_after``.",
)
