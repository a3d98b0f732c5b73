"""The last gate before staging: the contract models accept the payload, or we say why not.

The mapping already refuses what it knows with a precise reason; this gate catches anything
the models refuse that the mapping let through, translating pydantic's error into the reject
vocabulary and the ERP column, so that a bad row is a reject and never a crash.
"""

from __future__ import annotations

from typing import Any, Final, cast

from pydantic import ValidationError

from fincome_airflow.contract import Resource
from fincome_airflow.models import MODEL_BY_RESOURCE
from fincome_airflow.reasons import REASON_CODES, Problem, ReasonCode, problem

#: Fincome field -> ERP column, per resource (lines: ``lines.<index>.<field>``).
ERP_COLUMN: Final[dict[Resource, dict[str, str]]] = {
    "customers": {
        "id": "cust_no",
        "name": "company_name",
        "email": "email",
        "country": "country_code",
        "zip_code": "postal_code",
        "root_parent_id": "parent_cust_no",
    },
    "subscriptions": {
        "id": "contract_no",
        "customer_id": "cust_no",
        "plan_id": "plan_code",
        "status": "status",
        "start_date": "start_date",
        "end_date": "end_date",
        "canceled_at": "terminated_on",
        "currency": "currency",
        "monthly_value": "monthly_fee",
    },
    "invoices": {
        "id": "invoice_no",
        "number": "invoice_no",
        "customer_id": "cust_no",
        "subscription_id": "contract_no",
        "issue_date": "invoice_date",
        "due_date": "due_date",
        "status": "doc_status",
        "currency": "currency",
        "net_amount": "total_net",
        "tax_amount": "total_tax",
    },
    "products": {"id": "product_code", "name": "product_name"},
    "plans": {
        "id": "plan_code",
        "name": "plan_name",
        "product_id": "product_code",
        "interval": "billing_period",
        "amount": "list_price",
        "currency": "currency",
    },
    "credit_notes": {
        "id": "credit_note_no",
        "number": "credit_note_no",
        "customer_id": "cust_no",
        "invoice_id": "invoice_no",
        "issue_date": "issue_date",
        "status": "doc_status",
        "currency": "currency",
        "net_amount": "total_net",
        "tax_amount": "total_tax",
    },
}
LINE_COLUMN: Final = {
    "id": "line_no",
    "type": "line_kind",
    "description": "description",
    "quantity": "quantity",
    "net_amount": "net_amount",
    "period_start": "service_from",
    "period_end": "service_to",
    "invoice_line_id": "invoice_line_no",
}
#: pydantic's own error types (parsing, required fields, literals); the contract's rules raise
#: errors whose type is the reason code itself (``models/rules.py``).
_TYPE_CODE: Final[dict[str, ReasonCode]] = {
    "missing": "missing_value",
    "string_too_short": "missing_value",
    "date_parsing": "invalid_date",
    "date_type": "invalid_date",
    "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date",
    "decimal_parsing": "invalid_amount",
    "finite_number": "invalid_amount",
    "literal_error": "unknown_status",
}


def erp_field(resource: Resource, loc: tuple[Any, ...]) -> str | None:
    """The ERP column behind a pydantic error location (None for the whole record)."""
    if not loc:
        return None
    if resource in ("invoices", "credit_notes") and loc[0] == "lines" and len(loc) >= 2:
        where = f"lines[{loc[1]}]"
        return f"{where}.{LINE_COLUMN.get(str(loc[2]), str(loc[2]))}" if len(loc) > 2 else where
    return ERP_COLUMN[resource].get(str(loc[0]), str(loc[0]))


def translate(resource: Resource, error: ValidationError) -> Problem:
    """The first error of ``error`` as a :class:`Problem` in plain words.

    A contract rule's error is typed with its reason code; its context may name the field at
    fault (for a rule across fields), the value to show and a detail.
    """
    first = error.errors(include_url=False)[0]
    kind, ctx = first["type"], first.get("ctx") or {}
    code = cast(ReasonCode, kind) if kind in REASON_CODES else _TYPE_CODE.get(kind, "invalid_value")
    loc = tuple(first["loc"]) + (tuple(str(ctx["field"]).split(".")) if "field" in ctx else ())
    value = ctx.get("value", first.get("input"))
    detail = ctx.get("detail", first["msg"])
    return problem(code, erp_field(resource, loc), value, detail, resource=resource)


def check(resource: Resource, payload: dict[str, Any]) -> Problem | None:
    """Validate ``payload`` with the contract model of ``resource``; None when accepted."""
    try:
        MODEL_BY_RESOURCE[resource].model_validate(payload)
    except ValidationError as exc:
        return translate(resource, exc)
    return None
