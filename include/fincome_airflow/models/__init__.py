"""Pydantic models of the Fincome resources: the single source of truth for the contract.

Shared by the transform (what we send) and the sandbox (what it accepts).
"""

from __future__ import annotations

from typing import Final

from fincome_airflow.contract import BillingResource, Resource
from fincome_airflow.models.credit_note import CreditNote, CreditNoteLine
from fincome_airflow.models.customer import Customer
from fincome_airflow.models.invoice import Invoice, InvoiceLine
from fincome_airflow.models.product import Plan, Product
from fincome_airflow.models.subscription import Subscription
from fincome_airflow.models.types import FincomeModel

#: The models of the billing model's resources (``contract.BILLING_RESOURCES``).
MODEL_BY_BILLING_RESOURCE: Final[dict[BillingResource, type[FincomeModel]]] = {
    "products": Product,
    "plans": Plan,
    "credit_notes": CreditNote,
}
MODEL_BY_RESOURCE: Final[dict[Resource, type[FincomeModel]]] = {
    "customers": Customer,
    "subscriptions": Subscription,
    "invoices": Invoice,
    **MODEL_BY_BILLING_RESOURCE,
}

__all__ = [
    "MODEL_BY_BILLING_RESOURCE",
    "MODEL_BY_RESOURCE",
    "CreditNote",
    "CreditNoteLine",
    "Customer",
    "FincomeModel",
    "Invoice",
    "InvoiceLine",
    "Plan",
    "Product",
    "Subscription",
]
