"""The month's Asset: which runs publish it, and the extra its event carries."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fincome_airflow.assets import BILLING_MONTH, event_extra, not_publishable
from fincome_airflow.audit.summary import COUNT_KEYS


def summary(**changes: Any) -> dict[str, Any]:
    counts = dict.fromkeys(COUNT_KEYS, 0) | {"extracted": 5, "created": 4, "rejected": 1}
    base = {
        "month": "2026-10",
        "run_key": "scheduled__2026-10__2026-11-01T00:00:00+00:00",
        "dry_run": False,
        "resources": {
            r: {**counts, "balanced": True, "selected": True, "requests": 9}
            for r in ("customers", "subscriptions", "invoices")
        },
        "net_amount_loaded": {"EUR": "120.00"},
        "invoices_by_month": {
            "2026-10": {
                "loaded": 4,
                "loaded_net": {"EUR": "100.00"},
                "in_fincome": 2,
                "in_fincome_net": {"EUR": "50.00", "CHF": "10.00"},
            },
            "2026-09": {"loaded": 1, "loaded_net": {"EUR": "20.00"}},
        },
        "reconciliation": {"verdict": "reconciled", "differences": 0, "file": "/r.csv"},
        "unfinished_tasks": [],
        "rejects_file": "/rejects.csv",
    }
    return base | changes


def test_the_asset_is_one_named_constant():
    assert BILLING_MONTH.name == "fincome_billing_month"
    assert BILLING_MONTH.uri == "fincome://billing/month"


def test_a_loaded_and_reconciled_month_is_published():
    assert not_publishable(summary()) is None


def unselected_invoices() -> dict[str, Any]:
    changed = copy.deepcopy(summary())
    changed["resources"]["invoices"]["selected"] = False
    return changed


@pytest.mark.parametrize(
    ("run", "reason"),
    [
        pytest.param(summary(dry_run=True), "dry run", id="dry run"),
        pytest.param(
            summary(reconciliation={"verdict": "2 differences", "differences": 2}),
            "2 differences",
            id="differences",
        ),
        pytest.param(summary(reconciliation=None), "not done", id="no reconciliation"),
        pytest.param(summary(unfinished_tasks=["invoices"]), "invoices", id="failed task"),
        pytest.param(unselected_invoices(), "left out invoices", id="some resources"),
    ],
)
def test_month_is_not_published_when_not_loaded_and_reconciled(run, reason):
    assert reason in not_publishable(run)


def test_extra_holds_counts_amounts_and_verdict_of_the_month_only():
    extra = event_extra(summary())

    assert extra["month"] == "2026-10"
    assert extra["verdict"] == "reconciled"
    assert extra["counts"]["invoices"] == {
        "extracted": 5,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "rejected": 1,
    }
    assert extra["invoices"] == 6
    assert extra["net_amount"] == {"CHF": "10.00", "EUR": "150.00"}
    assert extra["net_amount_loaded"] == {"EUR": "120.00"}


def test_extra_stays_small():
    import json

    assert len(json.dumps(event_extra(summary()))) < 1000
