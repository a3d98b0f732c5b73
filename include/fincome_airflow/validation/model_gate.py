"""The last gate before staging: the contract models accept the payload, or we say why not.

The mapping already refuses what it knows with a precise reason; this gate catches anything
the models refuse that the mapping let through, translating pydantic's error into the reject
vocabulary and the ERP column, so that a bad row is a reject and never a crash.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import ValidationError

from fincome_airflow.contract import Resource
from fincome_airflow.models import MODEL_BY_RESOURCE
from fincome_airflow.validation.reasons import Problem, ReasonCode, problem

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
}
LINE_COLUMN: Final = {
    "id": "line_no",
    "type": "line_kind",
    "description": "description",
    "quantity": "quantity",
    "net_amount": "net_amount",
    "period_start": "service_from",
    "period_end": "service_to",
}
_TYPE_CODE: Final[dict[str, ReasonCode]] = {
    "missing": "missing_value",
    "string_too_short": "missing_value",
    "date_parsing": "invalid_date",
    "date_type": "invalid_date",
    "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date",
    "decimal_parsing": "invalid_amount",
    "decimal_max_digits": "invalid_amount",
    "decimal_max_places": "invalid_amount",
    "decimal_whole_digits": "invalid_amount",
    "finite_number": "invalid_amount",
    "greater_than_equal": "negative_amount",
    "greater_than": "invalid_quantity",
    "literal_error": "unknown_status",
}
_MESSAGE_CODE: Final[tuple[tuple[str, ReasonCode], ...]] = (
    ("ISO 4217", "unknown_currency"),
    ("ISO 3166", "unknown_country"),
    ("year must be", "date_out_of_range"),
    ("control characters", "invalid_text"),
    ("due_date must not be before", "due_before_issue"),
    ("lines add up", "lines_do_not_add_up"),
    ("line ids must be unique", "duplicate_line"),
    ("period_start must be before", "period_end_before_start"),
    ("need period_start", "missing_period"),
    ("canceled_at is required", "missing_termination_date"),
    ("end_date must not be before", "end_before_start"),
    ("canceled_at must not be before", "canceled_before_start"),
    ("root_parent_id must not be", "own_parent"),
)


def erp_field(resource: Resource, loc: tuple[Any, ...]) -> str | None:
    """The ERP column behind a pydantic error location (None for the whole record)."""
    if not loc:
        return None
    if resource == "invoices" and loc[0] == "lines" and len(loc) >= 2:
        where = f"lines[{loc[1]}]"
        return f"{where}.{LINE_COLUMN.get(str(loc[2]), str(loc[2]))}" if len(loc) > 2 else where
    return ERP_COLUMN[resource].get(str(loc[0]), str(loc[0]))


def translate(resource: Resource, error: ValidationError) -> Problem:
    """The first error of ``error`` as a :class:`Problem` in plain words."""
    first = error.errors(include_url=False)[0]
    kind, msg = first.get("type", ""), str(first.get("msg", ""))
    field = erp_field(resource, tuple(first.get("loc", ())))
    code: ReasonCode = _TYPE_CODE.get(kind, "invalid_value")
    if kind in ("value_error", "assertion_error"):
        code = next((c for text, c in _MESSAGE_CODE if text in msg), "invalid_value")
    if kind.startswith("string_too_long"):
        code = "invalid_identifier" if field and field.endswith("_no") else "text_too_long"
    detail = msg.removeprefix("Value error, ")
    return problem(code, field, first.get("input"), detail)


def check(resource: Resource, payload: dict[str, Any]) -> Problem | None:
    """Validate ``payload`` with the contract model of ``resource``; None when accepted."""
    try:
        MODEL_BY_RESOURCE[resource].model_validate(payload)
    except ValidationError as exc:
        return translate(resource, exc)
    return None
