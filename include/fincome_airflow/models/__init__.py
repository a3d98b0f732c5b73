"""Pydantic models of the Fincome resources: the single source of truth for the contract.

Shared by the transform (what we send) and the sandbox (what it accepts).
"""

from __future__ import annotations

from typing import Final

from fincome_airflow.contract import Resource
from fincome_airflow.models.customer import Customer
from fincome_airflow.models.invoice import Invoice, InvoiceLine
from fincome_airflow.models.subscription import Subscription
from fincome_airflow.models.types import FincomeModel

MODEL_BY_RESOURCE: Final[dict[Resource, type[FincomeModel]]] = {
    "customers": Customer,
    "subscriptions": Subscription,
    "invoices": Invoice,
}

__all__ = [
    "MODEL_BY_RESOURCE",
    "Customer",
    "FincomeModel",
    "Invoice",
    "InvoiceLine",
    "Subscription",
]
