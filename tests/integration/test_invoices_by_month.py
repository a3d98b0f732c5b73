"""The audit's split of a run's invoices and credit notes by issue month, and the month's net
revenue (invoices minus credit notes), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from fincome_airflow.audit.revenue import month_revenue
from fincome_airflow.audit.run_counts import by_issue_month
from fincome_airflow.audit.summary import build_summary, readable
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


def _staged(
    record_id: str, issued: str, amount: str, currency: str = "CHF", resource: str = "invoices"
) -> dict:
    return {
        "run_key": RUN, "resource": resource, "record_id": record_id, "action": "upsert",
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

    assert by_issue_month(store, RUN, "invoices") == {
        "2026-09": {"loaded": 1, "loaded_net": {"EUR": "7.25"}, "in_fincome": 0,
                    "in_fincome_net": {}},
        "2026-10": {"loaded": 1, "loaded_net": {"CHF": "100.00"}, "in_fincome": 1,
                    "in_fincome_net": {"CHF": "50.50"}},
    }  # fmt: skip


def test_the_months_net_revenue_is_its_invoices_minus_its_credit_notes_held_in_fincome(store):
    """October: invoices of CHF 150.50 (one loaded now, one held already) and EUR 80.00; credit
    notes of CHF 20.25 (loaded now) and CHF 5.00 (held already), one refused by Fincome, one of
    September (a late change: not October's revenue)."""
    store.insert_rows(
        schema.staged,
        [
            _staged("INV-1", "2026-10-03", "100.00"),
            _staged("INV-2", "2026-10-20", "50.50"),
            _staged("INV-5", "2026-10-21", "80.00", "EUR"),
            _staged("CN-1", "2026-10-05", "20.25", resource="credit_notes"),
            _staged("CN-2", "2026-10-06", "5.00", resource="credit_notes"),
            _staged("CN-3", "2026-10-07", "9.99", resource="credit_notes"),
            _staged("CN-4", "2026-09-30", "3.00", resource="credit_notes"),
        ],
    )
    at = utcnow()
    sent = [
        ("invoices", "INV-1", "created"),
        ("invoices", "INV-5", "created"),
        ("credit_notes", "CN-1", "created"),
        ("credit_notes", "CN-3", "rejected"),
        ("credit_notes", "CN-4", "updated"),
    ]
    store.insert_rows(
        schema.outcomes,
        [
            {"run_key": RUN, "resource": res, "record_id": rid, "outcome": outcome, "at": at}
            for res, rid, outcome in sent
        ],
    )
    store.insert_rows(
        schema.ledger,
        [
            {"resource": res, "record_id": rid, "payload_hash": f"h-{rid}", "deleted": False,
             "run_key": "earlier", "confirmed_at": at}
            for res, rid in (("invoices", "INV-2"), ("credit_notes", "CN-2"))
        ],
    )  # fmt: skip

    credit_notes = by_issue_month(store, RUN, "credit_notes")
    assert credit_notes == {
        "2026-09": {"loaded": 1, "loaded_net": {"CHF": "3.00"}, "in_fincome": 0,
                    "in_fincome_net": {}},
        "2026-10": {"loaded": 1, "loaded_net": {"CHF": "20.25"}, "in_fincome": 1,
                    "in_fincome_net": {"CHF": "5.00"}},
    }  # fmt: skip
    revenue = month_revenue(by_issue_month(store, RUN, "invoices"), credit_notes, "2026-10")
    assert revenue == {
        "gross": {"CHF": "150.50", "EUR": "80.00"},
        "credited": {"CHF": "25.25"},
        "net": {"CHF": "125.25", "EUR": "80.00"},
    }
    plan = {"run_key": RUN, "month": "2026-10", "dry_run": False, "send": True, "resources": []}
    summary = build_summary(plan, None, {}, {}, None, store)
    assert summary["revenue"] == revenue
    assert summary["credit_notes_by_month"] == credit_notes
    text = readable(summary)
    assert "    loaded this run:      1 credit note, CHF 20.25" in text
    assert (
        "  revenue of 2026-10 in Fincome: gross CHF 150.50 · EUR 80.00; credited CHF 25.25; "
        "net CHF 125.25 · EUR 80.00"
    ) in text


def test_a_dry_run_counts_each_resources_deletions_and_balances(store):
    """A credit note and an invoice cancelled in the ERP after they were sent: the dry run's
    deletion steps would delete them, each counted on its own resource."""
    plan = {"run_key": RUN, "month": "2026-10", "dry_run": True, "send": False, "resources": []}
    stage = {"counts": {r: {"extracted": 1, "valid": 0} for r in ("invoices", "credit_notes")}}
    deletions = {"invoices": {"would_delete": 1}, "credit_notes": {"would_delete": 1}}
    summary = build_summary(plan, stage, {}, deletions, None, store)
    for resource in ("invoices", "credit_notes"):
        counts = summary["resources"][resource]
        assert counts["deleted"] == 1 and counts["balanced"], (resource, counts)
