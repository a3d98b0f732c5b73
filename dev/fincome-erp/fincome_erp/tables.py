"""The ERP's tables and their column order (as in ``schema.sql``): the shape of every row."""

from __future__ import annotations

from typing import Final, Literal, get_args

Table = Literal[
    "customers",
    "contracts",
    "invoices",
    "invoice_lines",
    "products",
    "plans",
    "credit_notes",
    "credit_note_lines",
]
#: Write order; the ERP enforces no foreign keys, so any order loads, this one reads naturally.
TABLES: Final[tuple[Table, ...]] = get_args(Table)

COLUMNS: Final[dict[Table, tuple[str, ...]]] = {
    "customers": (
        "cust_no",
        "company_name",
        "email",
        "country_code",
        "postal_code",
        "parent_cust_no",
        "updated_at",
    ),
    "contracts": (
        "contract_no",
        "cust_no",
        "plan_code",
        "status",
        "start_date",
        "end_date",
        "terminated_on",
        "currency",
        "monthly_fee",
        "updated_at",
    ),
    "invoices": (
        "invoice_no",
        "cust_no",
        "contract_no",
        "invoice_date",
        "due_date",
        "doc_status",
        "currency",
        "total_net",
        "total_tax",
        "updated_at",
    ),
    "invoice_lines": (
        "invoice_no",
        "line_no",
        "description",
        "line_kind",
        "service_from",
        "service_to",
        "quantity",
        "net_amount",
    ),
    "products": ("product_code", "product_name", "updated_at"),
    "plans": (
        "plan_code",
        "plan_name",
        "product_code",
        "billing_period",
        "list_price",
        "currency",
        "updated_at",
    ),
    "credit_notes": (
        "credit_note_no",
        "invoice_no",
        "cust_no",
        "issue_date",
        "doc_status",
        "currency",
        "total_net",
        "total_tax",
        "reason",
        "updated_at",
    ),
    "credit_note_lines": (
        "credit_note_no",
        "line_no",
        "invoice_line_no",
        "description",
        "service_from",
        "service_to",
        "net_amount",
    ),
}

#: A row in column order: text, ``None``, or an ``int`` (``line_no``). Dates are ``YYYY-MM-DD``,
#: timestamps ``YYYY-MM-DD HH:MM:SS`` and amounts ``1250.00`` strings, so that every backend
#: stores exactly what was generated.
Row = tuple[str | int | None, ...]
