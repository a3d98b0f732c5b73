"""The state database's size over a year of monthly closes (see ``state/retention.py``).

Twelve months of the reference ERP, revealed one month at a time (the invoices of later months
wait in a schema of their own, as if not yet issued); each month gets a load, a rerun and a dry
run, as a year of closes with their reruns and checks would; the daily maintenance runs after
each month. Fincome's confirmations are recorded as the load tasks record them
(``Ledger.record``) without HTTP: the subject is what the state database keeps, not the API (the
load lines measure that).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, text

from fincome_airflow.contract import RESOURCES
from fincome_airflow.engines import erp_engine
from fincome_airflow.hooks.send_result import SendResult
from fincome_airflow.month import BillingMonth
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.state import schema
from fincome_airflow.state.ledger import Ledger
from fincome_airflow.state.retention import maintain, release_finished, row_count
from fincome_airflow.state.store import StateStore, utcnow
from fincome_dev.bench.config import BenchConfig
from fincome_dev.bench.databases import build_erp
from fincome_dev.bench.table import Figure, Report

MONTHS = 12
MAX_GROWTH = 3.0
#: A load, a rerun (nothing changed) and a dry run of every month.
RUNS = (("load", False), ("rerun", False), ("dry", True))
#: Invoices (with their lines) dated from ``cut`` on move to ``erp_hold``: not issued yet.
_HOLD = (
    "CREATE SCHEMA erp_hold",
    "CREATE TABLE erp_hold.invoices (LIKE erp.invoices INCLUDING ALL)",
    "CREATE TABLE erp_hold.invoice_lines (LIKE erp.invoice_lines INCLUDING ALL)",
    "INSERT INTO erp_hold.invoices SELECT * FROM erp.invoices WHERE invoice_date >= :cut",
    "INSERT INTO erp_hold.invoice_lines SELECT l.* FROM erp.invoice_lines AS l"
    " JOIN erp_hold.invoices AS i ON i.invoice_no = l.invoice_no",
    "DELETE FROM erp.invoice_lines AS l USING erp_hold.invoices AS i"
    " WHERE l.invoice_no = i.invoice_no",
    "DELETE FROM erp.invoices WHERE invoice_date >= :cut",
)
#: The held invoices dated before ``cut`` are issued: back into the ERP.
_REVEAL = (
    "INSERT INTO erp.invoices SELECT * FROM erp_hold.invoices WHERE invoice_date < :cut",
    "INSERT INTO erp.invoice_lines SELECT l.* FROM erp_hold.invoice_lines AS l"
    " JOIN erp_hold.invoices AS i ON i.invoice_no = l.invoice_no WHERE i.invoice_date < :cut",
    "DELETE FROM erp_hold.invoice_lines AS l USING erp_hold.invoices AS i"
    " WHERE l.invoice_no = i.invoice_no AND i.invoice_date < :cut",
    "DELETE FROM erp_hold.invoices WHERE invoice_date < :cut",
)
_ERP_RECORDS = text(
    "SELECT (SELECT count(*) FROM erp.customers) + (SELECT count(*) FROM erp.contracts)"
    " + (SELECT count(*) FROM erp.invoices)"
)


def _confirm(store: StateStore, run_key: str) -> int:
    """Record Fincome confirming every record the run would send; return how many."""
    sent = 0
    for resource in RESOURCES:
        ledger = Ledger(store, run_key, resource)
        with ledger.writer(batch_size=5000, max_age=60) as writer:
            for record in ledger.iter_to_send(page_size=5000):
                writer.add(
                    SendResult(resource, record.record_id, "created", 201), record.payload_hash
                )
                sent += 1
            for record_id in ledger.iter_to_delete(page_size=5000):
                writer.add(SendResult(resource, record_id, "deleted", 204))
                sent += 1
    return sent


def _size_mb(store: StateStore) -> float:
    with store.begin() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return int(size or 0) / 1e6


def _table_mb(store: StateStore) -> dict[str, float]:
    """Each state table's size with its indexes (MB), the largest first."""
    query = text("SELECT pg_total_relation_size(CAST(:name AS regclass))")
    with store.begin() as conn:
        sizes = {
            name: int(conn.execute(query, {"name": name}).scalar() or 0) / 1e6
            for name in schema.metadata.tables
        }
    return {k: round(v, 1) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])}


def _run_all(engine: Any, statements: tuple[str, ...], cut: dt.date) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), {"cut": cut} if ":cut" in statement else {})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def _erp_records(erp_url: str) -> int:
    engine = erp_engine(erp_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(_ERP_RECORDS).scalar() or 0)
    finally:
        engine.dispose()


def measure(cfg: BenchConfig, erp_url: str, state_url: str) -> dict[str, Any]:
    build_erp(erp_url, cfg.month, cfg.growth_invoices, months=MONTHS)
    engine = erp_engine(erp_url)
    store = StateStore.from_url(state_url)
    store.ensure_schema()
    now = dt.datetime.fromisoformat(cfg.now)
    month = BillingMonth.parse(cfg.month)
    months = [month]
    while len(months) < MONTHS:
        months.insert(0, months[0].previous())
    sizes: list[dict[str, Any]] = []
    first_mb = first_peak_mb = 0.0
    ledger_added_by_reruns = 0
    _run_all(engine, _HOLD, months[0].end)
    try:
        for billing in months:
            _run_all(engine, _REVEAL, billing.end)
            for kind, dry in RUNS:
                run_key = f"growth-{billing}-{kind}"
                before = row_count(store, schema.ledger)
                extract_and_stage(engine, store, run_key, billing, now=now, dry_run=dry)
                sent = 0 if dry else _confirm(store, run_key)
                status = "dry_run" if dry else "done"
                store.set_run_status(run_key, status)
                if not first_peak_mb:  # the first run before its audit removes its payloads
                    first_peak_mb = _size_mb(store)
                release_finished(store, run_key, status)  # as the run's audit does
                if kind != "load":
                    ledger_added_by_reruns += row_count(store, schema.ledger) - before
                if not first_mb:  # the first run, as its audit leaves the database
                    first_mb = _size_mb(store)
                sizes.append({"run": run_key, "sent": sent, "mb": round(_size_mb(store), 1)})
            report = maintain(store, now=utcnow())
            sizes[-1]["after_maintenance_mb"] = round(_size_mb(store), 1)
            sizes[-1]["maintenance"] = report.line()
        with store.begin() as conn:
            staged = conn.execute(select(func.count()).select_from(schema.staged)).scalar()
        return {
            "first_mb": round(first_mb, 1),
            "first_peak_mb": round(first_peak_mb, 1),
            "tables_mb": _table_mb(store),
            "last_mb": round(_size_mb(store), 1),
            "ledger_rows": row_count(store, schema.ledger),
            "erp_records": _erp_records(erp_url),
            "ledger_added_by_reruns_and_dry_runs": ledger_added_by_reruns,
            "staged_rows_left": int(staged or 0),
            "runs": len(sizes),
            "steps": sizes,
        }
    finally:
        engine.dispose()
        store.engine.dispose()


def figure(cfg: BenchConfig, report: Report, growth: dict[str, Any]) -> None:
    """The target is against the first run's footprint while it ran (its payloads included:
    what every run used to add for good); the ratio to the first run as its audit leaves it is
    in the note (see the README: 12 months hold several times the first's distinct records)."""
    peak, after = growth["first_peak_mb"], growth["first_mb"]
    ratio = growth["last_mb"] / peak if peak else None
    to_after = f"{growth['last_mb'] / after:.2f}x" if after else "-"
    largest = ", ".join(f"{name} {mb:.0f}" for name, mb in list(growth["tables_mb"].items())[:4])
    linear = (
        growth["ledger_added_by_reruns_and_dry_runs"] == 0
        and growth["ledger_rows"] <= growth["erp_records"]
    )
    report.add(
        Figure(
            key="state_growth",
            label=(
                f"state database after {MONTHS} months of {cfg.growth_invoices:,} invoices "
                f"({growth['runs']} runs: load, rerun, dry run each; daily maintenance)"
            ),
            value=f"{growth['last_mb']:.0f} MB; ledger {growth['ledger_rows']:,} rows",
            baseline=f"{peak:.0f} MB: the first run at its peak ({after:.0f} MB after its audit)",
            ratio=ratio,
            target=f"<= {MAX_GROWTH:g}x; ledger <= ERP records, reruns add no row",
            met=ratio is not None and ratio <= MAX_GROWTH and linear,
            note=(
                f"{to_after} the first run after its audit; MB: {largest}; ERP "
                f"{growth['erp_records']:,} records; reruns and dry runs added "
                f"{growth['ledger_added_by_reruns_and_dry_runs']} ledger rows; staged rows left "
                f"{growth['staged_rows_left']:,}"
            ),
            data=growth,
        )
    )
