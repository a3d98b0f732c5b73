"""The mapping of products, plans and credit notes (erp-reference-schema.md), row by row."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from fincome_airflow.transform.mapping import map_credit_note, map_plan, map_product

TODAY = dt.date(2026, 11, 1)


def plan_row(**columns) -> SimpleNamespace:
    values = {
        "plan_code": "PRO-Y",
        "plan_name": "Pro, yearly",
        "product_code": "PRO",
        "billing_period": "YEAR",
        "list_price": "290.00",
        "currency": "EUR",
    }
    return SimpleNamespace(**{**values, **columns})


def note_row(**columns) -> SimpleNamespace:
    values = {
        "credit_note_no": "CN-1",
        "invoice_no": "INV-1",
        "cust_no": "C-1",
        "issue_date": dt.date(2026, 10, 12),
        "doc_status": "REFUNDED",
        "currency": "EUR",
        "total_net": "30.00",
        "total_tax": "6.00",
        "ref_invoice_status": "PAID",
    }
    return SimpleNamespace(**{**values, **columns})


def line_row(**columns) -> SimpleNamespace:
    values = {
        "line_no": 1,
        "invoice_line_no": 2,
        "description": "10 days of service",
        "service_from": dt.date(2026, 10, 22),
        "service_to": dt.date(2026, 10, 31),
        "net_amount": "30.00",
    }
    return SimpleNamespace(**{**values, **columns})


def reasons(mapped) -> set[tuple[str, str | None]]:
    return {(p.reason_code, p.field) for p in mapped.problems}


def test_a_product_and_a_plan_map_to_their_fincome_fields():
    product = map_product(SimpleNamespace(product_code="PRO", product_name="Pro"))
    assert product.payload == {"id": "PRO", "name": "Pro", "custom_properties": {}}
    assert map_plan(plan_row()).payload == {
        "id": "PRO-Y",
        "name": "Pro, yearly",
        "product_id": "PRO",
        "interval": "year",
        "amount": "290.00",
        "currency": "EUR",
        "custom_properties": {},
    }
    assert "amount" not in map_plan(plan_row(list_price=None)).payload


def test_a_plan_billed_weekly_is_refused_for_its_billing_period():
    mapped = map_plan(plan_row(billing_period="WEEK"))
    assert mapped.payload is None
    assert reasons(mapped) == {("unknown_billing_period", "billing_period")}


def test_a_credit_note_maps_with_positive_amounts_and_the_day_after_its_period():
    mapped = map_credit_note(note_row(), [line_row()], TODAY)
    assert mapped.payload == {
        "id": "CN-1",
        "number": "CN-1",
        "customer_id": "C-1",
        "invoice_id": "INV-1",
        "status": "refunded",
        "issue_date": "2026-10-12",
        "currency": "EUR",
        "net_amount": "30.00",
        "tax_amount": "6.00",
        "lines": [
            {
                "id": "1",
                "invoice_line_id": "2",
                "description": "10 days of service",
                "net_amount": "30.00",
                "period_start": "2026-10-22",
                "period_end": "2026-11-01",
                "custom_properties": {},
            }
        ],
        "custom_properties": {},
    }


def test_a_draft_is_skipped_and_a_cancelled_credit_note_or_invoice_cancels_it():
    assert map_credit_note(note_row(doc_status="DRAFT"), [], TODAY).action == "skip"
    assert map_credit_note(note_row(doc_status="CANCELLED"), [], TODAY).action == "cancel"
    of_cancelled = map_credit_note(note_row(ref_invoice_status="CANCELLED"), [], TODAY)
    assert of_cancelled.action == "cancel" and of_cancelled.payload is None


def test_credit_note_defects_are_named_with_their_erp_column():
    zero = map_credit_note(note_row(total_net="0.00"), [], TODAY)
    assert reasons(zero) == {("zero_amount", "total_net")}
    future = map_credit_note(note_row(issue_date=dt.date(2026, 11, 2)), [], TODAY)
    assert reasons(future) == {("issue_date_in_future", "issue_date")}
    assert "credit note date" in future.problems[0].message
    apart = map_credit_note(note_row(), [line_row(net_amount="20.00")], TODAY)
    assert reasons(apart) == {("lines_do_not_add_up", "total_net")}
    assert "credit note lines" in apart.problems[0].message
    half = map_credit_note(note_row(), [line_row(service_to=None)], TODAY)
    assert reasons(half) == {("missing_period", "lines[1].service_to")}
