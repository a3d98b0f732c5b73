"""The load and delete operators end to end: SQLite state DB, the sandbox over real HTTP."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select
from support.connections import fincome_conn_json, sqlite_conn_json
from support.staging import stage_records

from fincome_airflow.exceptions import FincomeConfigError
from fincome_airflow.operators import FincomeDeleteOperator, FincomeLoadOperator
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore

KNOWN_KEY = "sk_sandbox_KNOWN_KEY_7f3a9c"
RUN = "scheduled__2026-03-01T02:00:00+00:00"


@pytest.fixture
def fincome(sandbox_factory, tmp_path, monkeypatch):
    sandbox = sandbox_factory(api_key=KNOWN_KEY, error_rate=0.15, latency_ms=5, seed=11)

    def connect(api_key: str = KNOWN_KEY) -> None:
        settings = {"requests_per_second": 200, "max_concurrency": 6, "timeout": 5}
        conn = fincome_conn_json(api_key, settings, host=sandbox.base_url)
        monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn)

    connect()
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))
    sandbox.connect = connect
    return sandbox


@pytest.fixture
def store(fincome, tmp_path) -> StateStore:
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    store.ensure_schema()
    return store


def stage(store, resource, payloads, *, run_key=RUN, action="upsert"):
    records = ((payload["id"], payload) for payload in payloads)
    stage_records(store, resource, records, run_key=run_key, action=action)


CUSTOMERS = [{"id": f"cus_{i:03d}", "name": f"Customer {i}", "country": "FR"} for i in range(30)]
ORPHAN_INVOICE = {
    "id": "inv_orphan",
    "customer_id": "cus_000",
    "subscription_id": "sub_missing",
    "issue_date": "2026-02-01",
    "status": "paid",
    "currency": "EUR",
    "net_amount": "99.00",
}


def load(resource: str, **kwargs) -> dict:
    op = FincomeLoadOperator(
        task_id=f"load_{resource}", resource=resource, run_key=RUN, progress_interval=0, **kwargs
    )
    return op.execute({})


def test_load_then_reload_sends_nothing_twice(fincome, store):
    stage(store, "customers", CUSTOMERS)

    first = load("customers", month="2026-02")
    fincome.reset_stats()
    second = load("customers")

    assert first["created"] == 30 and first["failed"] == 0
    assert first["retries"] == fincome_errors(first)
    assert sorted(fincome.dump()["customers"]) == [c["id"] for c in CUSTOMERS]
    assert (second["to_send"], second["unchanged"]) == (0, 30)
    assert fincome.stats()["total_requests"] == 0


def fincome_errors(audit: dict) -> int:
    return audit["requests"] - audit["created"] - audit["updated"] - audit["rejected"]


def test_rejected_invoice_is_recorded_with_its_reason(fincome, store):
    stage(store, "customers", CUSTOMERS[:1])
    stage(store, "invoices", [ORPHAN_INVOICE])
    load("customers")

    audit = load("invoices")

    assert audit["rejected"] == 1
    with store.begin() as conn:
        row = conn.execute(
            select(schema.outcomes).where(schema.outcomes.c.record_id == "inv_orphan")
        ).one()
    assert row.http_status == 422
    assert "subscription_id" in row.reason


def test_delete_operator_removes_what_was_sent(fincome, store):
    stage(store, "customers", CUSTOMERS[:5])
    load("customers")
    stage(store, "customers", CUSTOMERS[:3], run_key="del")

    audit = FincomeDeleteOperator(
        task_id="delete_customers", resource="customers", run_key="del"
    ).execute({})

    assert audit["to_delete"] == 0  # staged as upserts, nothing to delete
    stage(
        store,
        "customers",
        [{"id": c["id"]} for c in CUSTOMERS[:3]],
        run_key="del2",
        action="delete",
    )
    audit = FincomeDeleteOperator(
        task_id="delete_customers", resource="customers", run_key="del2"
    ).execute({})
    assert audit["deleted"] + audit["absent"] == 3
    assert sorted(fincome.dump()["customers"]) == ["cus_003", "cus_004"]


def test_a_run_leaves_no_trace_of_the_api_key(fincome, store, capsys, caplog):
    stage(store, "customers", CUSTOMERS)
    stage(store, "invoices", [ORPHAN_INVOICE])
    caplog.set_level(logging.DEBUG)
    xcoms = [load("customers"), load("invoices")]
    fincome.connect("sk_wrong_" + KNOWN_KEY)  # a key that contains the real one
    stage(store, "customers", [{"id": "cus_new", "name": "New"}], run_key="second")

    with pytest.raises(FincomeConfigError) as excinfo:
        FincomeLoadOperator(task_id="t", resource="customers", run_key="second").execute({})

    captured = capsys.readouterr()
    everything = "\n".join(
        [captured.out, captured.err, caplog.text, json.dumps(xcoms), str(excinfo.value)]
    )
    assert KNOWN_KEY not in everything
    assert "created 30" in everything  # the logs were captured indeed
    with store.begin() as conn:
        outcomes = [dict(r) for r in conn.execute(select(schema.outcomes)).mappings()]
    assert KNOWN_KEY not in json.dumps(outcomes, default=str)
