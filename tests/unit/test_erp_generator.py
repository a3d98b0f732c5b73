"""The ERP demo-data generator without a database: determinism, dirty shares, exact manifest."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pycountry
import pytest
from support.erp import by_id, collect

from fincome_airflow.reasons import REASON_CODES
from fincome_erp.config import GeneratorConfig
from fincome_erp.dirty import DIRTY_KINDS, KINDS_BY_RESOURCE, DirtySchedule
from fincome_erp.months import Month
from fincome_erp.presets import DEMO
from fincome_erp.writers.postgres import csv_field

ISO_CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
ISO_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)
RESOURCE_TABLE = {"customers": "customers", "subscriptions": "contracts", "invoices": "invoices"}


@pytest.fixture(scope="module")
def medium():
    """20,000 invoices over 2026-08..2026-10 with the default 5 % dirty share."""
    return collect(GeneratorConfig.build(invoices=20_000, seed=7))


def test_generate_writes_the_same_rows_and_manifest_when_the_seed_is_the_same():
    config = GeneratorConfig.build(invoices_per_month=300, seed=11)
    first_rows, first_manifest = collect(config)
    again_rows, again_manifest = collect(config)
    assert first_rows == again_rows
    assert first_manifest.to_dict() == again_manifest.to_dict()


def test_generate_writes_other_rows_when_the_seed_differs():
    rows_a, manifest_a = collect(GeneratorConfig.build(invoices_per_month=300, seed=11))
    rows_b, manifest_b = collect(GeneratorConfig.build(invoices_per_month=300, seed=12))
    assert rows_a["invoices"] != rows_b["invoices"]
    assert manifest_a.dirty != manifest_b.dirty


def test_generate_dates_exactly_the_invoices_asked_for_in_each_month():
    config = GeneratorConfig.build(Month(2026, 8), Month(2026, 11), invoices=1003, seed=3)
    rows, manifest = collect(config)
    assert len(rows["invoices"]) == 1003
    assert dict(manifest.invoices_by_month) == {
        "2026-08": 251,
        "2026-09": 251,
        "2026-10": 251,
        "2026-11": 250,
    }
    assert manifest.rows["invoices"] == 1003


def test_generate_gives_unique_realistic_invoice_numbers(medium):
    rows, _ = medium
    numbers = [row[0] for row in rows["invoices"]]
    assert len(numbers) == len(set(numbers))
    assert all(n.upper().startswith("INV-2026-") and len(n) == 15 for n in numbers)
    assert len({(row[0], row[1]) for row in rows["invoice_lines"]}) == len(rows["invoice_lines"])


def test_dirty_kinds_name_known_reason_codes():
    for kind in DIRTY_KINDS.values():
        if kind.outcome == "rejected":
            assert kind.reason in REASON_CODES, kind.name
        else:
            assert kind.reason is None
        assert set(kind.consequences) <= REASON_CODES
    assert len(DIRTY_KINDS) >= 20


@pytest.mark.parametrize("resource", sorted(KINDS_BY_RESOURCE))
def test_every_dirty_kind_appears_in_the_share_asked_for(medium, resource):
    """Each kind takes ``share / kinds`` of its resource's rows, to within 2 records.

    The schedule plants every kind exactly once per block of ``round(kinds / share)`` draws,
    so a kind is off by at most one for the last, partial block, plus one for a kind deferred
    because it could not be planted yet (a duplicate before any clean original exists).
    """
    rows, manifest = medium
    kinds = KINDS_BY_RESOURCE[resource]
    written = len(rows[RESOURCE_TABLE[resource]])
    block = round(len(kinds) / 0.05)
    for kind in kinds:
        count = len(manifest.dirty[kind])
        assert abs(count - written / block) <= 2, (kind, count, written / block)
    share = sum(len(manifest.dirty[kind]) for kind in kinds) / written
    assert share == pytest.approx(0.05, abs=0.003)


def test_dirty_schedule_plants_each_kind_once_per_block():
    import random

    schedule = DirtySchedule(("a", "b", "c"), 0.1, random.Random(1))
    draws = [schedule.draw() for _ in range(schedule.block * 5)]
    assert schedule.block == 30
    assert {k: draws.count(k) for k in "abc"} == {"a": 5, "b": 5, "c": 5}
    assert draws.count(None) == 135


def test_dirty_schedule_plants_nothing_when_the_share_is_zero():
    import random

    schedule = DirtySchedule(("a",), 0, random.Random(1))
    assert {schedule.draw() for _ in range(1000)} == {None}


def _clean_customer_problems(row, customers):
    cust_no, name, _email, country, _zip, parent, _updated = row
    problems = []
    if not name or any(ord(ch) < 32 for ch in name) or len(name) > 200:
        problems.append("name")
    if country is not None and country not in ISO_COUNTRIES:
        problems.append("country")
    if parent is not None and (parent == cust_no or parent not in customers):
        problems.append("parent")
    return problems


def _clean_contract_problems(row, customers):
    _no, cust_no, _plan, status, start, end, terminated, currency, fee, _updated = row
    problems = []
    if cust_no not in customers:
        problems.append("customer")
    if status not in ("ACTIVE", "TRIAL", "SUSPENDED", "TERMINATED"):
        problems.append("status")
    if (status == "TERMINATED") != (terminated is not None):
        problems.append("terminated_on")
    if (end is not None and end < start) or (terminated is not None and terminated < start):
        problems.append("dates")
    if currency not in ISO_CURRENCIES or Decimal(fee) < 0:
        problems.append("currency/fee")
    return problems


def _clean_invoice_problems(row, lines, customers, contracts, as_of):
    _no, cust_no, contract_no, day, due, status, currency, net, tax, updated = row
    problems = []
    if cust_no not in customers or contract_no not in contracts:
        problems.append("reference")
    elif contracts[contract_no][1] != cust_no or contracts[contract_no][7] != currency:
        problems.append("contract of another customer or currency")
    if currency not in ISO_CURRENCIES:
        problems.append("currency")
    if status not in ("DRAFT", "ISSUED", "PAID", "OVERDUE", "CANCELLED"):
        problems.append("status")
    if not "2026-01-01" <= day < as_of or (due is not None and due < day):
        problems.append("dates")
    if Decimal(net) < 0 or Decimal(tax) < 0 or not day <= updated[:10] < as_of:
        problems.append("amounts/updated_at")
    if sum(Decimal(line[7]) for line in lines) != Decimal(net):
        problems.append("lines")
    for line in lines:
        _inv, _n, desc, kind, start, end, qty, _amount = line
        if kind == "RECURRING" and (start is None or end is None or end < start):
            problems.append("period")
        if kind == "ONE_OFF" and (start is not None or end is not None):
            problems.append("one-off period")
        if Decimal(qty) <= 0 or desc is None or len(desc) > 1000:
            problems.append("line")
    return problems


def test_clean_records_break_no_rule_of_the_contract(medium):
    rows, manifest = medium
    customers, contracts = by_id(rows["customers"]), by_id(rows["contracts"])
    lines = defaultdict(list)
    for line in rows["invoice_lines"]:
        lines[line[0]].append(line)
    as_of = manifest.config["as_of"][:10]
    dirty = {r: manifest.dirty_ids(r) for r in KINDS_BY_RESOURCE}
    for cust_no, row in customers.items():
        if cust_no not in dirty["customers"]:
            assert _clean_customer_problems(row, customers) == [], row
    for contract_no, row in contracts.items():
        if contract_no not in dirty["subscriptions"]:
            assert _clean_contract_problems(row, customers) == [], row
    for row in rows["invoices"]:
        if row[0] not in dirty["invoices"]:
            problems = _clean_invoice_problems(row, lines[row[0]], customers, contracts, as_of)
            assert problems == [], row
    # nothing references a rejected customer or contract: no clean record is blocked
    rejected = {
        entry["id"]
        for name, kind in DIRTY_KINDS.items()
        if kind.outcome == "rejected" and kind.resource != "invoices"
        for entry in manifest.dirty[name]
    }
    referenced = {row[1] for row in rows["contracts"]} | {row[5] for row in rows["customers"]}
    referenced |= {row[1] for row in rows["invoices"]} | {row[2] for row in rows["invoices"]}
    own_parents = {e["id"] for e in manifest.dirty["customer_own_parent"]}
    assert rejected & referenced <= own_parents


CHECKS = {
    "customer_country_lowercase": lambda r, _: r[3] and r[3] == r[3].lower() != r[3].upper(),
    "customer_country_blank": lambda r, _: r[3] == "",
    "customer_country_unknown": lambda r, _: r[3] == "UK",
    "customer_blank_name": lambda r, _: r[1] == "",
    "customer_name_control_chars": lambda r, _: any(ord(ch) < 32 for ch in r[1]),
    "customer_missing_parent": lambda r, c: r[5] is not None and r[5] not in c["customers"],
    "customer_own_parent": lambda r, _: r[5] == r[0],
    "contract_terminated_without_date": lambda r, _: r[3] == "TERMINATED" and r[6] is None,
    "contract_end_before_start": lambda r, _: r[5] < r[4],
    "contract_terminated_before_start": lambda r, _: r[6] < r[4],
    "contract_unknown_currency": lambda r, _: r[7] not in ISO_CURRENCIES,
    "contract_unknown_status": lambda r, _: r[3] == "CLOSED",
    "contract_orphan_customer": lambda r, c: r[1] not in c["customers"],
    "contract_negative_fee": lambda r, _: Decimal(r[8]) < 0,
    "invoice_orphan_customer": lambda r, c: r[1] not in c["customers"],
    "invoice_unknown_contract": lambda r, c: r[2] is not None and r[2] not in c["contracts"],
    "invoice_without_contract": lambda r, _: r[2] is None,
    "invoice_contract_of_other_customer": lambda r, c: c["contracts"][r[2]][1] != r[1],
    "invoice_unknown_currency": lambda r, _: r[6] not in ISO_CURRENCIES,
    "invoice_negative_total": lambda r, _: Decimal(r[7]) < 0,
    "invoice_negative_tax": lambda r, _: Decimal(r[8]) < 0,
    "invoice_due_before_issue": lambda r, _: r[4] < r[3],
    "invoice_date_out_of_range": lambda r, _: int(r[3][:4]) > 2100,
    "invoice_date_in_future": lambda r, c: r[3] > c["as_of"] and int(r[3][:4]) <= 2100,
    "invoice_unknown_status": lambda r, _: r[5] == "VOID",
}

# (description, line_kind, service_from, service_to, quantity) of the line at fault
LINE_CHECKS = {
    "line_period_end_before_start": lambda _d, k, s, e, _q: k == "RECURRING" and e < s,
    "line_recurring_without_period": lambda _d, k, s, e, _q: k == "RECURRING" and s is e is None,
    "line_one_off_with_period": lambda _d, k, s, e, _q: k == "ONE_OFF" and s is not None,
    "line_zero_quantity": lambda _d, _k, _s, _e, q: q == "0",
    "line_description_too_long": lambda d, _k, _s, _e, _q: len(d) > 1000,
}


def test_each_dirty_record_carries_its_defect(medium):
    rows, manifest = medium
    context = {
        "customers": by_id(rows["customers"]),
        "contracts": by_id(rows["contracts"]),
        "as_of": manifest.config["as_of"][:10],
    }
    invoices = by_id(rows["invoices"])
    tables = {"customers": context["customers"], "subscriptions": context["contracts"]}
    tables["invoices"] = invoices
    lines = {(line[0], line[1]): line for line in rows["invoice_lines"]}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in rows["invoice_lines"]:
        totals[line[0]] += Decimal(line[7])
    for name in DIRTY_KINDS:  # the billing model's kinds: test_erp_billing.py
        entries = manifest.dirty[name]
        assert entries, f"{name} never planted"
        for entry in entries:
            row = tables[entry["resource"]][entry["id"]]
            if name in CHECKS:
                assert CHECKS[name](row, context), (name, row)
            elif name == "invoice_lines_do_not_add_up":
                assert totals[row[0]] != Decimal(row[7])
            elif name.startswith("invoice_duplicate"):
                original = invoices[entry["duplicate_of"]]
                assert row[1:] == original[1:] and row[0] != original[0]
                if name == "invoice_duplicate_case_variant":
                    assert row[0] == original[0].lower()
            else:
                line = lines[row[0], entry["line_no"]]
                assert LINE_CHECKS[name](*line[2:7]), (name, line)


def test_dirty_invoices_are_sent_documents(medium):
    rows, manifest = medium
    invoices = by_id(rows["invoices"])
    statuses = {invoices[i][5] for i in manifest.dirty_ids("invoices")}
    assert statuses <= {"ISSUED", "PAID", "OVERDUE", "VOID"}


def test_status_changes_come_after_the_invoice_date(medium):
    rows, manifest = medium
    dirty = manifest.dirty_ids("invoices")
    clean = [r for r in rows["invoices"] if r[0] not in dirty]
    paid_later = [r for r in clean if r[5] == "PAID" and r[9][:10] > r[3]]
    assert paid_later
    # an August invoice paid in October: found by October's "updated since" window
    assert any(r[3].startswith("2026-08") and r[9].startswith("2026-10") for r in paid_later)
    # sent in one month, cancelled in a later one
    assert any(r[5] == "CANCELLED" and r[9][:7] > r[3][:7] for r in clean)
    assert all(r[9] < manifest.config["as_of"] for r in rows["invoices"])


def test_generate_covers_every_status_and_several_currencies(medium):
    rows, manifest = medium
    assert {"ACTIVE", "TRIAL", "SUSPENDED", "TERMINATED"} <= set(manifest.contracts_by_status)
    assert {"DRAFT", "ISSUED", "PAID", "OVERDUE", "CANCELLED"} <= set(manifest.invoices_by_status)
    assert len({row[6] for row in rows["invoices"]} & ISO_CURRENCIES) >= 5
    parents = {row[5] for row in rows["customers"]} - {None}
    assert len(parents) > 10
    kinds = {line[3] for line in rows["invoice_lines"]}
    assert kinds == {"RECURRING", "ONE_OFF"}


def test_recurring_lines_cover_the_billing_month_inclusively(medium):
    rows, manifest = medium
    dirty = manifest.dirty_ids("invoices")
    invoices = by_id(rows["invoices"])
    for line in rows["invoice_lines"]:
        if line[3] == "RECURRING" and line[0] not in dirty:
            start, end = dt.date.fromisoformat(line[4]), dt.date.fromisoformat(line[5])
            assert start.day == 1 and (end + dt.timedelta(days=1)).day == 1
            assert invoices[line[0]][3][:7] == line[4][:7]


def test_demo_preset_plants_every_dirty_and_edge_kind():
    _rows, manifest = collect(DEMO)
    assert all(manifest.dirty[name] for name in DIRTY_KINDS)
    assert all(manifest.edge_cases.values())
    assert manifest.rows["invoices"] == 300
    assert {"ACTIVE", "TRIAL", "SUSPENDED", "TERMINATED"} <= set(manifest.contracts_by_status)
    assert {"DRAFT", "ISSUED", "PAID", "OVERDUE", "CANCELLED"} <= set(manifest.invoices_by_status)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        pytest.param(None, "", id="null"),
        pytest.param("", '""', id="empty string"),
        pytest.param(7, "7", id="int"),
        pytest.param('a "b", c', '"a ""b"", c"', id="quotes and comma"),
        pytest.param("\\.", '"\\."', id="end-of-data marker"),
        pytest.param("line\nbreak", '"line\nbreak"', id="newline"),
        pytest.param("plain", "plain", id="plain"),
    ],
)
def test_csv_field_quotes_what_copy_would_misread(value, field):
    assert csv_field(value) == field
