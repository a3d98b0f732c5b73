"""Reconciliation against the sandbox over real HTTP: a clean month reconciles; records deleted,
edited or added by hand in Fincome are found with the right kind and amount; a record the run
refused is reported as refused, not missing; a full resync repairs hand edits; credit notes are
compared per record and per currency, plans and products per record."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from decimal import Decimal

import pytest
import requests
from sqlalchemy import text
from support.connections import fincome_conn_json
from support.staging import load_month, stage_records

from fincome_airflow.contract import RESOURCES
from fincome_airflow.engines import erp_engine
from fincome_airflow.hooks.fincome import FincomeHook
from fincome_airflow.load.send_loops import load_resource
from fincome_airflow.month import BillingMonth
from fincome_airflow.reconcile import late
from fincome_airflow.reconcile.reconcile_month import reconcile_month, stored_verdict
from fincome_airflow.state.ledger import Ledger
from fincome_airflow.state.rejects import record_rejects
from fincome_airflow.state.store import StateStore
from fincome_erp.cli import main as erp_main

OCTOBER, NOVEMBER = BillingMonth(2026, 10), BillingMonth(2026, 11)
NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def erp_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("erp") / "erp.sqlite"
    assert erp_main(["demo", "--url", f"sqlite:///{path}"]) == 0
    return f"sqlite:///{path}"


@pytest.fixture
def world(erp_url, sandbox, tmp_path, monkeypatch):
    """A month staged and loaded into an empty sandbox; returns a runner for later runs."""
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", _conn(sandbox))
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.sqlite'}")
    engine = erp_engine(erp_url)
    runs = iter(range(1, 100))

    def run(*, full_resync: bool = False) -> tuple[str, dict]:
        run_key = f"test/run-{next(runs)}"
        load_month(engine, store, run_key, OCTOBER, now=NOW, full_resync=full_resync)
        path = tmp_path / f"{run_key[5:]}.csv"
        return run_key, reconcile_month(FincomeHook(), store, run_key, OCTOBER, path)

    return sandbox, store, run


def _conn(sandbox) -> str:
    extra = {"max_concurrency": 8, "retry_budget": 10}
    return fincome_conn_json(sandbox.api_key, extra, host=sandbox.base_url)


def _api(sandbox, method: str, path: str, body: dict | None = None) -> requests.Response:
    headers = {"X-API-KEY": sandbox.api_key}
    return requests.request(method, sandbox.base_url + path, json=body, headers=headers, timeout=5)


def _differences(result: dict, kind: str) -> list[dict]:
    return [d for d in result["largest"] if d["kind"] == kind]


def test_a_clean_month_reconciles_and_refused_records_are_reported_as_refused(world):
    _sandbox, store, run = world
    run_key, result = run()
    assert result["verdict"] == "reconciled", result
    assert result["by_kind"].get("refused", 0) > 0  # the demo month has rejected invoices
    assert stored_verdict(store, run_key)["verdict"] == "reconciled"
    with open(result["file"], encoding="utf-8") as fh:
        rows = fh.read().splitlines()
    assert rows[0].startswith("resource,record_id,kind")
    assert all(",refused," in row for row in rows[1:])


def test_records_changed_by_hand_in_fincome_are_found_with_kind_and_amount(world):
    sandbox, _store, run = world
    run()
    invoices = sandbox.dump()["invoices"]
    month = sorted(i for i, r in invoices.items() if r["issue_date"].startswith("2026-10"))
    deleted, edited = month[0], month[1]
    deleted_amount = Decimal(invoices[deleted]["net_amount"])
    assert _api(sandbox, "DELETE", f"/invoices/{deleted}").status_code == 204
    body = {k: v for k, v in invoices[edited].items() if k not in ("created_at", "updated_at")}
    body.update(net_amount=str(Decimal(body["net_amount"]) + 100), lines=None, status="open")
    body = {k: v for k, v in body.items() if v is not None}
    assert _api(sandbox, "POST", "/invoices", body).status_code == 200
    extra = {**body, "id": "HAND-MADE-1", "number": "HAND-MADE-1", "net_amount": "42.00"}
    assert _api(sandbox, "POST", "/invoices", extra).status_code == 201

    _run_key, result = run()
    assert result["differences"] == 3, result
    assert result["by_kind"]["missing"] == 1
    assert result["by_kind"]["differs"] == 1
    assert result["by_kind"]["extra"] == 1
    largest = {d["record_id"]: d for d in result["largest"]}
    assert Decimal(largest[deleted]["amount_at_stake"]) == deleted_amount
    assert largest[edited]["kind"] == "differs"
    assert Decimal(largest[edited]["amount_at_stake"]) == Decimal(100)
    assert set(largest[edited]["fields"].split(",")) >= {"net_amount", "status"}
    assert largest["HAND-MADE-1"]["kind"] == "extra"
    assert Decimal(largest["HAND-MADE-1"]["amount_at_stake"]) == Decimal(42)

    # An ordinary rerun sends nothing (the ledger is unchanged); a full resync repairs.
    _run_key, result = run(full_resync=True)
    assert result["by_kind"].get("missing", 0) == 0
    assert result["by_kind"].get("differs", 0) == 0
    assert _differences(result, "extra")[0]["record_id"] == "HAND-MADE-1"  # not ours to delete


@pytest.mark.parametrize("read", ["one by one", "through the month's list"])
def test_a_late_change_to_an_older_month_that_fincome_refuses_is_named_by_the_next_run(
    read, erp_url, sandbox, tmp_path, monkeypatch
):
    """October is loaded; in November an October invoice is paid in the ERP, but its
    subscription was deleted by hand in Fincome, so Fincome refuses the update. November's
    reconciliation checks October's sent invoice too and names it."""
    if read != "one by one":
        monkeypatch.setattr(late, "GET_LIMIT", 0)
    erp_copy = tmp_path / "erp.sqlite"
    shutil.copyfile(erp_url.removeprefix("sqlite:///"), erp_copy)
    engine = erp_engine(f"sqlite:///{erp_copy}")
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", _conn(sandbox))
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.sqlite'}")
    load_month(engine, store, "october", OCTOBER, now=NOW)
    held = sandbox.dump()["invoices"]
    # an October one (October's load also sent the earlier invoices its credit notes credit)
    invoice = min(
        i for i, r in held.items() if r["status"] == "open" and r["issue_date"] >= "2026-10"
    )
    assert _api(sandbox, "DELETE", f"/subscriptions/{held[invoice]['subscription_id']}").ok
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE erp.invoices SET doc_status = 'PAID', updated_at = '2026-11-20 10:00:00' "
                "WHERE invoice_no = :no"
            ),
            {"no": invoice},
        )

    load_month(engine, store, "november", NOVEMBER, now=NOW)
    result = reconcile_month(FincomeHook(), store, "november", NOVEMBER, tmp_path / "nov.csv")

    assert result["other_months"] == ["2026-10"]
    named = {(d["resource"], d["record_id"]): d for d in result["largest"]}
    assert named[("invoices", invoice)]["kind"] == "differs"
    assert "status" in named[("invoices", invoice)]["fields"]
    assert named[("subscriptions", held[invoice]["subscription_id"])]["kind"] == "missing"
    assert result["verdict"] != "reconciled"


def test_invoices_of_earlier_months_changed_since_are_checked_and_a_rerun_checks_only_its_month(
    world,
):
    _sandbox, _store, run = world
    _run_key, first = run()  # also sends the demo's earlier invoices paid in October
    assert first["other_months"] and all(m < "2026-10" for m in first["other_months"])
    assert first["verdict"] == "reconciled", first
    _run_key, rerun = run()  # sends nothing
    assert rerun["other_months"] == []
    assert rerun["verdict"] == "reconciled", rerun


#: What the sandbox adds to a record it holds (a body sent back may not carry them).
SERVER_FIELDS = ("created_at", "updated_at")


def _body(record: dict, **changes: object) -> dict:
    """A record Fincome holds, as a body to send back with ``changes``."""
    return {k: v for k, v in record.items() if k not in SERVER_FIELDS} | changes


def _net(note: dict, amount: Decimal) -> dict:
    """``note`` with another net amount, without lines (which would no longer add up)."""
    return _body(note, net_amount=f"{amount}", lines=[])


def _late_note(invoices: dict[str, dict]) -> dict:
    """A credit note of an invoice issued before October, dated with it (``CN-LATE``)."""
    earlier = min(i for i, r in invoices.items() if r["issue_date"] < "2026-10")
    invoice = invoices[earlier]
    return {
        "id": "CN-LATE",
        "status": "open",
        "custom_properties": {},
        "net_amount": "0.50",
        "customer_id": invoice["customer_id"],
        "invoice_id": earlier,
        "issue_date": invoice["issue_date"],
        "currency": invoice["currency"],
    }


def test_credit_notes_changed_deleted_or_added_in_fincome_are_found_per_record_and_currency(
    erp_url, sandbox, tmp_path, monkeypatch
):
    """October is loaded with its credit notes, plans and products (staged as the extract
    stages them, sent by the load over HTTP); then in Fincome a credit note's amount is changed,
    one deleted, one added, a plan's price and an earlier month's credit note changed by hand.
    The reconciliation names each record (a credit note the run refused: as refused), and
    October's credit note totals per currency differ by exactly those amounts."""
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", _conn(sandbox))
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.sqlite'}")
    load_month(erp_engine(erp_url), store, "october", OCTOBER, now=NOW)
    held = sandbox.dump()
    october = [n for _, n in sorted(held["credit_notes"].items()) if n["issue_date"] >= "2026-10"]
    currencies = [n["currency"] for n in october]
    main = max(set(currencies), key=currencies.count)
    notes = [n for n in october if n["currency"] == main and Decimal(n["net_amount"]) > 3]
    assert len(notes) >= 3 and len(set(currencies)) >= 2, october  # the demo month holds them
    # a credit note of an earlier month, sent by this run (staged as the extract stages them)
    late_note = _late_note(held["invoices"])
    hook, log = FincomeHook(), logging.getLogger(__name__)
    stage_records(store, "credit_notes", [("CN-LATE", late_note)], run_key="october")
    audit = load_resource(hook, Ledger(store, "october", "credit_notes"), log=log)
    assert audit.get("created") == 1, audit
    blocked = {"run_key": "october", "resource": "credit_notes", "record_id": "CN-BLOCKED",
               "seq": 0, "outcome": "blocked", "reason_code": "parent_refused",
               "message": "its invoice was refused", "blocked_by": "invoices/INV-X"}  # fmt: skip
    with store.begin() as conn:
        record_rejects(conn, [blocked])

    clean = reconcile_month(hook, store, "october", OCTOBER, tmp_path / "clean.csv", RESOURCES)
    assert clean["verdict"] == "reconciled", clean
    with open(clean["file"], encoding="utf-8") as fh:
        assert "credit_notes,CN-BLOCKED,refused,,0,,blocked: parent_refused" in fh.read()
    assert "2026-10" not in clean["other_months"]
    assert late_note["issue_date"][:7] in clean["other_months"]  # sent there: checked too
    expected_main = sum(Decimal(n["net_amount"]) for n in october if n["currency"] == main)
    assert clean["totals"]["credit_notes"][main] == {
        "expected": f"{expected_main:.2f}",
        "held": f"{expected_main:.2f}",
        "difference": "0.00",
    }
    assert len(clean["totals"]["credit_notes"]) == len(set(currencies))  # each apart

    changed, deleted = notes[0], notes[1]
    lowered = Decimal(changed["net_amount"]) - Decimal("2.34")
    answer = _api(sandbox, "POST", "/credit_notes", _net(changed, lowered))
    assert answer.ok, answer.text
    assert _api(sandbox, "DELETE", f"/credit_notes/{deleted['id']}").status_code == 204
    unexpected = {**_net(notes[2], Decimal("1.01")), "id": "CN-BY-HAND", "number": "CN-BY-HAND"}
    assert _api(sandbox, "POST", "/credit_notes", unexpected).status_code == 201
    plan = next(p for _, p in sorted(held["plans"].items()))
    raised = Decimal(plan["amount"]) + 10
    assert _api(sandbox, "POST", "/plans", _body(plan, amount=f"{raised}")).ok
    assert _api(sandbox, "POST", "/credit_notes", {**late_note, "status": "refunded"}).ok

    result = reconcile_month(hook, store, "october", OCTOBER, tmp_path / "edited.csv", RESOURCES)
    named = {(d["resource"], d["record_id"]): d for d in result["largest"]}
    assert result["differences"] == 5, result
    assert named[("credit_notes", changed["id"])]["kind"] == "differs"
    fields = "lines,net_amount" if changed.get("lines") else "net_amount"
    assert named[("credit_notes", changed["id"])]["fields"] == fields
    assert named[("credit_notes", changed["id"])]["amount_at_stake"] == "2.34"
    assert named[("credit_notes", deleted["id"])]["kind"] == "missing"
    assert named[("credit_notes", deleted["id"])]["amount_at_stake"] == deleted["net_amount"]
    assert named[("credit_notes", "CN-BY-HAND")]["kind"] == "extra"
    assert named[("credit_notes", "CN-BY-HAND")]["amount_at_stake"] == "1.01"
    assert named[("plans", plan["id"])]["kind"] == "differs"
    assert named[("plans", plan["id"])]["fields"] == "amount"
    assert named[("credit_notes", "CN-LATE")]["fields"] == "status"
    gone = Decimal("2.34") + Decimal(deleted["net_amount"]) - Decimal("1.01")
    assert result["totals"]["credit_notes"][main] == {
        "expected": f"{expected_main:.2f}",
        "held": f"{expected_main - gone:.2f}",
        "difference": f"{-gone:.2f}",
    }
    other = next(c for c in result["totals"]["credit_notes"] if c != main)
    assert result["totals"]["credit_notes"][other]["difference"] == "0.00"
    assert stored_verdict(store, "october")["totals"] == result["totals"]
