"""Write rows into a reference ERP, filling the columns a row leaves out.

For tests and worked examples of the extraction: a row is a dict of ERP columns; the defaults
give a valid record, so a test states only the column it breaks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.engine import Engine

from fincome_erp.ddl import install_schema, table_name
from fincome_erp.tables import TABLES

UPDATED: Final = dt.datetime(2020, 1, 1)

DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "customers": {
        "company_name": "ACME SAS",
        "email": "billing@acme.example",
        "country_code": "FR",
        "postal_code": "75001",
        "parent_cust_no": None,
        "updated_at": UPDATED,
    },
    "contracts": {
        "plan_code": "PRO",
        "status": "ACTIVE",
        "start_date": dt.date(2023, 1, 1),
        "end_date": None,
        "terminated_on": None,
        "currency": "EUR",
        "monthly_fee": Decimal("100.00"),
        "updated_at": UPDATED,
    },
    "invoices": {
        "due_date": None,
        "doc_status": "ISSUED",
        "currency": "EUR",
        "total_tax": Decimal("0.00"),
        "updated_at": UPDATED,
    },
    "invoice_lines": {
        "description": "Subscription",
        "line_kind": "RECURRING",
        "service_from": None,
        "service_to": None,
        "quantity": Decimal(1),
    },
    "products": {"product_name": "Pro", "updated_at": UPDATED},
    "plans": {
        "plan_name": "Pro plan",
        "product_code": "PRO",
        "billing_period": "MONTH",
        "list_price": Decimal("100.00"),
        "currency": "EUR",
        "updated_at": UPDATED,
    },
    "credit_notes": {
        "doc_status": "ISSUED",
        "currency": "EUR",
        "total_tax": Decimal("0.00"),
        "reason": None,
        "updated_at": UPDATED,
    },
    "credit_note_lines": {
        "invoice_line_no": None,
        "description": "Credit",
        "service_from": None,
        "service_to": None,
    },
}


#: The plan a contract names by default (``contracts.plan_code``) and its product: written by
#: :func:`load` unless the rows give products or plans of their own, so that a default contract
#: names a plan that exists.
DEFAULT_CATALOG: Final[dict[str, list[dict[str, Any]]]] = {
    "products": [{"product_code": "PRO"}],
    "plans": [{"plan_code": "PRO"}],
}


def create_erp(engine: Engine) -> None:
    """Create the reference ERP tables (see :func:`fincome_erp.ddl.install_schema`)."""
    install_schema(engine)


def _complete(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {**DEFAULTS[table], **row}


def _bind(value: Any, plain: bool) -> Any:
    """SQLite's driver takes text for decimals and dates (stored as the ERP would)."""
    if not plain:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def insert_rows(engine: Engine, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``rows`` into the ERP's ``table`` with defaults for missing columns."""
    if table not in TABLES:
        raise ValueError(f"unknown ERP table {table!r}")
    done = [_complete(table, r) for r in rows]
    if not done:
        return 0
    cols = list(done[0])
    sql = text(
        f"INSERT INTO {table_name(engine, table)} ({', '.join(cols)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join(':' + c for c in cols)})"
    )
    with engine.begin() as conn:
        plain = conn.dialect.name == "sqlite"
        conn.execute(sql, [{c: _bind(r.get(c), plain) for c in cols} for r in done])
    return len(done)


def add_invoice(
    erp: dict[str, list[dict[str, Any]]],
    invoice_no: str,
    cust_no: str,
    contract_no: str | None,
    day: dt.date,
    lines: Iterable[Mapping[str, Any]],
    **columns: Any,
) -> None:
    """Append an invoice and its lines to ``erp`` (total_net = sum of lines unless given)."""
    lines = list(lines)
    total = sum((Decimal(str(line["net_amount"])) for line in lines), Decimal("0.00"))
    erp.setdefault("invoices", []).append(
        {
            "invoice_no": invoice_no,
            "cust_no": cust_no,
            "contract_no": contract_no,
            "invoice_date": day,
            "total_net": total,
            **columns,
        }
    )
    for n, line in enumerate(lines, start=1):
        erp.setdefault("invoice_lines", []).append({"invoice_no": invoice_no, "line_no": n, **line})


def load(engine: Engine, erp: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
    """Insert every table of ``erp`` (rows of one table may have different columns), with
    :data:`DEFAULT_CATALOG` when ``erp`` has contracts but neither products nor plans."""
    if "contracts" in erp and not {"products", "plans"} & set(erp):
        erp = {**erp, **DEFAULT_CATALOG}
    for table in TABLES:
        groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
        for row in erp.get(table, ()):
            groups.setdefault(tuple(sorted(row)), []).append(row)
        for rows in groups.values():
            insert_rows(engine, table, rows)
