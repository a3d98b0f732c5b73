"""The fast lane's own canonical JSON is hashing's, byte for byte, for generated clean records.

The fast lane writes the canonical JSON of its payloads itself (``PlainPayload.canonical``);
the reference is :func:`~fincome_airflow.stage.hashing.canonical_with_hash` of the same payload
as a plain dict, which normalizes the amounts and sorts the keys by walking it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fincome_airflow.stage.hashing import (
    PlainPayload,
    canonical_json,
    canonical_with_hash,
    canonical_with_hash_of_plain,
)
from fincome_airflow.transform.fast import fast_customer, fast_invoice, fast_subscription
from fincome_airflow.transform.mapping import (
    INVOICE_STATUS,
    LINE_TYPE,
    SUBSCRIPTION_STATUS,
    Mapped,
    map_customer,
    map_invoice,
    map_subscription,
)

TODAY = dt.date(2026, 11, 3)

#: Texts with what JSON escapes or leaves raw: quotes, backslashes, non-ASCII, U+2028.
texts = st.text(
    st.sampled_from('ab"\\/é€\u2028 ') | st.characters(exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=12,
).filter(str.strip)
optional_texts = st.none() | st.just("  ") | texts
dates = st.dates(dt.date(2000, 1, 1), dt.date(2026, 11, 3))
optional_dates = st.none() | dates
#: Amounts of every exponent: ``100``, ``100.0``, ``100.000``, ``1E+2``, zero.
amounts = st.builds(
    lambda cents, exponent: (
        (Decimal(cents) / 100).quantize(Decimal(exponent))
        if exponent
        else (Decimal(cents) / 100).normalize()
    ),
    st.integers(0, 10**9) | st.sampled_from([0, 100, 10_000, 120_050]),
    st.sampled_from(["1", "0.1", "0.01", "0.001", ""]),
)
quantities = st.none() | st.builds(
    lambda n, exponent: (Decimal(n) / 1000).quantize(Decimal(exponent)),
    st.integers(1, 10**6) | st.sampled_from([1000, 2000, 1500]),
    st.sampled_from(["0.001", "0.01"]),
)
customers = st.builds(
    SimpleNamespace,
    cust_no=texts,
    company_name=texts,
    email=optional_texts,
    country_code=st.sampled_from([None, "", "FR", " de ", "GB"]),
    postal_code=optional_texts,
    parent_cust_no=st.none() | texts,
)
subscriptions = st.builds(
    SimpleNamespace,
    contract_no=texts,
    cust_no=texts,
    plan_code=st.none() | texts,
    status=st.sampled_from(sorted(SUBSCRIPTION_STATUS)),
    start_date=dates,
    end_date=st.none() | st.just(dt.date(2030, 12, 31)),
    terminated_on=optional_dates,
    currency=st.sampled_from(["EUR", "USD", "SEK"]),
    monthly_fee=st.none() | amounts,
)
lines = st.builds(
    SimpleNamespace,
    line_no=st.integers(1, 40) | texts,
    description=optional_texts,
    line_kind=st.sampled_from(sorted(LINE_TYPE)),
    service_from=st.just(dt.date(2026, 10, 1)),
    service_to=st.just(dt.date(2026, 10, 31)),
    quantity=quantities,
    net_amount=amounts,
)


@st.composite
def invoices(draw: st.DrawFn) -> tuple[SimpleNamespace, list[SimpleNamespace]]:
    rows = draw(st.lists(lines, max_size=4, unique_by=lambda row: str(row.line_no)))
    total = sum((row.net_amount for row in rows), Decimal(0))
    issued = draw(dates)
    head = SimpleNamespace(
        invoice_no=draw(texts),
        cust_no=draw(texts),
        contract_no=draw(texts),
        invoice_date=issued,
        due_date=draw(st.none() | st.just(issued + dt.timedelta(days=30))),
        doc_status=draw(st.sampled_from(sorted(INVOICE_STATUS))),
        currency=draw(st.sampled_from(["EUR", "CHF"])),
        total_net=total if rows else draw(amounts),
        total_tax=draw(st.none() | amounts),
    )
    return head, rows


def _json_is_hashings(fast: Mapped | None, reference: Mapped) -> bool:
    """The fast lane's text and hash are hashing's for the reference's payload."""
    if fast is None:
        return True  # left to the reference (tests/unit/test_mapping_fast_lane.py checks why)
    payload = fast.payload
    assert type(payload) is PlainPayload and fast.plain and not reference.problems
    walked = dict(payload)
    return (
        payload == reference.payload
        and payload.canonical == canonical_json(walked)
        and canonical_with_hash_of_plain(payload) == canonical_with_hash(walked)
        and canonical_with_hash(walked) == canonical_with_hash(reference.payload)
    )


@settings(max_examples=300, deadline=None)
@given(customers)
def test_a_customers_json_written_by_the_fast_lane_is_hashings(row: Any) -> None:
    assert _json_is_hashings(fast_customer(row), map_customer(row))


@settings(max_examples=300, deadline=None)
@given(subscriptions)
def test_a_subscriptions_json_written_by_the_fast_lane_is_hashings(row: Any) -> None:
    assert _json_is_hashings(fast_subscription(row), map_subscription(row))


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_an_invoices_json_written_by_the_fast_lane_is_hashings(invoice: Any) -> None:
    head, rows = invoice
    assert _json_is_hashings(fast_invoice(head, rows, TODAY), map_invoice(head, rows, TODAY))


def test_the_fast_lane_writes_the_json_of_most_generated_records() -> None:
    """The properties above compare texts: most generated records must reach the fast lane."""
    mapped = []

    @settings(max_examples=100, deadline=None, database=None)
    @given(customers, subscriptions, invoices())
    def sample(customer: Any, subscription: Any, invoice: Any) -> None:
        mapped.append(
            (
                fast_customer(customer) is not None,
                fast_subscription(subscription) is not None,
                fast_invoice(*invoice, TODAY) is not None,
            )
        )

    sample()
    for column in zip(*mapped, strict=True):
        assert sum(column) > len(column) // 2
