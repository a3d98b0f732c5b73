"""The audit's split of a run's invoices by issue month, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from fincome_airflow.audit.run_counts import invoices_by_month
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore, utcnow

RUN = "fincome_monthly_load/manual__1"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> StateStore:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
    else:
        url = request.getfixturevalue("create_pg_database")("state")
    store = StateStore.from_url(url)
    store.ensure_schema()
    yield store
    store.engine.dispose()


def _staged(record_id: str, issued: str, amount: str, currency: str = "CHF") -> dict:
    return {
        "run_key": RUN, "resource": "invoices", "record_id": record_id, "action": "upsert",
        "payload": json.dumps({"id": record_id, "issue_date": issued}),
        "payload_hash": f"h-{record_id}", "currency": currency, "net_amount": amount,
    }  # fmt: skip


def test_invoices_split_loaded_this_run_already_in_fincome_and_other_months(store):
    store.insert_rows(
        schema.staged,
        [
            _staged("INV-1", "2026-10-03", "100.00"),  # sent now: created
            _staged("INV-2", "2026-10-20", "50.50"),  # unchanged: Fincome holds this payload
            _staged("INV-3", "2026-09-30", "7.25", "EUR"),  # a late change: updated
            _staged("INV-4", "2026-10-21", "9.00"),  # refused by Fincome: neither
        ],
    )
    at = utcnow()
    store.insert_rows(
        schema.outcomes,
        [
            {"run_key": RUN, "resource": "invoices", "record_id": rid, "outcome": outcome, "at": at}
            for rid, outcome in (("INV-1", "created"), ("INV-3", "updated"), ("INV-4", "rejected"))
        ],
    )
    store.insert_rows(
        schema.ledger,
        [
            {"resource": "invoices", "record_id": "INV-2", "payload_hash": "h-INV-2",
             "deleted": False, "run_key": "earlier", "confirmed_at": at},
        ],
    )  # fmt: skip

    assert invoices_by_month(store, RUN) == {
        "2026-09": {"loaded": 1, "loaded_net": {"EUR": "7.25"}, "in_fincome": 0,
                    "in_fincome_net": {}},
        "2026-10": {"loaded": 1, "loaded_net": {"CHF": "100.00"}, "in_fincome": 1,
                    "in_fincome_net": {"CHF": "50.50"}},
    }  # fmt: skip
