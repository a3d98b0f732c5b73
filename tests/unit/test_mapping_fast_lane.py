"""The mapping's fast lane gives the reference's outcome, or leaves the record to it.

Clean rows of PostgreSQL's types, then each column set to defects and edge values (bounds of
the contract's rules, blanks, other drivers' types): the fast lane must return exactly what the
reference mapping returns, or None (the reference then maps the record); never a payload for a
record the reference refuses, and a payload for every clean row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from fincome_airflow.stage.hashing import canonical_with_hash, canonical_with_hash_of_plain
from fincome_airflow.transform.fast import fast_customer, fast_invoice, fast_subscription
from fincome_airflow.transform.mapping import map_customer, map_invoice, map_subscription

TODAY = dt.date(2026, 11, 3)
D = dt.date

IDS = ["", "  ", " a ", "a\x00b", "a\x7f", "a" * 255, "a" * 256, "été", "\u2028", None, 12, True]
TEXTS = [*IDS, "a" * 1000, "a" * 1001, "two\nlines", "tab\there", 3.5]
DATES = [
    None,
    D(1969, 12, 31),
    D(1970, 1, 1),
    D(2100, 12, 31),
    D(2101, 1, 1),
    dt.datetime(2026, 10, 1),
    dt.datetime(2026, 10, 1, 12),
    "2026-10-01",
    D(2026, 9, 30),
    D(2026, 10, 15),
    D(2026, 11, 3),
    D(2026, 11, 4),
]
AMOUNTS = [
    None,
    Decimal("0"),
    Decimal("-0.00"),
    Decimal("-1.00"),
    Decimal("10.5"),
    Decimal("10.555"),
    Decimal("999999999999.99"),
    Decimal("1000000000000"),
    Decimal("1E+30"),
    Decimal("1E+2"),
    Decimal("NaN"),
    Decimal("Infinity"),
    10,
    10.5,
    "10.00",
]
QUANTITIES = [
    None,
    Decimal("0"),
    Decimal("0.001"),
    Decimal("0.0001"),
    Decimal("2.000"),
    Decimal("1E+3"),
    Decimal("999999999"),
    Decimal("-1"),
    Decimal("NaN"),
    2,
    "2",
]
CURRENCIES = ["EUR", "eur", " EUR", "ZZZ", "", None, 978]
COUNTRIES = ["FR", "fr", " de ", "ZZ", "", "  ", None, 33]

CUSTOMER = {
    "cust_no": "C1",
    "company_name": "Acme",
    "email": "billing@acme.test",
    "country_code": "FR",
    "postal_code": "75001",
    "parent_cust_no": "C0",
}
SUBSCRIPTION = {
    "contract_no": "K1",
    "cust_no": "C1",
    "plan_code": "PRO",
    "status": "TERMINATED",
    "start_date": D(2026, 1, 1),
    "end_date": D(2026, 12, 31),
    "terminated_on": D(2026, 10, 15),
    "currency": "EUR",
    "monthly_fee": Decimal("99.90"),
}
HEAD = {
    "invoice_no": "I1",
    "cust_no": "C1",
    "contract_no": "K1",
    "invoice_date": D(2026, 10, 1),
    "due_date": D(2026, 10, 31),
    "doc_status": "ISSUED",
    "currency": "EUR",
    "total_net": Decimal("130.00"),
    "total_tax": Decimal("26.00"),
}
LINES = [
    {
        "line_no": 1,
        "description": "Pro plan",
        "line_kind": "RECURRING",
        "service_from": D(2026, 10, 1),
        "service_to": D(2026, 10, 31),
        "quantity": Decimal("1.000"),
        "net_amount": Decimal("100.00"),
    },
    {
        "line_no": 2,
        "description": None,
        "line_kind": "ONE_OFF",
        "service_from": None,
        "service_to": None,
        "quantity": Decimal("1.5"),
        "net_amount": Decimal("30.00"),
    },
]

CUSTOMER_VALUES = {
    "cust_no": IDS,
    "company_name": TEXTS,
    "email": TEXTS,
    "country_code": COUNTRIES,
    "postal_code": TEXTS,
    "parent_cust_no": [*IDS, "C1"],
}
SUBSCRIPTION_VALUES = {
    "contract_no": IDS,
    "cust_no": IDS,
    "plan_code": IDS,
    "status": ["ACTIVE", "TRIAL", "SUSPENDED", "TERMINATED", "ENDED", "", None],
    "start_date": DATES,
    "end_date": DATES,
    "terminated_on": DATES,
    "currency": CURRENCIES,
    "monthly_fee": AMOUNTS,
}
HEAD_VALUES = {
    "invoice_no": IDS,
    "cust_no": IDS,
    "contract_no": IDS,
    "invoice_date": DATES,
    "due_date": DATES,
    "doc_status": ["ISSUED", "PAID", "OVERDUE", "DRAFT", "CANCELLED", "VOID", None],
    "currency": CURRENCIES,
    "total_net": [*AMOUNTS, Decimal("130"), Decimal("130.01")],
    "total_tax": AMOUNTS,
}
LINE_VALUES = {
    "line_no": [1, 2, 3, 0, -1, "1", "x", "", None, True],
    "description": TEXTS,
    "line_kind": ["RECURRING", "ONE_OFF", "USAGE", None],
    "service_from": DATES,
    "service_to": DATES,
    "quantity": QUANTITIES,
    "net_amount": [*AMOUNTS, Decimal("100"), Decimal("100.01")],
}


def _variants(base: dict[str, Any], values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [base] + [base | {column: v} for column, vs in values.items() for v in vs]


def _same_or_left(fast: Any, reference: Any) -> bool:
    """The fast lane's outcome is the reference's, or None for a record the reference maps;
    its plain payload hashes as the reference's does."""
    if fast is None:
        return True
    return (
        not reference.problems
        and fast.plain
        and dataclasses.replace(fast, plain=False) == reference
        and canonical_with_hash_of_plain(fast.payload) == canonical_with_hash(reference.payload)
    )


@pytest.mark.parametrize(
    ("fast", "reference", "base", "values"),
    [
        (fast_customer, map_customer, CUSTOMER, CUSTOMER_VALUES),
        (fast_subscription, map_subscription, SUBSCRIPTION, SUBSCRIPTION_VALUES),
    ],
    ids=["customers", "subscriptions"],
)
def test_fast_lane_maps_a_record_as_the_reference_does_or_leaves_it_to_the_reference(
    fast, reference, base, values
) -> None:
    rows = [SimpleNamespace(**r) for r in _variants(base, values)]
    outcomes = [(fast(row), reference(row)) for row in rows]
    assert all(_same_or_left(f, r) for f, r in outcomes)
    assert outcomes[0][0] is not None and _same_or_left(*outcomes[0])
    mapped = sum(f is not None for f, _ in outcomes)
    assert mapped > len(rows) // 4, "the fast lane maps most valid variants itself"


def _invoices() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    out = [(head, LINES) for head in _variants(HEAD, HEAD_VALUES)]
    for i in range(len(LINES)):
        for line in _variants(LINES[i], LINE_VALUES)[1:]:
            out.append((HEAD, [*LINES[:i], line, *LINES[i + 1 :]]))
    out.append((HEAD | {"total_net": Decimal("0.00")}, []))
    out.append((HEAD, [*LINES, LINES[0] | {"net_amount": Decimal("0.00")}]))
    return out


def test_fast_lane_maps_an_invoice_as_the_reference_does_or_leaves_it_to_the_reference() -> None:
    outcomes = []
    for head, lines in _invoices():
        h = SimpleNamespace(**head)
        rows = [SimpleNamespace(**line) for line in lines]
        outcomes.append((fast_invoice(h, rows, TODAY), map_invoice(h, rows, TODAY)))
    assert all(_same_or_left(f, r) for f, r in outcomes)
    clean_fast, clean_reference = outcomes[0]
    assert clean_fast is not None and _same_or_left(clean_fast, clean_reference)
    assert clean_fast.payload["lines"][1]["quantity"] == "1.5"
    mapped = sum(f is not None for f, _ in outcomes)
    assert mapped > len(outcomes) // 4, "the fast lane maps most valid variants itself"
