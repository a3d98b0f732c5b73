"""The intraday sync reads a pending refusal again only when it can have changed (issue 14),
against real ERP and state databases and the sandbox over HTTP; the monthly run reads them all.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from support.connections import fincome_conn_json
from support.staging import load_month

from fincome_airflow.contract import RESOURCES
from fincome_airflow.engines import erp_engine
from fincome_airflow.extract.watermark import WatermarkSettings
from fincome_airflow.kinds import KIND_INTRADAY
from fincome_airflow.state.store import StateStore
from fincome_erp.rows import add_invoice, create_erp, load

NOW = dt.datetime(2024, 3, 10, tzinfo=dt.UTC)
#: No overlap, no horizon: a run reads exactly the rows changed since its watermark.
EXACT = WatermarkSettings(overlap=dt.timedelta(0), horizon=False)
LINE = {"net_amount": "100.00", "service_from": dt.date(2024, 1, 1), "service_to": "2024-01-31"}


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path, sandbox, monkeypatch):
    """January loaded by the monthly run: C2 and C3 refused (unknown country), their contracts
    and invoices blocked, JAN-4 refused for its own row; C1, K1 and JAN-1 in Fincome."""
    if request.param == "sqlite":
        erp_url, state_url = f"sqlite:///{tmp_path}/erp.db", f"sqlite:///{tmp_path}/state.db"
    else:
        factory = request.getfixturevalue("create_pg_database")
        erp_url, state_url = factory("erp"), factory("state")
    monkeypatch.setenv(
        "AIRFLOW_CONN_FINCOME_API", fincome_conn_json(sandbox.api_key, host=sandbox.base_url)
    )
    engine = erp_engine(erp_url)
    create_erp(engine)
    erp: dict = {
        "customers": [
            {"cust_no": "C1"},
            {"cust_no": "C2", "country_code": "XX"},
            {"cust_no": "C3", "country_code": "XX"},
        ],
        "contracts": [{"contract_no": f"K{n}", "cust_no": f"C{n}"} for n in (1, 2, 3)],
    }
    for n in (1, 2, 3):
        add_invoice(erp, f"JAN-{n}", f"C{n}", f"K{n}", dt.date(2024, 1, 5), [LINE])
    add_invoice(erp, "JAN-4", "C1", "K1", dt.date(2024, 1, 6), [LINE], total_net="99.00")
    load(engine, erp)
    store = StateStore.from_url(state_url)
    monthly = load_month(engine, store, "jan", "2024-01", now=NOW, watermark=EXACT)
    assert monthly.pending_reextracted == 0
    assert pending(store) == {"C2", "K2", "JAN-2", "C3", "K3", "JAN-3", "JAN-4"}
    yield engine, store, sandbox
    engine.dispose()


def pending(store: StateStore) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(text("SELECT record_id FROM fincome_pending")).scalars())


def sync(engine, store: StateStore, run_key: str):
    return load_month(
        engine, store, run_key, "2024-03", now=NOW, watermark=EXACT, kind=KIND_INTRADAY
    )


def extracted(report) -> dict[str, int]:
    """Records read per resource (a resource with none read has no counts)."""
    return {r: report.counts[r].extracted if r in report.counts else 0 for r in RESOURCES}


def test_a_sync_reads_again_only_the_refusals_whose_blocking_parent_changed(world):
    engine, store, sandbox = world
    # Nothing changed: no pending refusal is read, however many there are.
    idle = sync(engine, store, "sync-1")
    assert idle.pending_reextracted == 0
    assert extracted(idle) == dict.fromkeys(RESOURCES, 0)

    # C2 fixed in the ERP: the sync reads it as a change, and again the contract it blocked
    # and that contract's invoice; C3's tree and JAN-4 (unchanged) are not read.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE erp.customers SET country_code = 'DE', updated_at = :at "
                "WHERE cust_no = 'C2'"
            ),
            {"at": dt.datetime(2024, 3, 1, 9)},
        )
    fixed = sync(engine, store, "sync-2")
    assert fixed.pending_reextracted == 2
    assert fixed.invoice_months == ["2024-01"]  # a closed month's invoice: the sync locks it
    # (with the plan the contract names and its product: referenced data of the records read)
    assert extracted(fixed) == dict.fromkeys(RESOURCES, 0) | {
        "products": 1,
        "plans": 1,
        "customers": 1,
        "subscriptions": 1,
        "invoices": 1,
    }
    held = sandbox.dump()
    assert "C2" in held["customers"] and "K2" in held["subscriptions"]
    assert held["invoices"]["JAN-2"]["customer_id"] == "C2"
    assert pending(store) == {"C3", "K3", "JAN-3", "JAN-4"}

    # The next sync reads nothing again; the monthly run still reads every pending record.
    assert sync(engine, store, "sync-3").pending_reextracted == 0
    close = load_month(engine, store, "jan-again", "2024-01", now=NOW, watermark=EXACT)
    assert close.pending_reextracted == 4
