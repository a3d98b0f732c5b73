"""The reference ERP's products, plans and credit notes on real databases (PostgreSQL through
COPY, MariaDB and SQLite through batches): DDL, exact values, SQL joins of the references."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import text

from fincome_airflow.engines import erp_engine
from fincome_erp.config import GeneratorConfig
from fincome_erp.ddl import row_counts, table_name
from fincome_erp.generator import generate
from fincome_erp.months import Month
from fincome_erp.populate import populate
from fincome_erp.rows import create_erp, load
from fincome_erp.tables import COLUMNS

pytestmark = pytest.mark.integration

BILLING_TABLES = ("products", "plans", "credit_notes", "credit_note_lines")
CONFIG = GeneratorConfig.build(Month(2026, 9), Month(2026, 10), invoices=4_000, seed=5)


def _value(value):
    """A value read back, in the generator's text form (SQLite gives amounts as numbers)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return Decimal(str(value))
    return value


def _amount_columns(table: str) -> set[int]:
    names = ("list_price", "total_net", "total_tax", "net_amount")
    return {i for i, column in enumerate(COLUMNS[table]) if column in names}


def _normalized(table: str, row) -> tuple:
    amounts = _amount_columns(table)
    return tuple(
        Decimal(str(v)) if i in amounts and v is not None else _value(v) for i, v in enumerate(row)
    )


def _generated() -> dict[str, list[tuple]]:
    rows = defaultdict(list)
    generate(CONFIG, lambda table, row: rows[table].append(_normalized(table, row)))
    return {table: sorted(rows[table], key=str) for table in BILLING_TABLES}


def _read(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table: sorted(
                (
                    _normalized(table, row)
                    for row in conn.execute(
                        text(f"SELECT {', '.join(COLUMNS[table])} FROM {table_name(engine, table)}")
                    )
                ),
                key=str,
            )
            for table in BILLING_TABLES
        }


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("create_pg_database")("fincome_erp_billing")
    elif request.param == "mariadb":
        url = request.getfixturevalue("create_mysql_database")("fincome_erp_billing")
    else:
        url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    engine = erp_engine(url)
    yield engine
    engine.dispose()


def test_writers_store_products_plans_and_credit_notes_exactly(engine):
    manifest = populate(engine, CONFIG)

    assert row_counts(engine) == dict(manifest.rows)
    assert _read(engine) == _generated()
    assert manifest.rows["credit_notes"] > 100


def test_credit_notes_join_their_invoices_and_plans_their_products_in_sql(engine):
    manifest = populate(engine, CONFIG)
    t = {name: table_name(engine, name) for name in ("invoices", "credit_notes", "plans")}
    t["products"] = table_name(engine, "products")
    t["contracts"] = table_name(engine, "contracts")
    with engine.connect() as conn:
        unknown_invoices = conn.execute(
            text(
                f"SELECT c.credit_note_no FROM {t['credit_notes']} c "
                f"LEFT JOIN {t['invoices']} i ON i.invoice_no = c.invoice_no "
                "WHERE i.invoice_no IS NULL"
            )
        ).scalars()
        unknown_plans = conn.execute(
            text(
                f"SELECT DISTINCT k.plan_code FROM {t['contracts']} k "
                f"LEFT JOIN {t['plans']} p ON p.plan_code = k.plan_code WHERE p.plan_code IS NULL"
            )
        ).scalars()
        unknown_products = conn.execute(
            text(
                f"SELECT p.plan_code FROM {t['plans']} p "
                f"LEFT JOIN {t['products']} r ON r.product_code = p.product_code "
                "WHERE r.product_code IS NULL"
            )
        ).scalars()
        planted = manifest.dirty
        assert set(unknown_invoices) == {e["id"] for e in planted["credit_note_unknown_invoice"]}
        assert set(unknown_plans) == {"BASIC-2019-M"}
        assert set(unknown_products) == {e["id"] for e in planted["plan_unknown_product"]}


def test_row_helpers_fill_the_billing_tables_with_defaults(tmp_path):
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    create_erp(engine)
    load(
        engine,
        {
            "products": [{"product_code": "PRO"}],
            "plans": [{"plan_code": "PRO-M"}, {"plan_code": "PRO-Y", "billing_period": "YEAR"}],
            "credit_notes": [
                {
                    "credit_note_no": "CN-1",
                    "invoice_no": "INV-1",
                    "cust_no": "C1",
                    "issue_date": dt.date(2026, 10, 3),
                    "total_net": Decimal("10.00"),
                }
            ],
            "credit_note_lines": [
                {"credit_note_no": "CN-1", "line_no": 1, "net_amount": Decimal("10.00")}
            ],
        },
    )

    counts = row_counts(engine)
    engine.dispose()
    assert {table: counts[table] for table in BILLING_TABLES} == {
        "products": 1,
        "plans": 2,
        "credit_notes": 1,
        "credit_note_lines": 1,
    }
