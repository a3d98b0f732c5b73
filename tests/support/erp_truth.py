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

RESOURCES = ("customers", "subscriptions", "invoices")
SUBSCRIPTION_STATUS = {
    "ACTIVE": "active",
    "TRIAL": "trialing",
    "SUSPENDED": "paused",
    "TERMINATED": "canceled",
}
INVOICE_STATUS = {"ISSUED": "open", "PAID": "paid", "OVERDUE": "unpaid"}
NEVER_SENT = {"DRAFT", "CANCELLED"}
LINE_TYPE = {"RECURRING": "subscription", "ONE_OFF": "one_off"}
TIMESTAMPS = {"created_at", "updated_at"}

Row = dict[str, Any]
Records = dict[str, dict[str, Row]]


@dataclass
class Erp:
    """Every row of the four ERP tables, by id (lines grouped by invoice, ordered)."""

    customers: dict[str, Row]
    contracts: dict[str, Row]
    invoices: dict[str, Row]
    lines: dict[str, list[Row]]


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
            return Erp(
                customers={r["cust_no"]: r for r in rows("customers", "cust_no")},
                contracts={r["contract_no"]: r for r in rows("contracts", "contract_no")},
                invoices={r["invoice_no"]: r for r in rows("invoices", "invoice_no")},
                lines=lines,
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

    def ids(self, resource: str) -> set[str]:
        return getattr(self, resource)


def month_scope(erp: Erp, month: str, watermark: dt.datetime | None = None) -> Scope:
    """The records the load of ``month`` takes (erp-reference-schema.md, "The billing month").

    The invoices dated in the month, the subscriptions and customers they reference (with
    parent customers), and every record updated after ``watermark`` (default: the start of the
    month, which is the watermark of a first load).
    """
    start = dt.date.fromisoformat(f"{month}-01")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    mark = watermark or dt.datetime.combine(start, dt.time())
    invoices = {
        no
        for no, row in erp.invoices.items()
        if start <= _day(row["invoice_date"]) < end or _stamp(row["updated_at"]) > mark
    }
    referenced = {erp.invoices[no]["contract_no"] for no in invoices}
    contracts = {
        no
        for no, row in erp.contracts.items()
        if no in referenced or _stamp(row["updated_at"]) > mark
    }
    customers = {erp.invoices[no]["cust_no"] for no in invoices}
    customers |= {erp.contracts[no]["cust_no"] for no in contracts}
    customers |= {no for no, row in erp.customers.items() if _stamp(row["updated_at"]) > mark}
    customers &= set(erp.customers)  # a reference to a missing customer is no customer
    frontier = set(customers)
    while frontier:  # parents, recursively (the hierarchy may hold a cycle)
        parents = {erp.customers[no]["parent_cust_no"] for no in frontier} - {None}
        frontier = (parents & set(erp.customers)) - customers
        customers |= frontier
    return Scope(customers, contracts, invoices)


def refused_ids(manifest: Mapping[str, Any]) -> dict[str, set[str]]:
    """Ids of the records the manifest plants with a defect that must refuse them."""
    refused: dict[str, set[str]] = {resource: set() for resource in RESOURCES}
    for kind in manifest["dirty"].values():
        if kind["outcome"] == "rejected":
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


def expected_fincome(erp: Erp, scope: Scope, refused: Mapping[str, set[str]]) -> Records:
    """What Fincome holds after loading ``scope``: refused, DRAFT and CANCELLED records left out."""
    return {
        "customers": {
            no: customer(erp.customers[no]) for no in sorted(scope.customers - refused["customers"])
        },
        "subscriptions": {
            no: subscription(erp.contracts[no])
            for no in sorted(scope.subscriptions - refused["subscriptions"])
        },
        "invoices": {
            no: invoice(erp.invoices[no], erp.lines.get(no, []))
            for no in sorted(scope.invoices - refused["invoices"])
            if erp.invoices[no]["doc_status"] not in NEVER_SENT
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
