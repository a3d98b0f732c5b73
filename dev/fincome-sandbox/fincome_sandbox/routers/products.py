"""``/products`` and ``/plans``: upsert, read, delete and list products and pricing plans."""

from __future__ import annotations

from fincome_airflow.models import Plan, Product
from fincome_sandbox.config import FaultOptions
from fincome_sandbox.routers._records import raise_if_errors, record_router, reference_error
from fincome_sandbox.store import RecordStore


def _nothing_to_check(_store: RecordStore, _product: Product, _options: FaultOptions) -> None:
    """A product references nothing."""


def _check_product(store: RecordStore, plan: Plan, _options: FaultOptions) -> None:
    if store.get("products", plan.product_id) is None:
        raise_if_errors([reference_error("product_id", "product not found", plan.product_id)])


products = record_router(
    "products",
    Product,
    item="product",
    check_references=_nothing_to_check,
    upsert_doc="Create or replace a product by id (201 created, 200 updated).",
    read_doc="Retrieve a product by id.",
    delete_doc="Delete a product by id (its plans are kept).",
    list_doc="List products ordered by id, ``limit`` at a time, after ``starting_after``.",
)
plans = record_router(
    "plans",
    Plan,
    item="plan",
    check_references=_check_product,
    upsert_doc=(
        "Create or replace a pricing plan by id: a product with a billing interval and a price "
        "per interval; its product must exist."
    ),
    read_doc="Retrieve a plan by id.",
    delete_doc="Delete a plan by id (subscriptions keep their plan_id).",
    list_doc="List plans ordered by id, ``limit`` at a time, after ``starting_after``.",
)
