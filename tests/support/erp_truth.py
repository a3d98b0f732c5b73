"""An independent reading of the reference ERP: what Fincome must hold after a month's load.

Written again on purpose from ``erp-reference-schema.md`` and ``fincome-api-contract.md``: plain
SQL and a few lines of mapping, sharing no code with ``fincome_airflow`` (extraction queries,
transform, validation). The manifest of the generator says which records are refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fincome_airflow.contract import AMOUNT_FIELDS

RESOURCES = ("products", "plans", "customers", "subscriptions", "invoices", "credit_notes")
SUBSCRIPTION_STATUS = {
    "ACTIVE": "active",
    "TRIAL": "trialing",
    "SUSPENDED": "paused",
    "TERMINATED": "canceled",
}
INVOICE_STATUS = {"ISSUED": "open", "PAID": "paid", "OVERDUE": "unpaid"}
NEVER_SENT = {"DRAFT", "CANCELLED"}
LINE_TYPE = {"RECURRING": "subscription", "ONE_OFF": "one_off"}
PLAN_INTERVAL = {"MONTH": "month", "QUARTER": "quarter", "YEAR": "year"}
CREDIT_NOTE_STATUS = {"ISSUED": "open", "REFUNDED": "refunded"}
TIMESTAMPS = {"created_at", "updated_at"}

Row = dict[str, Any]
Records = dict[str, dict[str, Row]]


@dataclass
class Erp:
    """Every row of the ERP tables, by id (lines grouped by their document, ordered)."""

    customers: dict[str, Row]
    contracts: dict[str, Row]
    invoices: dict[str, Row]
    lines: dict[str, list[Row]]
    products: dict[str, Row]
    plans: dict[str, Row]
    credit_notes: dict[str, Row]
    credit_lines: dict[str, list[Row]]


def read_erp(url: str) -> Erp:
    """Read the whole ERP (PostgreSQL schema ``erp``, or a SQLite file's own tables)."""
    prefix = "" if make_url(url).get_backend_name() == "sqlite" else "erp."
    engine = create_engine(url)
    try:
        with engine.connect() as conn:

            def rows(table: str, order: str) -> list[Row]:
                sql = f"SELECT * FROM {prefix}{table} ORDER BY {order}"
                return [dict(r) for r in conn.execute(text(sql)).mappings()]

            lines: dict[str, list[Row]] = {}
            for line in rows("invoice_lines", "invoice_no, line_no"):
                lines.setdefault(line["invoice_no"], []).append(line)
            credit_lines: dict[str, list[Row]] = {}
            for line in rows("credit_note_lines", "credit_note_no, line_no"):
                credit_lines.setdefault(line["credit_note_no"], []).append(line)
            return Erp(
                customers={r["cust_no"]: r for r in rows("customers", "cust_no")},
                contracts={r["contract_no"]: r for r in rows("contracts", "contract_no")},
                invoices={r["invoice_no"]: r for r in rows("invoices", "invoice_no")},
                lines=lines,
                products={r["product_code"]: r for r in rows("products", "product_code")},
                plans={r["plan_code"]: r for r in rows("plans", "plan_code")},
                credit_notes={
                    r["credit_note_no"]: r for r in rows("credit_notes", "credit_note_no")
                },
                credit_lines=credit_lines,
            )
    finally:
        engine.dispose()


def update_erp(url: str, sql: str, **params: Any) -> int:
    """Run one UPDATE on the ERP (``{erp}`` in ``sql`` is the table prefix); rows changed."""
    prefix = "" if make_url(url).get_backend_name() == "sqlite" else "erp."
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return conn.execute(text(sql.format(erp=prefix)), params).rowcount
    finally:
        engine.dispose()


def erp_timestamp(moment: dt.datetime) -> str:
    """A naive timestamp as the reference ERP stores ``updated_at`` (UTC, to the second)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _stamp(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def _day(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass
class Scope:
    """Ids of the records one load considers (before validation)."""

    customers: set[str]
    subscriptions: set[str]
    invoices: set[str]
    products: set[str]
    plans: set[str]
    credit_notes: set[str]

    def ids(self, resource: str) -> set[str]:
        return getattr(self, resource)


def month_scope(erp: Erp, month: str, watermark: dt.datetime | None = None) -> Scope:
    """The records the load of ``month`` takes (erp-reference-schema.md, "The billing month").

    The invoices and credit notes dated in the month, the invoices those credit (and the
    credit notes of the invoices changed), the
    subscriptions, customers (with parent customers), plans and products these reference, and
    every record updated after ``watermark`` (default: the start of the month, which is the
    watermark of a first load).
    """
    start = dt.date.fromisoformat(f"{month}-01")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    mark = watermark or dt.datetime.combine(start, dt.time())

    def taken(row: Row, date_column: str) -> bool:
        return start <= _day(row[date_column]) < end or _stamp(row["updated_at"]) > mark

    notes = {no for no, row in erp.credit_notes.items() if taken(row, "issue_date")}
    invoices = {no for no, row in erp.invoices.items() if taken(row, "invoice_date")}
    invoices |= {erp.credit_notes[no]["invoice_no"] for no in notes} & set(erp.invoices)
    changed = {no for no, row in erp.invoices.items() if _stamp(row["updated_at"]) > mark}
    notes |= {no for no, row in erp.credit_notes.items() if row["invoice_no"] in changed}
    referenced = {erp.invoices[no]["contract_no"] for no in invoices}
    contracts = {
        no
        for no, row in erp.contracts.items()
        if no in referenced or _stamp(row["updated_at"]) > mark
    }
    customers = {erp.invoices[no]["cust_no"] for no in invoices}
    customers |= {erp.contracts[no]["cust_no"] for no in contracts}
    customers |= {erp.credit_notes[no]["cust_no"] for no in notes}
    customers |= {no for no, row in erp.customers.items() if _stamp(row["updated_at"]) > mark}
    customers &= set(erp.customers)  # a reference to a missing customer is no customer
    frontier = set(customers)
    while frontier:  # parents, recursively (the hierarchy may hold a cycle)
        parents = {erp.customers[no]["parent_cust_no"] for no in frontier} - {None}
        frontier = (parents & set(erp.customers)) - customers
        customers |= frontier
    plans = {erp.contracts[no]["plan_code"] for no in contracts} & set(erp.plans)
    plans |= {no for no, row in erp.plans.items() if _stamp(row["updated_at"]) > mark}
    products = {erp.plans[no]["product_code"] for no in plans} & set(erp.products)
    products |= {no for no, row in erp.products.items() if _stamp(row["updated_at"]) > mark}
    return Scope(customers, contracts, invoices, products, plans, notes)


def refused_ids(manifest: Mapping[str, Any], outcome: str = "rejected") -> dict[str, set[str]]:
    """Ids of the records the manifest plants with a defect that must refuse them (or, with
    ``outcome="blocked"``, the clean records a refused one must block)."""
    refused: dict[str, set[str]] = {resource: set() for resource in RESOURCES}
    for kind in manifest["dirty"].values():
        if kind["outcome"] == outcome:
            refused[kind["resource"]].update(entry["id"] for entry in kind["records"])
    return refused


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _put(payload: Row, key: str, value: Any) -> None:
    if not _blank(value):
        payload[key] = value


def customer(row: Row) -> Row:
    payload: Row = {"id": row["cust_no"], "name": row["company_name"], "custom_properties": {}}
    _put(payload, "email", row["email"])
    _put(payload, "country", (row["country_code"] or "").upper())
    _put(payload, "zip_code", row["postal_code"])
    _put(payload, "root_parent_id", row["parent_cust_no"])
    return payload


def subscription(row: Row) -> Row:
    status = SUBSCRIPTION_STATUS[row["status"]]
    payload: Row = {
        "id": row["contract_no"],
        "customer_id": row["cust_no"],
        "status": status,
        "start_date": _day(row["start_date"]).isoformat(),
        "currency": row["currency"],
        "custom_properties": {},
    }
    _put(payload, "plan_id", row["plan_code"])
    if row["end_date"] is not None:
        payload["end_date"] = _day(row["end_date"]).isoformat()
    if status == "canceled":
        payload["canceled_at"] = _day(row["terminated_on"]).isoformat()
    if row["monthly_fee"] is not None:
        payload["monthly_value"] = _money(row["monthly_fee"])
    return payload


def invoice(row: Row, lines: Iterable[Row]) -> Row:
    payload: Row = {
        "id": row["invoice_no"],
        "number": row["invoice_no"],
        "customer_id": row["cust_no"],
        "subscription_id": row["contract_no"],
        "issue_date": _day(row["invoice_date"]).isoformat(),
        "status": INVOICE_STATUS[row["doc_status"]],
        "currency": row["currency"],
        "net_amount": _money(row["total_net"]),
        "tax_amount": _money(row["total_tax"]),
        "custom_properties": {},
    }
    if row["due_date"] is not None:
        payload["due_date"] = _day(row["due_date"]).isoformat()
    sent_lines = [_line(line) for line in lines]
    if sent_lines:
        payload["lines"] = sent_lines
    return payload


def _line(row: Row) -> Row:
    kind = LINE_TYPE[row["line_kind"]]
    line: Row = {
        "id": str(row["line_no"]),
        "type": kind,
        "quantity": _money(row["quantity"]),
        "net_amount": _money(row["net_amount"]),
        "custom_properties": {},
    }
    _put(line, "description", row["description"])
    if kind == "subscription":  # inclusive last day -> exclusive end: the day after
        line["period_start"] = _day(row["service_from"]).isoformat()
        line["period_end"] = (_day(row["service_to"]) + dt.timedelta(days=1)).isoformat()
    return line


def product(row: Row) -> Row:
    return {"id": row["product_code"], "name": row["product_name"], "custom_properties": {}}


def plan(row: Row) -> Row:
    payload: Row = {
        "id": row["plan_code"],
        "name": row["plan_name"],
        "product_id": row["product_code"],
        "interval": PLAN_INTERVAL[row["billing_period"]],
        "currency": row["currency"],
        "custom_properties": {},
    }
    if row["list_price"] is not None:
        payload["amount"] = _money(row["list_price"])
    return payload


def credit_note(row: Row, lines: Iterable[Row]) -> Row:
    """A credit note: positive amounts, its lines' inclusive last day made the day after."""
    payload: Row = {
        "id": row["credit_note_no"],
        "number": row["credit_note_no"],
        "customer_id": row["cust_no"],
        "invoice_id": row["invoice_no"],
        "issue_date": _day(row["issue_date"]).isoformat(),
        "status": CREDIT_NOTE_STATUS[row["doc_status"]],
        "currency": row["currency"],
        "net_amount": _money(row["total_net"]),
        "tax_amount": _money(row["total_tax"]),
        "custom_properties": {},
    }
    sent_lines = []
    for line in lines:
        sent: Row = {
            "id": str(line["line_no"]),
            "net_amount": _money(line["net_amount"]),
            "custom_properties": {},
        }
        if line["invoice_line_no"] is not None:
            sent["invoice_line_id"] = str(line["invoice_line_no"])
        _put(sent, "description", line["description"])
        if line["service_from"] is not None:
            sent["period_start"] = _day(line["service_from"]).isoformat()
            sent["period_end"] = (_day(line["service_to"]) + dt.timedelta(days=1)).isoformat()
        sent_lines.append(sent)
    if sent_lines:
        payload["lines"] = sent_lines
    return payload


def expected_fincome(erp: Erp, scope: Scope, refused: Mapping[str, set[str]]) -> Records:
    """What Fincome holds after loading ``scope``: refused, DRAFT and CANCELLED records left out,
    and the credit notes of an invoice not sent (refused, DRAFT, CANCELLED: blocked or void)."""
    invoices = {
        no
        for no in scope.invoices - refused["invoices"]
        if erp.invoices[no]["doc_status"] not in NEVER_SENT
    }
    return {
        "products": {
            no: product(erp.products[no]) for no in sorted(scope.products - refused["products"])
        },
        "plans": {no: plan(erp.plans[no]) for no in sorted(scope.plans - refused["plans"])},
        "customers": {
            no: customer(erp.customers[no]) for no in sorted(scope.customers - refused["customers"])
        },
        "subscriptions": {
            no: subscription(erp.contracts[no])
            for no in sorted(scope.subscriptions - refused["subscriptions"])
        },
        "invoices": {
            no: invoice(erp.invoices[no], erp.lines.get(no, [])) for no in sorted(invoices)
        },
        "credit_notes": {
            no: credit_note(erp.credit_notes[no], erp.credit_lines.get(no, []))
            for no in sorted(scope.credit_notes - refused["credit_notes"])
            if erp.credit_notes[no]["doc_status"] not in NEVER_SENT
            and erp.credit_notes[no]["invoice_no"] in invoices
        },
    }


def comparable(value: Any, key: str | None = None) -> Any:
    """A record as compared: no timestamps, no null fields, amounts as Decimal."""
    if isinstance(value, Mapping):
        return {
            k: comparable(v, k) for k, v in value.items() if v is not None and k not in TIMESTAMPS
        }
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if key in AMOUNT_FIELDS:
        return _money(value)
    return value


def differences(expected: Records, actual: Mapping[str, Mapping[str, Row]]) -> list[str]:
    """Human-readable differences between two ``{resource: {id: record}}`` (empty: equal)."""
    found: list[str] = []
    for resource in RESOURCES:
        want = {k: comparable(v) for k, v in expected.get(resource, {}).items()}
        have = {k: comparable(v) for k, v in actual.get(resource, {}).items()}
        for missing in sorted(set(want) - set(have)):
            found.append(f"{resource}/{missing}: missing in Fincome")
        for extra in sorted(set(have) - set(want)):
            found.append(f"{resource}/{extra}: in Fincome, not called for by the ERP")
        for key in sorted(set(want) & set(have)):
            if want[key] != have[key]:
                fields = sorted(
                    f
                    for f in set(want[key]) | set(have[key])
                    if want[key].get(f) != have[key].get(f)
                )
                details = ", ".join(
                    f"{f}: ERP {want[key].get(f)!r} / Fincome {have[key].get(f)!r}" for f in fields
                )
                found.append(f"{resource}/{key}: {details}")
    return found


def assert_holds(sandbox: Any, expected: Records) -> None:
    """Fincome (the sandbox) holds exactly ``expected``, field by field."""
    found = differences(expected, sandbox.dump())
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:30])
