"""The ERP generator's products, plans and credit notes, without a database.

The existing tables must not move: their rows are hashed and compared with the hashes the
generator gave before it knew the billing model (same seeds, same options).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from decimal import Decimal

import pycountry
import pytest
from support.erp import by_id, collect

from fincome_airflow.reasons import REASON_CODES
from fincome_erp.config import GeneratorConfig
from fincome_erp.dirty import BILLING_DIRTY_KINDS, CREDIT_NOTE_KINDS, DIRTY_KINDS
from fincome_erp.months import Month
from fincome_erp.presets import DEMO

EXISTING = ("customers", "contracts", "invoices", "invoice_lines")
ISO_CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)

#: sha256 (first 16 hex digits) of each existing table's rows, in generation order, as the
#: generator wrote them before products, plans and credit notes existed (commit 3ca033e).
HASHES_BEFORE = {
    "demo": {
        "customers": "560c067a5ba47ce6",
        "contracts": "8264ef8cfdb5f05b",
        "invoices": "0d9c8cda4ca3277d",
        "invoice_lines": "a36f3988c69ae9a7",
    },
    "two months, 5,000 invoices": {
        "customers": "d23b593085dbd37f",
        "contracts": "f9fad6a45ea852fc",
        "invoices": "d072094930be4f97",
        "invoice_lines": "6173e4c48bbe478e",
    },
    "clean, 400 a month": {
        "customers": "f9f6c618f3e6edbe",
        "contracts": "1df6d05842b227b5",
        "invoices": "5a0ea97be62baf90",
        "invoice_lines": "479295f422d6c0d6",
    },
}
CONFIGS = {
    "demo": DEMO,
    "two months, 5,000 invoices": GeneratorConfig.build(
        Month(2026, 9), Month(2026, 10), invoices=5000, seed=5
    ),
    "clean, 400 a month": GeneratorConfig.build(invoices_per_month=400, dirty_share=0, seed=3),
}


@pytest.fixture(scope="module")
def medium():
    """20,000 invoices over 2026-08..2026-10 with the default 5 % dirty share."""
    return collect(GeneratorConfig.build(invoices=20_000, seed=7))


def cents(amount) -> int:
    return int(Decimal(amount) * 100)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_existing_tables_hold_the_same_rows_as_before_the_billing_model(name):
    rows, manifest = collect(CONFIGS[name])
    extra = {entry["id"] for entry in manifest.dirty["contract_unknown_plan"]}
    digests = {}
    for table in EXISTING:
        digest = hashlib.sha256()
        for row in rows[table]:
            if not (table == "contracts" and row[0] in extra):
                digest.update(json.dumps(row).encode() + b"\n")
        digests[table] = digest.hexdigest()[:16]
    assert digests == HASHES_BEFORE[name]
    # the only rows added to an existing table: the contracts of an unknown plan, written last
    assert [row[0] for row in rows["contracts"][-len(extra) :]] == sorted(extra) or not extra


def test_billing_tables_are_the_same_for_the_same_seed_and_differ_for_another():
    config = GeneratorConfig.build(invoices_per_month=300, seed=11)
    first, first_manifest = collect(config)
    again, again_manifest = collect(config)
    other, _ = collect(GeneratorConfig.build(invoices_per_month=300, seed=12))
    assert first == again
    assert first_manifest.to_dict() == again_manifest.to_dict()
    assert first["credit_notes"] != other["credit_notes"]


def test_billing_kinds_name_known_reason_codes_and_stay_apart():
    assert not set(BILLING_DIRTY_KINDS) & set(DIRTY_KINDS)
    for kind in BILLING_DIRTY_KINDS.values():
        assert kind.reason in REASON_CODES, kind.name
        assert kind.outcome in ("rejected", "blocked")
        assert (kind.outcome == "blocked") == (kind.reason == "parent_rejected")


def test_demo_preset_plants_every_billing_kind_and_the_manifest_lists_them(tmp_path):
    rows, manifest = collect(DEMO)
    written = json.loads(manifest.write(tmp_path / "manifest.json").read_text())
    assert set(written["dirty"]) == set(DIRTY_KINDS) | set(BILLING_DIRTY_KINDS)
    assert "billing_dirty" not in written  # the load checks them: listed with the others
    for name, kind in BILLING_DIRTY_KINDS.items():
        entry = written["dirty"][name]
        assert entry["count"] == len(entry["records"]) >= 1, name
        assert (entry["reason"], entry["field"], entry["resource"]) == (
            kind.reason,
            kind.field,
            kind.resource,
        )
    assert written["rows"] == {table: len(table_rows) for table, table_rows in rows.items()}
    assert sum(written["credit_notes_by_status"].values()) == len(rows["credit_notes"])


def test_contracts_name_generated_plans_and_plans_name_generated_products(medium):
    rows, manifest = medium
    plans, products = by_id(rows["plans"]), by_id(rows["products"])
    dirty_contracts = manifest.dirty_ids("subscriptions")
    dirty_plans = manifest.dirty_ids("plans")
    assert {r[2] for r in rows["contracts"] if r[0] not in dirty_contracts} <= set(plans)
    clean_plans = [p for code, p in plans.items() if code not in dirty_plans]
    assert {p[2] for p in clean_plans} <= set(products)
    assert {p[3] for p in clean_plans} == {"MONTH", "QUARTER", "YEAR"}
    assert all(p[5] in ISO_CURRENCIES and Decimal(p[4]) >= 0 for p in clean_plans)


def _credit_note_problems(note, lines, invoices, invoice_lines, credited, as_of):
    _number, invoice_no, cust_no, issued, status, currency, net, tax, _reason, updated = note
    invoice = invoices.get(invoice_no)
    if invoice is None:
        return ["invoice"]
    problems = []
    if invoice[1] != cust_no or invoice[6] != currency or currency not in ISO_CURRENCIES:
        problems.append("customer/currency")
    if not invoice[3] <= issued <= updated[:10] < as_of:
        problems.append("dates")
    if status not in ("DRAFT", "ISSUED", "REFUNDED", "CANCELLED"):
        problems.append("status")
    if cents(net) <= 0 or cents(tax) < 0 or sum(cents(line[6]) for line in lines) != cents(net):
        problems.append("amounts")
    if credited[invoice_no] > cents(invoice[7]):
        problems.append("over credit")
    for line in lines:
        _no, _n, line_no, description, start, end, amount = line
        if cents(amount) <= 0 or not description or len(description) > 1000:
            problems.append("line")
        if line_no is not None:
            invoiced = invoice_lines.get((invoice_no, line_no))
            if invoiced is None or not (invoiced[4] or "") <= (start or "~"):
                problems.append("invoice line")
            elif end is not None and end > invoiced[5]:
                problems.append("period outside the invoice line's")
        if (start is None) != (end is None) or (start is not None and end < start):
            problems.append("period")
    return problems


def test_clean_credit_notes_break_no_rule_of_the_contract(medium):
    rows, manifest = medium
    invoices = by_id(rows["invoices"])
    invoice_lines = {(line[0], line[1]): line for line in rows["invoice_lines"]}
    lines = defaultdict(list)
    for line in rows["credit_note_lines"]:
        lines[line[0]].append(line)
    dirty = manifest.dirty_ids("credit_notes")
    dirty_invoices = manifest.dirty_ids("invoices")
    clean = [note for note in rows["credit_notes"] if note[0] not in dirty]
    credited: dict[str, int] = defaultdict(int)
    for note in clean:
        credited[note[1]] += cents(note[6])
    as_of = manifest.config["as_of"][:10]
    for note in clean:
        assert note[1] not in dirty_invoices, note
        assert invoices[note[1]][5] in ("ISSUED", "PAID", "OVERDUE"), note
        problems = _credit_note_problems(
            note, lines[note[0]], invoices, invoice_lines, credited, as_of
        )
        assert problems == [], note
    numbers = [note[0] for note in rows["credit_notes"]]
    assert len(numbers) == len(set(numbers))


def test_credit_notes_cover_full_partial_refunded_and_later_month_credits(medium):
    rows, manifest = medium
    invoices = by_id(rows["invoices"])
    dirty = manifest.dirty_ids("credit_notes")
    clean = [note for note in rows["credit_notes"] if note[0] not in dirty]
    full = [n for n in clean if n[6] == invoices[n[1]][7]]
    partial = [n for n in clean if cents(n[6]) < cents(invoices[n[1]][7])]
    later = [n for n in clean if n[3][:7] > invoices[n[1]][3][:7]]
    assert full and partial and later
    assert {"DRAFT", "ISSUED", "REFUNDED", "CANCELLED"} == set(manifest.credit_notes_by_status)
    assert 0.02 < len(rows["credit_notes"]) / len(rows["invoices"]) < 0.06
    with_period = [
        line for line in rows["credit_note_lines"] if line[4] is not None and line[0] not in dirty
    ]
    assert with_period and all(line[2] is not None for line in with_period)


@pytest.mark.parametrize("kind", CREDIT_NOTE_KINDS)
def test_each_credit_note_kind_takes_its_share_of_the_credit_notes(medium, kind):
    rows, manifest = medium
    block = round(len(CREDIT_NOTE_KINDS) / 0.05)
    expected = len(rows["credit_notes"]) / block
    assert abs(len(manifest.dirty[kind]) - expected) <= 2


BILLING_CHECKS = {
    "credit_note_over_credit": lambda n, inv, _l: cents(n[6]) > cents(inv[7]),
    "credit_note_currency_mismatch": lambda n, inv, _l: n[5] != inv[6],
    "credit_note_before_invoice": lambda n, inv, _l: n[3] < inv[3],
    "credit_note_lines_do_not_add_up": lambda n, _inv, lines: (
        sum(cents(line[6]) for line in lines) != cents(n[6])
    ),
}


def test_each_billing_dirty_record_carries_its_defect(medium):
    rows, manifest = medium
    invoices, plans = by_id(rows["invoices"]), by_id(rows["plans"])
    contracts, products = by_id(rows["contracts"]), by_id(rows["products"])
    notes = by_id(rows["credit_notes"])
    invoice_lines = {(line[0], line[1]): line for line in rows["invoice_lines"]}
    lines = defaultdict(list)
    for line in rows["credit_note_lines"]:
        lines[line[0]].append(line)
    rejected_invoices = {
        entry["id"]
        for name, entries in manifest.dirty.items()
        if name in DIRTY_KINDS and DIRTY_KINDS[name].outcome == "rejected"
        for entry in entries
    }
    first_month = manifest.config["months"][0]
    for name in BILLING_DIRTY_KINDS:
        entries = manifest.dirty[name]
        assert entries, f"{name} never planted"
        for entry in entries:
            if name == "contract_unknown_plan":
                row = contracts[entry["id"]]
                assert row[2] not in plans and row[9][:7] < first_month
                assert row[0] not in {invoice[2] for invoice in invoices.values()}
                continue
            if name.startswith("plan_"):
                row = plans[entry["id"]]
                ok = row[2] not in products if name == "plan_unknown_product" else row[3] == "WEEK"
                assert ok, (name, row)
                continue
            note = notes[entry["id"]]
            assert note[4] in ("ISSUED", "REFUNDED"), (name, note)
            assert entry["invoice_no"] == note[1]
            if name == "credit_note_unknown_invoice":
                assert note[1] not in invoices
                assert all(line[2] is None for line in lines[note[0]])
            elif name == "credit_note_of_refused_invoice":
                assert note[1] in rejected_invoices
                assert entry["blocked_by"] == f"invoices/{note[1]}"
                credited = {note[1]: cents(note[6])}
                as_of = manifest.config["as_of"][:10]
                problems = _credit_note_problems(
                    note, lines[note[0]], invoices, invoice_lines, credited, as_of
                )
                assert problems == [], note  # only blocked: clean but for its invoice
            else:
                assert BILLING_CHECKS[name](note, invoices[note[1]], lines[note[0]]), (name, note)


def test_credit_notes_are_dated_before_the_snapshot(medium):
    rows, manifest = medium
    as_of = dt.datetime.fromisoformat(manifest.config["as_of"])
    assert all(
        note[9] < str(as_of) and note[3] < str(as_of.date()) for note in rows["credit_notes"]
    )
