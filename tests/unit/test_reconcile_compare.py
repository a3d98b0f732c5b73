from __future__ import annotations

from decimal import Decimal

import pytest

from fincome_airflow.contract import BILLING_RESOURCES, RESOURCES
from fincome_airflow.reconcile.compare import (
    CurrencyTotals,
    compare,
    differing_fields,
    largest,
    totals_differ,
    verdict,
)
from fincome_airflow.reconcile.references import note_references, referrers_first


def _invoice(record_id: str, amount: str = "100.00", **extra):
    return {"id": record_id, "currency": "EUR", "net_amount": amount, "status": "paid", **extra}


def test_compare_finds_nothing_when_fincome_holds_the_erp_month():
    expected = {"I1": _invoice("I1"), "I2": _invoice("I2", "20.50")}
    actual = {
        "I1": {**_invoice("I1", "100"), "created_at": "x", "updated_at": "y"},
        "I2": _invoice("I2", "20.5"),
    }
    differences = compare("invoices", expected, actual)
    assert differences == []
    assert verdict(differences)["verdict"] == "reconciled"


def test_compare_reports_missing_extra_and_differing_records_with_amounts():
    expected = {"I1": _invoice("I1"), "I2": _invoice("I2", "20.00"), "I3": _invoice("I3")}
    actual = {
        "I2": _invoice("I2", "25.00", status="open"),
        "I3": _invoice("I3"),
        "X9": _invoice("X9", "7"),
    }
    differences = {d.record_id: d for d in compare("invoices", expected, actual)}
    assert differences["I1"].kind == "missing" and differences["I1"].amount_at_stake == Decimal(
        "100.00"
    )
    assert differences["I2"].kind == "differs"
    assert differences["I2"].fields == ("net_amount", "status")
    assert differences["I2"].amount_at_stake == Decimal("5.00")
    assert differences["X9"].kind == "extra" and differences["X9"].amount_at_stake == Decimal("7")
    summary = verdict(differences.values())
    assert summary["differences"] == 3
    assert summary["amount_at_stake"] == {"EUR": "112.00"}
    assert [d.record_id for d in largest(differences.values(), 1)] == ["I1"]


def test_compare_reports_a_record_refused_by_the_run_as_refused_not_missing():
    differences = compare("invoices", {}, {}, refused={"I7": "lines_do_not_add_up"})
    assert [(d.record_id, d.kind, d.detail) for d in differences] == [
        ("I7", "refused", "lines_do_not_add_up")
    ]
    assert verdict(differences)["verdict"] == "reconciled"


def test_compare_does_not_read_identifiers_as_numbers():
    assert differing_fields({"customer_id": "0123"}, {"customer_id": "123"}) == ("customer_id",)


def test_compare_skips_extras_for_shared_resources_when_asked():
    differences = compare("customers", {}, {"C1": {"id": "C1"}}, report_extra=False)
    assert differences == []


def test_compare_treats_a_null_nested_field_as_absent():
    line = {"id": "1", "type": "one_off", "net_amount": "10.00", "quantity": "1"}
    stored = {**line, "period_start": None, "period_end": None, "quantity": "1.000"}
    assert differing_fields({"lines": [line]}, {"lines": [stored]}) == ()


def _credit_note(record_id: str, amount: str, currency: str = "EUR"):
    return {"id": record_id, "currency": currency, "net_amount": amount, "invoice_id": "I1"}


def test_currency_totals_sum_what_the_month_calls_for_and_what_fincome_holds_to_the_cent():
    totals = CurrencyTotals()
    totals.add(_credit_note("C1", "10.10"), _credit_note("C1", "10.1"))
    totals.add(_credit_note("C2", "0.05"), None)  # missing from Fincome
    totals.add(None, _credit_note("C3", "99.99", "CHF"))  # unexpected in Fincome
    totals.add(_credit_note("C4", "20.00", "CHF"), _credit_note("C4", "20.01", "CHF"))
    result = totals.result()
    assert result == {
        "CHF": {"expected": "20.00", "held": "120.00", "difference": "100.00"},
        "EUR": {"expected": "10.15", "held": "10.10", "difference": "-0.05"},
    }
    assert totals_differ({"credit_notes": result}) == [
        ("credit_notes", "CHF", "100.00"),
        ("credit_notes", "EUR", "-0.05"),
    ]


def test_totals_that_agree_name_no_difference():
    totals = CurrencyTotals()
    totals.add(_credit_note("C1", "10.10"), _credit_note("C1", "10.100"))
    assert totals_differ({"credit_notes": totals.result()}) == []


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(RESOURCES, id="the resources loaded today"),
        pytest.param(("products", "plans", *RESOURCES, "credit_notes"), id="the billing model"),
        pytest.param((*BILLING_RESOURCES, *reversed(RESOURCES)), id="any order given"),
    ],
)
def test_resources_are_compared_after_every_resource_that_references_them(resources):
    order = referrers_first(resources)
    assert sorted(order) == sorted(set(resources))
    before = {resource: order.index(resource) for resource in order}
    pairs = [
        ("credit_notes", "invoices"),
        ("invoices", "subscriptions"),
        ("subscriptions", "plans"),
        ("plans", "products"),
        ("subscriptions", "customers"),
        ("credit_notes", "customers"),
    ]
    for referrer, referenced in pairs:
        if referrer in before and referenced in before:
            assert before[referrer] < before[referenced], order


def test_a_credit_note_names_its_customer_and_invoice_and_a_subscription_its_plan():
    wanted: dict[str, set[str]] = {}
    note_references("credit_notes", {"customer_id": "C1", "invoice_id": "I1"}, wanted)
    note_references("subscriptions", {"customer_id": "C2", "plan_id": None}, wanted)
    note_references("subscriptions", {"customer_id": "C2", "plan_id": "PRO-M"}, wanted)
    assert wanted == {"customers": {"C1", "C2"}, "invoices": {"I1"}, "plans": {"PRO-M"}}


def test_the_reconcile_task_message_names_each_month_total_fincome_holds_differently():
    from fincome_airflow.tasks.reconcile import describe

    result = {
        **verdict([]),
        "largest": [],
        "file": "x.csv",
        "totals": {
            "invoices": {"EUR": {"expected": "5.00", "held": "5.00", "difference": "0.00"}},
            "credit_notes": {"EUR": {"expected": "9.00", "held": "2.00", "difference": "-7.00"}},
        },
    }
    message = describe(result)
    assert "month totals Fincome holds differently: credit_notes EUR -7.00;" in message
