"""A month large enough to show that memory does not grow with its size, and throughput.

The ERP is filled in SQL (``generate_series`` on PostgreSQL, a recursive CTE on SQLite): one
contract and one invoice of two lines per subscriber, five contracts per customer.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import tracemalloc

import pytest
from sqlalchemy import text

from fincome_airflow.engines import erp_engine
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.state.store import StateStore
from fincome_erp.rows import create_erp

log = logging.getLogger(__name__)
NOW = dt.datetime(2024, 2, 20, tzinfo=dt.UTC)
#: The large month is 10.5 times the small one: with the assertion's 8 MiB of slack, a month
#: whose memory grows by 470 bytes an invoice fails it (5,000 vs 25,000 invoices let 480 pass, for
#: 30% more traced invoices); FINCOME_TEST_VOLUME=20000 runs the 20k vs 210k comparison.
SMALL = int(os.environ.get("FINCOME_TEST_VOLUME", "2000"))
LARGE = SMALL * 21 // 2
CHUNK = 500

_SERIES = {
    "postgresql": "SELECT g AS x FROM generate_series(1, :n) AS g",
    "sqlite": "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) "
    "SELECT x FROM s",
}
_FILL = [
    # the plan every contract names, and its product (one each, whatever the size)
    "INSERT INTO erp.products (product_code, product_name, updated_at) "
    "SELECT 'PRO', 'Pro', '2020-01-01 00:00:00' WHERE :n > 0",
    "INSERT INTO erp.plans (plan_code, plan_name, product_code, billing_period, list_price, "
    "currency, updated_at) SELECT 'PRO', 'Pro plan', 'PRO', 'MONTH', 100.00, 'EUR', "
    "'2020-01-01 00:00:00' WHERE :n > 0",
    "INSERT INTO erp.customers (cust_no, company_name, email, country_code, postal_code, "
    "parent_cust_no, updated_at) SELECT 'C' || (100000000 + x), 'Company ' || x, NULL, 'fr', "
    "'75001', NULL, '2020-01-01 00:00:00' FROM ({series}) AS q WHERE x <= :n / 5 + 1",
    "INSERT INTO erp.contracts (contract_no, cust_no, plan_code, status, start_date, end_date, "
    "terminated_on, currency, monthly_fee, updated_at) SELECT 'K' || (100000000 + x), "
    "'C' || (100000000 + x / 5 + 1), 'PRO', 'ACTIVE', '2023-01-01', NULL, NULL, 'EUR', 100.00, "
    "'2020-01-01 00:00:00' FROM ({series}) AS q",
    "INSERT INTO erp.invoices (invoice_no, cust_no, contract_no, invoice_date, due_date, "
    "doc_status, currency, total_net, total_tax, updated_at) SELECT 'I' || (100000000 + x), "
    "'C' || (100000000 + x / 5 + 1), 'K' || (100000000 + x), '2024-01-05', '2024-02-04', "
    "'ISSUED', 'EUR', 120.50, 24.10, '2020-01-01 00:00:00' FROM ({series}) AS q",
    "INSERT INTO erp.invoice_lines (invoice_no, line_no, description, line_kind, service_from, "
    "service_to, quantity, net_amount) SELECT 'I' || (100000000 + x), 1, 'Pro plan', "
    "'RECURRING', '2024-01-01', '2024-01-31', 1, 100.00 FROM ({series}) AS q",
    "INSERT INTO erp.invoice_lines (invoice_no, line_no, description, line_kind, service_from, "
    "service_to, quantity, net_amount) SELECT 'I' || (100000000 + x), 2, 'Setup', 'ONE_OFF', "
    "NULL, NULL, 1, 20.50 FROM ({series}) AS q",
]


def fill_erp(erp_url: str, invoices: int) -> None:
    engine = erp_engine(erp_url)
    create_erp(engine)
    with engine.begin() as conn:
        series = _SERIES[conn.dialect.name]
        for sql in _FILL:
            conn.execute(text(sql.format(series=series)), {"n": invoices})
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    engine.dispose()


def run_once(erp_url: str, state_url: str, *, trace: bool) -> tuple[int, float, int]:
    """Extract+validate+stage a month; return (peak traced bytes, seconds, staged invoices)."""
    engine = erp_engine(erp_url)
    store = StateStore.from_url(state_url)
    store.ensure_schema()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    # Small chunks, so that both sizes span many of them (memory is bounded by a chunk).
    report = extract_and_stage(engine, store, "volume", "2024-01", now=NOW, chunk=CHUNK)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    engine.dispose()
    store.engine.dispose()
    return peak, seconds, report.counts["invoices"].valid


def _urls(backend: str, tmp_path, request, tag: str) -> tuple[str, str]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/erp-{tag}.db", f"sqlite:///{tmp_path}/state-{tag}.db"
    factory = request.getfixturevalue("create_pg_database")
    return factory("erp"), factory("state")


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_memory_does_not_grow_with_the_size_of_the_month(backend, tmp_path, request) -> None:
    peaks = {}
    for n in (SMALL, LARGE):
        erp_url, state_url = _urls(backend, tmp_path, request, str(n))
        fill_erp(erp_url, n)
        peak, seconds, valid = run_once(erp_url, state_url, trace=True)
        assert valid == n
        peaks[n] = peak
        log.warning(
            "%s %d invoices: peak %.1f MiB traced, %.1f s", backend, n, peak / 2**20, seconds
        )
    # ten times the month, well under twice the memory (no timing assertion)
    assert peaks[LARGE] < 1.5 * peaks[SMALL] + 8 * 2**20, peaks
