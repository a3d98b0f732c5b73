"""Property tests of the mapping: valid ERP rows always give payloads the contract accepts,
amounts keep every cent, and consecutive ERP periods give touching Fincome periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from fincome_airflow.models import Customer, Invoice, Subscription
from fincome_airflow.transform.mapping import map_customer, map_invoice, map_subscription
from fincome_airflow.validation import model_gate

TODAY = dt.date(2030, 1, 1)
ids = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_", min_size=1, max_size=32)
names = st.text(
    st.characters(
        min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=["Cs"], exclude_characters="\x7f"
    ),
    min_size=1,
    max_size=200,
).filter(str.strip)
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2029, 12, 1))
cents = st.integers(min_value=0, max_value=10**9)
currencies = st.sampled_from(["EUR", "USD", "GBP", "CHF", "JPY"])
countries = st.sampled_from(["fr", "FR", "de", "", None, "US", " gb "])


def money(c: int, style: int) -> object:
    """The same amount as an ERP driver may return it: Decimal, text, float or int."""
    d = Decimal(c) / 100
    return [d, str(d), float(d) if c < 10**7 else d, int(d) if c % 100 == 0 else d][style]


@st.composite
def customers(draw):
    return SimpleNamespace(
        cust_no=draw(ids),
        company_name=draw(names),
        email=draw(st.none() | st.emails()),
        country_code=draw(countries),
        postal_code=draw(st.none() | st.text("0123456789", max_size=8)),
        parent_cust_no=None,
        updated_at=None,
    )


@st.composite
def contracts(draw):
    start = draw(dates)
    status = draw(st.sampled_from(["ACTIVE", "TRIAL", "SUSPENDED", "TERMINATED"]))
    end = draw(st.none() | st.dates(min_value=start, max_value=dt.date(2099, 1, 1)))
    term = draw(st.dates(min_value=start, max_value=dt.date(2099, 1, 1)))
    return SimpleNamespace(
        contract_no=draw(ids),
        cust_no=draw(ids),
        plan_code=draw(ids),
        status=status,
        start_date=start,
        end_date=end,
        terminated_on=term if status == "TERMINATED" else None,
        currency=draw(currencies),
        monthly_fee=money(draw(cents), draw(st.integers(0, 3))),
        updated_at=None,
    )


@st.composite
def invoices(draw):
    """A valid invoice whose lines cover consecutive inclusive service periods."""
    start = draw(dates)
    n = draw(st.integers(min_value=0, max_value=6))
    amounts = draw(st.lists(cents, min_size=n, max_size=n))
    style = draw(st.integers(0, 3))
    lines, day = [], start
    for i, c in enumerate(amounts, start=1):
        recurring = draw(st.booleans())
        length = draw(st.integers(min_value=0, max_value=40))
        last = day + dt.timedelta(days=length)
        lines.append(
            SimpleNamespace(
                line_no=i,
                description=draw(st.none() | names),
                line_kind="RECURRING" if recurring else "ONE_OFF",
                service_from=day if recurring else None,
                service_to=last if recurring else None,
                quantity=draw(st.sampled_from([Decimal(1), "2", Decimal("1.500"), 3])),
                net_amount=money(c, style),
            )
        )
        if recurring:
            day = last + dt.timedelta(days=1)
    total = sum(amounts) if n else draw(cents)
    issued = draw(dates)
    head = SimpleNamespace(
        invoice_no=draw(ids),
        cust_no=draw(ids),
        contract_no=draw(ids),
        invoice_date=issued,
        due_date=draw(st.none() | st.dates(min_value=issued, max_value=dt.date(2099, 1, 1))),
        doc_status=draw(st.sampled_from(["ISSUED", "PAID", "OVERDUE"])),
        currency=draw(currencies),
        total_net=money(total, style),
        total_tax=money(draw(cents), style),
        updated_at=None,
    )
    return head, lines, total


@settings(max_examples=200, deadline=None)
@given(customers())
def test_valid_customer_rows_give_payloads_the_model_accepts(row) -> None:
    m = map_customer(row)
    assert not m.problems, m.problems
    assert Customer.model_validate(m.payload).to_payload() == m.payload
    assert m.payload.get("country") in (None, "FR", "DE", "US", "GB")


@settings(max_examples=200, deadline=None)
@given(contracts())
def test_valid_contract_rows_give_payloads_the_model_accepts(row) -> None:
    m = map_subscription(row)
    assert not m.problems, m.problems
    assert Subscription.model_validate(m.payload).to_payload() == m.payload
    if row.status == "TERMINATED":
        assert m.payload["canceled_at"] == row.terminated_on.isoformat()


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_valid_invoice_rows_give_payloads_the_model_accepts(invoice) -> None:
    head, lines, _ = invoice
    m = map_invoice(head, lines, TODAY)
    assert not m.problems, m.problems
    assert model_gate.check("invoices", m.payload) is None
    assert Invoice.model_validate(m.payload).to_payload() == m.payload


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_amounts_keep_every_cent(invoice) -> None:
    head, lines, total = invoice
    payload = map_invoice(head, lines, TODAY).payload
    assert Decimal(payload["net_amount"]) * 100 == total
    erp_lines = sum(Decimal(str(line.net_amount)) for line in lines)
    sent_lines = sum(Decimal(line["net_amount"]) for line in payload.get("lines", []))
    assert sent_lines == erp_lines
    assert Decimal(payload["tax_amount"]) == Decimal(str(head.total_tax))


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_consecutive_erp_periods_touch_without_overlap_or_gap(invoice) -> None:
    head, lines, _ = invoice
    payload = map_invoice(head, lines, TODAY).payload
    periods = [
        (dt.date.fromisoformat(x["period_start"]), dt.date.fromisoformat(x["period_end"]))
        for x in payload.get("lines", [])
        if x["type"] == "subscription"
    ]
    for (s1, e1), (s2, _) in pairwise(periods):
        assert s1 < e1
        assert e1 == s2  # the end of a period is the start of the next one
    erp = [(x.service_from, x.service_to) for x in lines if x.line_kind == "RECURRING"]
    for (_, last), (_, end) in zip(erp, periods, strict=True):
        assert end == last + dt.timedelta(days=1)
