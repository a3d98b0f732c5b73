"""Which customers ``customers.sql`` reads: the ones the load names and all their parents, on
PostgreSQL, MariaDB and SQLite, for the monthly load and for the intraday sync."""

from __future__ import annotations

import datetime as dt

import pytest

from fincome_airflow.engines import erp_engine
from fincome_airflow.extract.queries import stream_rows
from fincome_airflow.extract.scope import LoadScope
from fincome_erp.rows import create_erp, load

pytestmark = pytest.mark.integration

JAN1, FEB1 = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
#: After every row's ``updated_at`` (``fincome_erp.rows.UPDATED``) but the changed invoice's.
WATERMARK = dt.datetime(2024, 1, 20)
CHANGED = dt.datetime(2024, 1, 25)


def customer(cust_no: str, parent: str | None = None) -> dict:
    return {"cust_no": cust_no, "parent_cust_no": parent}


def invoiced(tag: str, cust_no: str, updated_at: dt.datetime | None = None) -> dict[str, list]:
    """A contract and a January invoice of ``cust_no``."""
    invoice = {
        "invoice_no": f"I-{tag}",
        "cust_no": cust_no,
        "contract_no": f"K-{tag}",
        "invoice_date": dt.date(2024, 1, 5),
        "total_net": "10.00",
    }
    if updated_at is not None:
        invoice["updated_at"] = updated_at
    return {"contracts": [{"contract_no": f"K-{tag}", "cust_no": cust_no}], "invoices": [invoice]}


ERP = {
    "customers": [
        # a chain four levels above the invoiced customer, none of them named by the load
        customer("C-kid", "P-1"),
        customer("P-1", "P-2"),
        customer("P-2", "P-3"),
        customer("P-3", "P-4"),
        customer("P-4"),
        # a cycle above the second level: the walk stops on it
        customer("C-loop", "L-1"),
        customer("L-1", "L-2"),
        customer("L-2", "L-3"),
        customer("L-3", "L-2"),
        # a parent the ERP does not hold
        customer("C-orphan", "GONE"),
        # neither named by the load nor a parent of one it names
        customer("C-other", "P-4"),
        customer("C-root"),
    ],
    "contracts": [],
    "invoices": [],
}
for part in (
    invoiced("kid", "C-kid", CHANGED),
    invoiced("loop", "C-loop"),
    invoiced("orphan", "C-orphan"),
):
    for table, rows in part.items():
        ERP[table] = ERP[table] + rows

CHAIN = {"C-kid", "P-1", "P-2", "P-3", "P-4"}
LOOP = {"C-loop", "L-1", "L-2", "L-3"}


@pytest.fixture(
    scope="module", params=["sqlite", "postgresql", "mariadb"], ids=lambda name: f"on-{name}"
)
def erp(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('scope') / 'erp.db'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("create_pg_database")("erp_scope")
    else:
        url = request.getfixturevalue("create_mysql_database")("erp_scope")
    engine = erp_engine(url)
    create_erp(engine)
    load(engine, ERP)
    yield engine
    engine.dispose()


def read_customers(engine, scope: LoadScope) -> list[str]:
    with engine.connect() as conn:
        rows = stream_rows(conn, "customers", scope.params_for("customers"))
        return [row.cust_no for row in rows]


def test_the_monthly_load_reads_every_parent_of_its_customers_up_to_the_roots(erp):
    scope = LoadScope.for_month(JAN1, FEB1, WATERMARK)

    read = read_customers(erp, scope)

    assert set(read) == CHAIN | LOOP | {"C-orphan"}
    assert len(read) == len(set(read))
    # roots first (the validation decides a child of a root at once)
    assert read[0] == "P-4"


def test_the_intraday_sync_reads_the_parents_of_a_changed_invoice_customer_only(erp):
    scope = LoadScope.for_month(JAN1, FEB1, WATERMARK, changes_only=True)

    read = read_customers(erp, scope)

    assert read == ["P-4", "C-kid", "P-1", "P-2", "P-3"]


def test_a_pending_customer_brings_its_parents_through_a_cycle(erp):
    pending = {"customers": frozenset({"L-1"})}
    scope = LoadScope.for_month(JAN1, FEB1, WATERMARK, pending, changes_only=True)

    read = read_customers(erp, scope)

    assert sorted(read) == sorted(CHAIN | {"L-1", "L-2", "L-3"})
