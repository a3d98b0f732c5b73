"""A change whose ERP transaction commits after a load has passed its ``updated_at`` still
reaches Fincome (issue: the watermark lost late commits).

Two real PostgreSQL connections: one holds an invoice's payment open across a load while the
other commits a later customer change; the payment commits after that load, with an
``updated_at`` earlier than what the load saw. The next load must send it.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text
from support.connections import fincome_conn_json
from support.staging import load_month

from fincome_airflow.engines import erp_engine
from fincome_airflow.extract.watermark import WatermarkSettings, read_horizon
from fincome_airflow.month import BillingMonth
from fincome_airflow.state.store import StateStore
from fincome_erp.cli import main as erp_main

OCTOBER, NOVEMBER = BillingMonth(2026, 10), BillingMonth(2026, 11)
NO_GUARD = WatermarkSettings(overlap=dt.timedelta(0), horizon=False)


@pytest.fixture
def world(create_pg_database, sandbox, tmp_path, monkeypatch):
    """A PostgreSQL ERP with the demo data, October loaded into the sandbox."""
    url = create_pg_database("fincome_late_erp")
    assert erp_main(["demo", "--url", url]) == 0
    conn = fincome_conn_json(sandbox.api_key, {"max_concurrency": 8}, host=sandbox.base_url)
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn)
    engine = erp_engine(url)
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.sqlite'}")
    load_month(engine, store, "run-1", OCTOBER, now=_now(), watermark=NO_GUARD)
    yield engine, store, sandbox
    engine.dispose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _open_invoice(engine, sandbox) -> str:
    """An October invoice Fincome holds as ``open``."""
    held = sandbox.dump()["invoices"]
    with engine.connect() as conn:
        ids = conn.execute(
            text(
                "SELECT invoice_no FROM erp.invoices WHERE doc_status = 'ISSUED' "
                "AND invoice_date >= '2026-10-01' ORDER BY invoice_no"
            )
        ).scalars()
        return next(i for i in ids if held.get(i, {}).get("status") == "open")


def _paid_after_a_load_passed_it(
    engine, store, sandbox, settings: WatermarkSettings
) -> tuple[str, dict, dt.datetime]:
    """Pay an invoice in a transaction held open across a November load, commit it after that
    load, run the next load; return the status Fincome then holds for the invoice, the report
    of the load the payment was hidden from, and the payment's ``updated_at``."""
    invoice = _open_invoice(engine, sandbox)
    with engine.connect() as slow, engine.connect() as other:
        slow.execute(
            text(
                "UPDATE erp.invoices SET doc_status = 'PAID', updated_at = LOCALTIMESTAMP "
                "WHERE invoice_no = :no"
            ),
            {"no": invoice},
        )  # left open: its updated_at is the start of this transaction
        with other.begin():
            other.execute(
                text(
                    "UPDATE erp.customers SET email = 'late@example.com', "
                    "updated_at = LOCALTIMESTAMP + interval '1 second' "
                    "WHERE cust_no = (SELECT min(cust_no) FROM erp.customers)"
                )
            )
        passed = load_month(engine, store, "run-2", NOVEMBER, now=_now(), watermark=settings)
        assert sandbox.dump()["invoices"][invoice]["status"] == "open"  # not visible yet
        slow.commit()
    load_month(engine, store, "run-3", NOVEMBER, now=_now(), watermark=settings)
    with engine.connect() as conn:
        stamped = conn.execute(
            text("SELECT updated_at FROM erp.invoices WHERE invoice_no = :no"), {"no": invoice}
        ).scalar()
    return sandbox.dump()["invoices"][invoice]["status"], passed.to_dict(), stamped


def test_a_payment_committed_after_a_load_reaches_fincome_through_the_horizon(world):
    engine, store, sandbox = world
    settings = WatermarkSettings(overlap=dt.timedelta(0), horizon=True)
    status, passed, stamped = _paid_after_a_load_passed_it(engine, store, sandbox, settings)
    assert status == "paid"
    # The load that could not see the payment stopped its watermark before the payment's
    # transaction began, although it saw a later customer change.
    assert passed["watermark_guard"] == "horizon"
    assert dt.datetime.fromisoformat(passed["max_updated_at"]) < stamped


def test_a_payment_committed_after_a_load_reaches_fincome_through_the_overlap(world):
    engine, store, sandbox = world
    settings = WatermarkSettings(overlap=dt.timedelta(hours=1), horizon=False)
    status, passed, _stamped = _paid_after_a_load_passed_it(engine, store, sandbox, settings)
    assert status == "paid"
    assert passed["watermark_guard"] == "overlap"


def test_without_horizon_or_overlap_the_late_payment_is_lost_as_the_issue_describes(world):
    engine, store, sandbox = world
    status, passed, stamped = _paid_after_a_load_passed_it(engine, store, sandbox, NO_GUARD)
    assert dt.datetime.fromisoformat(passed["max_updated_at"]) > stamped  # passed the stamp
    assert status == "open"  # so the payment never reaches Fincome


@pytest.fixture
def reader_role(create_pg_database):
    """A login role of its own on a fresh database (roles are server-wide: dropped after)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(create_pg_database("fincome_late_roles"))
    role = f"fincome_reader_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    yield admin, role, url.set(username=role)
    with admin.connect() as conn:
        conn.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


def test_a_role_that_cannot_see_other_sessions_falls_back_to_the_overlap_and_says_why(
    reader_role,
):
    admin, role, reader_url = reader_role
    settings = WatermarkSettings()
    reader = erp_engine(reader_url)
    try:
        with admin.connect() as writer:
            writer.execute(text("BEGIN"))
            writer.execute(text("SELECT 1"))  # a transaction of another role, in progress
            with reader.connect() as conn:
                hidden = read_horizon(conn, settings)
            with admin.connect() as grant:
                grant.execute(text(f'GRANT pg_read_all_stats TO "{role}"'))
            with reader.connect() as conn:
                seen = read_horizon(conn, settings)
                started = conn.execute(
                    text("SELECT xact_start::timestamp FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": writer.connection.dbapi_connection.info.backend_pid},
                ).scalar()
            writer.execute(text("COMMIT"))
    finally:
        reader.dispose()
    assert (hidden.guard, hidden.at) == ("overlap", None)
    assert "pg_read_all_stats" in hidden.why
    assert seen.guard == "horizon"
    assert seen.at is not None and seen.at < started
