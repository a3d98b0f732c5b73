"""``fincome_monthly_load`` end to end: ``airflow dags test`` against the sandbox over real HTTP.

The demo ERP (every defect kind, October 2026) in SQLite or PostgreSQL, a state database of the
same kind, and what the sandbox holds afterwards compared field by field with an independent
reading of the ERP (``support/erp_truth.py``). Each ``dags test`` takes ~10 s, so one test
walks several runs in a row.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from support.dag_runs import LENIENT, MONTH, MonthlyLoad, RunResult, ok, writes
from support.erp import fill_demo_erp
from support.erp_truth import (
    NEVER_SENT,
    RESOURCES,
    Scope,
    assert_holds,
    erp_timestamp,
    expected_fincome,
    month_scope,
    read_erp,
    refused_ids,
    update_erp,
)

pytestmark = pytest.mark.timeout(600)


def assert_balanced(result: RunResult) -> None:
    unbalanced = {r: c for r, c in result.resources.items() if not c["balanced"]}
    assert not unbalanced, unbalanced


def refused_in(scope_ids: dict[str, set[str]], refused: dict[str, set[str]]) -> dict[str, set]:
    return {r: scope_ids[r] & refused[r] for r in RESOURCES}


def reasons_in_scope(manifest: dict[str, Any], scope: Scope) -> list[str]:
    """The manifest's reason code of each refused record the load takes (the kinds that may be
    refused for a consequence of their defect instead, e.g. an orphan invoice's contract of
    another customer, left out: their code is not certain)."""
    return [
        kind["reason"]
        for kind in manifest["dirty"].values()
        if kind["outcome"] == "rejected" and not kind["consequences"]
        for entry in kind["records"]
        if entry["id"] in scope.ids(kind["resource"])
    ]


def rejects_file_ids(result: RunResult, outcome: str = "rejected") -> dict[str, set[str]]:
    """The ids the run's rejects file lists with ``outcome`` (rejected, or blocked)."""
    ids: dict[str, set[str]] = {r: set() for r in RESOURCES}
    rejects_file = ObjectStoragePath(result.summary["rejects_file"])  # FINCOME_REPORTS_URL
    with rejects_file.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            assert row["outcome"] in ("rejected", "blocked"), row
            if row["outcome"] == outcome:
                ids[row["resource"]].add(row["id"])
    return ids


def test_first_run_rerun_changed_row_and_cancellation(
    databases, sandbox, monthly_load: Callable[..., MonthlyLoad]
):
    erp_url, state_url = databases
    manifest = fill_demo_erp(erp_url)
    refused = refused_ids(manifest)
    now = dt.datetime.now(dt.UTC)
    # Drafts edited this month: in the load's scope (updated since its start), never sent.
    drafts = update_erp(
        erp_url,
        "UPDATE {erp}invoices SET updated_at = :at WHERE doc_status = 'DRAFT'",
        at=erp_timestamp(now - dt.timedelta(hours=2)),
    )
    assert drafts > 0
    load = monthly_load(erp_url, state_url, sandbox)

    # 1. First run: exactly what the ERP month calls for, each record sent once.
    first = ok(load.run(MONTH, **LENIENT))
    erp = read_erp(erp_url)
    scope = month_scope(erp, MONTH)
    statuses = {erp.invoices[no]["doc_status"] for no in scope.invoices}
    assert {"DRAFT", "CANCELLED"} <= statuses  # the cases this test is about are in scope
    refused_here = refused_in({r: scope.ids(r) for r in RESOURCES}, refused)
    assert all(v for r, v in refused_here.items() if r != "products"), refused_here
    blocked_here = refused_in(
        {r: scope.ids(r) for r in RESOURCES}, refused_ids(manifest, "blocked")
    )
    assert blocked_here["credit_notes"], blocked_here  # the credit note of a refused invoice
    expected = expected_fincome(erp, scope, refused)
    assert_holds(sandbox, expected)
    dump = sandbox.dump()
    for resource in RESOURCES:
        assert not refused_here[resource] & set(dump[resource])
    assert not {no for no in dump["invoices"] if erp.invoices[no]["doc_status"] in NEVER_SENT}
    assert writes(sandbox) == {f"POST /{r}": len(expected[r]) for r in RESOURCES}
    assert first.status == "done"
    assert first.counts("created") == {r: len(expected[r]) for r in RESOURCES}
    assert first.counts("updated") == dict.fromkeys(RESOURCES, 0)
    assert first.counts("failed") == dict.fromkeys(RESOURCES, 0)
    assert first.counts("rejected") == {r: len(refused_here[r]) for r in RESOURCES}
    assert first.counts("blocked") == {r: len(blocked_here[r]) for r in RESOURCES}
    assert_balanced(first)
    assert rejects_file_ids(first) == refused_here
    assert rejects_file_ids(first, "blocked") == blocked_here
    assert first.summary["reconciliation"]["verdict"] == "reconciled"
    assert sandbox.api_key not in first.log

    # 2. Rerun: nothing changed, nothing sent.
    sandbox.reset_stats()
    rerun = ok(load.run(MONTH, **LENIENT))
    assert writes(sandbox) == {}
    for key in ("created", "updated", "deleted", "failed"):
        assert rerun.counts(key) == dict.fromkeys(RESOURCES, 0), key
    assert rerun.counts("unchanged")["invoices"] > 0
    assert_balanced(rerun)
    assert_holds(sandbox, expected)

    # 3. A payment recorded and a credited invoice cancelled in the ERP: those two go out, the
    # credit note deleted first (Fincome refuses to delete a credited invoice), nothing else.
    sent = sorted(
        no for no, inv in expected["invoices"].items() if inv["issue_date"].startswith(MONTH)
    )
    credits = Counter(note["invoice_id"] for note in expected["credit_notes"].values())
    paid = next(no for no in sent if erp.invoices[no]["doc_status"] == "ISSUED")
    cancelled = next(no for no in sent if no != paid and credits[no] == 1)
    at = erp_timestamp(now - dt.timedelta(hours=1))
    for number, status in ((paid, "PAID"), (cancelled, "CANCELLED")):
        changed = update_erp(
            erp_url,
            "UPDATE {erp}invoices SET doc_status = :status, updated_at = :at "
            "WHERE invoice_no = :no",
            status=status,
            at=at,
            no=number,
        )
        assert changed == 1
    sandbox.reset_stats()
    change = ok(load.run(MONTH, **LENIENT))
    routes = writes(sandbox)
    assert routes.pop("POST /invoices") == 1, routes
    deletes = sorted((route.split()[0], route.split("/")[1], n) for route, n in routes.items())
    assert deletes == [("DELETE", "credit_notes", 1), ("DELETE", "invoices", 1)], routes
    assert sandbox.dump()["invoices"][paid]["status"] == "paid"
    assert cancelled not in sandbox.dump()["invoices"]
    assert cancelled not in {n["invoice_id"] for n in sandbox.dump()["credit_notes"].values()}
    assert_holds(sandbox, expected_fincome(read_erp(erp_url), scope, refused))
    none = dict.fromkeys(RESOURCES, 0)
    assert change.counts("updated") == {**none, "invoices": 1}
    assert change.counts("deleted") == {**none, "invoices": 1, "credit_notes": 1}
    assert change.counts("created") == dict.fromkeys(RESOURCES, 0)
    assert_balanced(change)


def test_dry_run_reject_gate_and_resource_subset(
    tmp_path, sandbox, monthly_load: Callable[..., MonthlyLoad]
):
    """SQLite only: the options of the trigger form, then the full load they lead up to."""
    erp_url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    manifest = fill_demo_erp(erp_url)
    refused = refused_ids(manifest)
    erp = read_erp(erp_url)
    scope = month_scope(erp, MONTH)
    expected = expected_fincome(erp, scope, refused)
    load = monthly_load(erp_url, f"sqlite:///{tmp_path / 'state.sqlite'}", sandbox)

    # A dry run sends nothing and reports what a load would create.
    dry = ok(load.run(MONTH, dry_run=True, **LENIENT))
    assert writes(sandbox) == {}
    assert dry.summary["dry_run"] is True
    assert dry.status == "dry_run"
    assert dry.counts("created") == {r: len(expected[r]) for r in RESOURCES}
    assert_balanced(dry)

    # Above max_reject_ratio: fails before any send, naming the most frequent reasons.
    gated = load.run(MONTH, max_reject_ratio=0.01)
    assert gated.returncode != 0
    assert writes(sandbox) == {}
    assert "nothing was sent" in gated.log, gated.tail()
    named = re.search(r"Most frequent reasons: (.+?)\. Details in (\S+?);", gated.log)
    assert named, gated.tail()
    # the most frequent reason is named first, with at least as many records as any other
    top_reason, top_count = gated.summary["top_reject_reasons"][0]
    assert top_count >= max(Counter(reasons_in_scope(manifest, scope)).values())
    assert named.group(1).startswith(f"{top_reason} (")
    assert ObjectStoragePath(named.group(2)).is_file()
    assert gated.status == "failed"
    # The audit of the stopped run keeps the extraction's counts, reasons and rejects file.
    assert gated.summary["rejects_file"] == named.group(2)
    assert gated.summary["resources"]["invoices"]["extracted"] > 0

    # resources=["customers"]: only customers go out.
    customers = ok(load.run(MONTH, resources=["customers"], **LENIENT))
    assert writes(sandbox) == {"POST /customers": len(expected["customers"])}
    assert_holds(sandbox, {"customers": expected["customers"]})
    assert customers.counts("created") == {
        **dict.fromkeys(RESOURCES, 0),
        "customers": len(expected["customers"]),
    }
    assert_balanced(customers)
    assert customers.status == "partial"  # the watermark stays: the next full run takes all

    # The full load that follows sends the rest, and the customers no second time.
    sandbox.reset_stats()
    ok(load.run(MONTH, **LENIENT))
    routes = writes(sandbox)
    assert "POST /customers" not in routes, routes
    assert routes == {f"POST /{r}": len(expected[r]) for r in RESOURCES if r != "customers"}
    assert_holds(sandbox, expected)
