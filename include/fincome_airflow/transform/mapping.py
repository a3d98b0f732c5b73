"""The mapping of ``erp-reference-schema.md``: one ERP record to one Fincome payload.

Each function takes an ERP row (attribute access by column, as the extraction queries name
them) and returns a :class:`Mapped`: the JSON-ready payload (amounts as strings, ISO dates, no
nulls, exactly what ``Model.model_validate(payload).to_payload()`` gives back) or the problems
that refuse it. Pure: no I/O, "today" is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

from fincome_airflow.models import billing_rules, rules
from fincome_airflow.reasons import Problem, problem
from fincome_airflow.transform import values as v

Action = Literal["upsert", "cancel", "skip"]

SUBSCRIPTION_STATUS: Final = {
    "ACTIVE": "active",
    "TRIAL": "trialing",
    "SUSPENDED": "paused",
    "TERMINATED": "canceled",
}
INVOICE_STATUS: Final = {"ISSUED": "open", "PAID": "paid", "OVERDUE": "unpaid"}
#: Invoice statuses that are never sent (CANCELLED is deleted if it was sent before).
INVOICE_SKIPPED: Final = frozenset({"DRAFT"})
INVOICE_CANCELLED: Final = frozenset({"CANCELLED"})
LINE_TYPE: Final = {"RECURRING": "subscription", "ONE_OFF": "one_off"}
PLAN_INTERVAL: Final = {"MONTH": "month", "QUARTER": "quarter", "YEAR": "year"}
CREDIT_NOTE_STATUS: Final = {"ISSUED": "open", "REFUNDED": "refunded"}
#: Credit note statuses never sent (CANCELLED is deleted if it was sent before).
CREDIT_NOTE_SKIPPED: Final = frozenset({"DRAFT"})
CREDIT_NOTE_CANCELLED: Final = frozenset({"CANCELLED"})
ONE_DAY: Final = dt.timedelta(days=1)


@dataclass(slots=True)
class Mapped:
    """The outcome of mapping one record (``payload`` is None unless ``action`` is upsert)."""

    record_id: str
    action: Action = "upsert"
    payload: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    #: Net amount and currency as read from the ERP (for the report's totals).
    currency: str | None = None
    net_amount: Decimal | None = None
    #: The payload's leaves are exact ``str`` (built by ``transform.fast``): hashed without a walk.
    plain: bool = False


def _put(payload: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        payload[key] = value


def _known(
    table: dict[Any, str], value: Any, field_name: str, issues: list[Problem], code: str
) -> str | None:
    """The Fincome value of an ERP code (a status, a billing period), or None with a ``code``
    problem."""
    known = table.get(value)
    if known is None:
        issues.append(problem(code, field_name, value))
    return known


def _status(
    statuses: dict[str, str], value: Any, field_name: str, issues: list[Problem]
) -> str | None:
    """The Fincome status of an ERP status, or None with an ``unknown_status`` problem."""
    return _known(statuses, value, field_name, issues, "unknown_status")


def _finished(out: Mapped, payload: dict[str, Any]) -> Mapped:
    """``out``, given ``payload`` when the mapping found no problem (a refused record has none)."""
    if not out.problems:
        out.payload = payload
    return out


def map_customer(row: Any) -> Mapped:
    """Map an ``erp.customers`` row to a Fincome customer."""
    issues: list[Problem] = []
    out = Mapped(str(row.cust_no), problems=issues)
    cid = v.identifier(row.cust_no, "cust_no", issues)
    payload: dict[str, Any] = {"id": cid, "custom_properties": {}}
    _put(payload, "name", v.text(row.company_name, "company_name", issues, required=True))
    _put(payload, "email", v.text(row.email, "email", issues))
    _put(payload, "country", v.country(row.country_code, "country_code", issues))
    _put(payload, "zip_code", v.text(row.postal_code, "postal_code", issues))
    parent = v.identifier(row.parent_cust_no, "parent_cust_no", issues, required=False)
    v.passes(issues, "parent_cust_no", parent, rules.not_own_parent, cid, parent)
    _put(payload, "root_parent_id", parent)
    return _finished(out, payload)


def map_subscription(row: Any) -> Mapped:
    """Map an ``erp.contracts`` row to a Fincome subscription."""
    issues: list[Problem] = []
    out = Mapped(str(row.contract_no), problems=issues)
    payload: dict[str, Any] = {"id": v.identifier(row.contract_no, "contract_no", issues)}
    payload["customer_id"] = v.identifier(row.cust_no, "cust_no", issues)
    _put(payload, "plan_id", v.identifier(row.plan_code, "plan_code", issues, required=False))
    status = _status(SUBSCRIPTION_STATUS, row.status, "status", issues)
    payload["status"] = status
    start = v.date(row.start_date, "start_date", issues, required=True)
    end = v.date(row.end_date, "end_date", issues)
    terminated = v.date(row.terminated_on, "terminated_on", issues)
    if start is not None:
        payload["start_date"] = start.isoformat()
        if end is not None:
            v.passes(issues, "end_date", end.isoformat(), rules.end_not_before_start, start, end)
    if end is not None:
        payload["end_date"] = end.isoformat()
    if status == "canceled":
        if terminated is None and not blank_issue(issues, "terminated_on"):
            v.passes(issues, "terminated_on", None, rules.canceled_has_date, status, terminated)
        elif terminated is not None:
            if start is not None:
                v.passes(
                    issues,
                    "terminated_on",
                    terminated.isoformat(),
                    rules.canceled_not_before_start,
                    start,
                    terminated,
                )
            payload["canceled_at"] = terminated.isoformat()
    out.currency = payload["currency"] = v.currency(row.currency, "currency", issues)
    fee = v.amount(row.monthly_fee, "monthly_fee", issues, required=False)
    if fee is not None:
        payload["monthly_value"] = v.money(fee)
    payload["custom_properties"] = {}
    return _finished(out, payload)


def blank_issue(issues: Sequence[Problem], field_name: str) -> bool:
    """True when a problem was already recorded for ``field_name``."""
    return any(p.field == field_name for p in issues)


def map_invoice(head: Any, lines: Sequence[Any], today: dt.date) -> Mapped:
    """Map an ``erp.invoices`` row and its ``erp.invoice_lines`` rows to a Fincome invoice.

    DRAFT gives action ``skip``; CANCELLED gives ``cancel`` (deleted if it was sent before).
    """
    issues: list[Problem] = []
    out = Mapped(str(head.invoice_no), problems=issues)
    if head.doc_status in INVOICE_SKIPPED:
        out.action = "skip"
        return out
    if head.doc_status in INVOICE_CANCELLED:
        out.action = "cancel"
        return out
    iid = v.identifier(head.invoice_no, "invoice_no", issues)
    payload: dict[str, Any] = {"id": iid, "number": iid}
    payload["customer_id"] = v.identifier(head.cust_no, "cust_no", issues)
    if v.blank(head.contract_no):
        issues.append(problem("missing_subscription", "contract_no"))
    else:
        payload["subscription_id"] = v.identifier(head.contract_no, "contract_no", issues)
    payload["status"] = _status(INVOICE_STATUS, head.doc_status, "doc_status", issues)
    issued = v.date(head.invoice_date, "invoice_date", issues, required=True)
    due = v.date(head.due_date, "due_date", issues)
    if issued is not None:
        payload["issue_date"] = issued.isoformat()
        if issued > today:
            issues.append(problem("issue_date_in_future", "invoice_date", issued.isoformat()))
        if due is not None:
            v.passes(issues, "due_date", due.isoformat(), rules.due_not_before_issue, issued, due)
    if due is not None:
        payload["due_date"] = due.isoformat()
    out.currency = payload["currency"] = v.currency(head.currency, "currency", issues)
    net = v.amount(head.total_net, "total_net", issues)
    out.net_amount = net
    if net is not None:
        payload["net_amount"] = v.money(net)
    tax = v.amount(head.total_tax, "total_tax", issues, required=False)
    if tax is not None:
        payload["tax_amount"] = v.money(tax)
    if lines:
        mapped_lines, line_sum = _map_lines(lines, issues)
        payload["lines"] = mapped_lines
        if line_sum is not None and net is not None:
            v.passes(issues, "total_net", net, rules.lines_add_up, line_sum, net)
    payload["custom_properties"] = {}
    return _finished(out, payload)


def _map_lines(lines: Sequence[Any], issues: list[Problem]) -> tuple[list[dict], Decimal | None]:
    """Map the lines; the sum is None when a line amount could not be read."""
    mapped: list[dict[str, Any]] = []
    seen: set[str] = set()
    total: Decimal | None = Decimal(0)
    for row in lines:
        n = row.line_no
        where = f"lines[{n}]"
        line_id = v.identifier(n, f"{where}.line_no", issues)
        v.passes(issues, f"{where}.line_no", n, rules.line_id_unique, line_id, seen)
        seen.add(line_id)
        line: dict[str, Any] = {"id": line_id}
        kind = LINE_TYPE.get(row.line_kind)
        if kind is None:
            issues.append(problem("unknown_line_kind", f"{where}.line_kind", row.line_kind))
        line["type"] = kind
        _put(line, "description", v.text(row.description, f"{where}.description", issues))
        qty = v.quantity(row.quantity, f"{where}.quantity", issues)
        if qty is not None:
            line["quantity"] = v.money(qty)
        amount = v.amount(row.net_amount, f"{where}.net_amount", issues)
        if amount is None:
            total = None
        else:
            line["net_amount"] = v.money(amount)
            if total is not None:
                total += amount
        if kind == "subscription":
            _period(row, where, line, issues)
        line["custom_properties"] = {}
        mapped.append(line)
    return mapped, total


def _period(row: Any, where: str, line: dict[str, Any], issues: list[Problem]) -> None:
    """Inclusive ERP service dates to Fincome's [start, end) period: end = the day after."""
    start = v.date(row.service_from, f"{where}.service_from", issues)
    last = v.date(row.service_to, f"{where}.service_to", issues)
    if start is None or last is None:
        if not blank_issue(issues, f"{where}.service_from") and not blank_issue(
            issues, f"{where}.service_to"
        ):
            missing = "service_from" if start is None else "service_to"
            v.passes(issues, f"{where}.{missing}", None, rules.period_complete, start, last)
        return
    end = last + ONE_DAY
    shown = last.isoformat()
    if v.passes(
        issues, f"{where}.service_to", shown, rules.period_in_order, start, end
    ) and v.passes(issues, f"{where}.service_to", shown, rules.date_in_range, end):
        line["period_start"] = start.isoformat()
        line["period_end"] = end.isoformat()


def map_product(row: Any) -> Mapped:
    """Map an ``erp.products`` row to a Fincome product."""
    issues: list[Problem] = []
    out = Mapped(str(row.product_code), problems=issues)
    payload: dict[str, Any] = {"id": v.identifier(row.product_code, "product_code", issues)}
    _put(payload, "name", v.text(row.product_name, "product_name", issues, required=True))
    payload["custom_properties"] = {}
    return _finished(out, payload)


def map_plan(row: Any) -> Mapped:
    """Map an ``erp.plans`` row to a Fincome pricing plan."""
    issues: list[Problem] = []
    out = Mapped(str(row.plan_code), problems=issues)
    payload: dict[str, Any] = {"id": v.identifier(row.plan_code, "plan_code", issues)}
    _put(payload, "name", v.text(row.plan_name, "plan_name", issues, required=True))
    payload["product_id"] = v.identifier(row.product_code, "product_code", issues)
    payload["interval"] = _known(
        PLAN_INTERVAL, row.billing_period, "billing_period", issues, "unknown_billing_period"
    )
    price = v.amount(row.list_price, "list_price", issues, required=False)
    if price is not None:
        payload["amount"] = v.money(price)
    out.currency = payload["currency"] = v.currency(row.currency, "currency", issues)
    payload["custom_properties"] = {}
    return _finished(out, payload)


def map_credit_note(head: Any, lines: Sequence[Any], today: dt.date) -> Mapped:
    """Map an ``erp.credit_notes`` row and its ``erp.credit_note_lines`` rows to a Fincome
    credit note (amounts stay positive: Fincome counts them against revenue).

    DRAFT gives action ``skip``; CANCELLED, or an invoice cancelled or never sent (DRAFT),
    gives ``cancel``: deleted from Fincome if it was sent before (before its invoice is).
    """
    issues: list[Problem] = []
    out = Mapped(str(head.credit_note_no), problems=issues)
    if head.doc_status in CREDIT_NOTE_SKIPPED:
        out.action = "skip"
        return out
    invoice_gone = head.ref_invoice_status in INVOICE_CANCELLED | INVOICE_SKIPPED
    if head.doc_status in CREDIT_NOTE_CANCELLED or invoice_gone:
        out.action = "cancel"
        return out
    cid = v.identifier(head.credit_note_no, "credit_note_no", issues)
    payload: dict[str, Any] = {"id": cid, "number": cid}
    payload["customer_id"] = v.identifier(head.cust_no, "cust_no", issues)
    payload["invoice_id"] = v.identifier(head.invoice_no, "invoice_no", issues)
    payload["status"] = _status(CREDIT_NOTE_STATUS, head.doc_status, "doc_status", issues)
    issued = v.date(head.issue_date, "issue_date", issues, required=True)
    if issued is not None:
        payload["issue_date"] = issued.isoformat()
        if issued > today:
            issues.append(
                problem("issue_date_in_future", "issue_date", issued, resource="credit_notes")
            )
    out.currency = payload["currency"] = v.currency(head.currency, "currency", issues)
    net = v.amount(head.total_net, "total_net", issues)
    out.net_amount = net
    if net is not None and v.passes(issues, "total_net", net, billing_rules.positive, net):
        payload["net_amount"] = v.money(net)
    tax = v.amount(head.total_tax, "total_tax", issues, required=False)
    if tax is not None:
        payload["tax_amount"] = v.money(tax)
    if lines:
        mapped_lines, line_sum = _map_credit_lines(lines, issues)
        payload["lines"] = mapped_lines
        if line_sum is not None and net is not None:
            v.passes(
                issues, "total_net", net, rules.lines_add_up, line_sum, net, resource="credit_notes"
            )
    payload["custom_properties"] = {}
    return _finished(out, payload)


def _map_credit_lines(
    lines: Sequence[Any], issues: list[Problem]
) -> tuple[list[dict], Decimal | None]:
    """Map a credit note's lines (a credited period is optional: both ends or none); the sum
    is None when a line amount could not be read."""
    mapped: list[dict[str, Any]] = []
    seen: set[str] = set()
    total: Decimal | None = Decimal(0)
    for row in lines:
        n = row.line_no
        where = f"lines[{n}]"
        line_id = v.identifier(n, f"{where}.line_no", issues)
        v.passes(
            issues,
            f"{where}.line_no",
            n,
            rules.line_id_unique,
            line_id,
            seen,
            resource="credit_notes",
        )
        seen.add(line_id)
        line: dict[str, Any] = {"id": line_id}
        credited = v.identifier(
            row.invoice_line_no, f"{where}.invoice_line_no", issues, required=False
        )
        _put(line, "invoice_line_id", credited)
        _put(line, "description", v.text(row.description, f"{where}.description", issues))
        amount = v.amount(row.net_amount, f"{where}.net_amount", issues)
        if amount is None:
            total = None
        else:
            if v.passes(issues, f"{where}.net_amount", amount, billing_rules.positive, amount):
                line["net_amount"] = v.money(amount)
            if total is not None:
                total += amount
        if not (v.blank(row.service_from) and v.blank(row.service_to)):
            _period(row, where, line, issues)
        line["custom_properties"] = {}
        mapped.append(line)
    return mapped, total
