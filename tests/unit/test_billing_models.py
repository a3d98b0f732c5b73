"""The contract models of products, plans and credit notes: each refusal typed by its reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from fincome_airflow import contract
from fincome_airflow.models import MODEL_BY_BILLING_RESOURCE, CreditNote, Plan, Product
from fincome_airflow.models.billing_rules import not_before_invoice, within_invoice

CREDIT_NOTE: dict[str, Any] = {
    "id": "CN-1",
    "customer_id": "C1",
    "invoice_id": "INV-1",
    "issue_date": "2026-10-03",
    "status": "refunded",
    "currency": "EUR",
    "net_amount": "30.00",
    "lines": [
        {
            "id": "1",
            "invoice_line_id": "1",
            "net_amount": "20.00",
            "period_start": "2026-10-20",
            "period_end": "2026-11-01",
        },
        {"id": "2", "net_amount": "10.00"},
    ],
}


def reasons(model: type, body: dict[str, Any]) -> set[tuple[str, tuple]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {(error["type"], error["loc"]) for error in caught.value.errors()}


def test_credit_note_payload_sends_amounts_as_strings_and_drops_nulls():
    payload = CreditNote.model_validate(CREDIT_NOTE).to_payload()

    assert payload["net_amount"] == "30.00"
    assert payload["lines"][1] == {"id": "2", "net_amount": "10.00", "custom_properties": {}}
    assert "tax_amount" not in payload


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"net_amount": "31.00"}, ("lines_do_not_add_up", ()), id="lines"),
        pytest.param({"net_amount": "0", "lines": None}, ("zero_amount", ("net_amount",)), id="0"),
        pytest.param(
            {"net_amount": "-1", "lines": None}, ("negative_amount", ("net_amount",)), id="minus"
        ),
        pytest.param({"status": "void"}, ("literal_error", ("status",)), id="status"),
        pytest.param({"currency": "eur"}, ("unknown_currency", ("currency",)), id="currency"),
        pytest.param(
            {"lines": [{"id": "1", "net_amount": "15"}, {"id": "1", "net_amount": "15"}]},
            ("duplicate_line", ()),
            id="duplicate line id",
        ),
        pytest.param(
            {"lines": [{"id": "1", "net_amount": "30", "period_start": "2026-10-01"}]},
            ("missing_period", ("lines", 0)),
            id="half a period",
        ),
        pytest.param(
            {
                "lines": [
                    {
                        "id": "1",
                        "net_amount": "30",
                        "period_start": "2026-10-02",
                        "period_end": "2026-10-01",
                    }
                ]
            },
            ("period_end_before_start", ("lines", 0)),
            id="period in reverse",
        ),
    ],
)
def test_credit_note_refuses_with_the_reason_code_as_type(changes, expected):
    assert expected in reasons(CreditNote, {**CREDIT_NOTE, **changes})


def test_plan_needs_a_known_interval_and_a_price_of_zero_or_more():
    plan = {"id": "P", "name": "Pro", "product_id": "PRO", "interval": "year", "currency": "EUR"}

    assert Plan.model_validate({**plan, "amount": "0"}).to_payload()["amount"] == "0"
    assert ("literal_error", ("interval",)) in reasons(Plan, {**plan, "interval": "week"})
    assert ("negative_amount", ("amount",)) in reasons(Plan, {**plan, "amount": "-1"})
    assert set(contract.PLAN_INTERVALS) == {"month", "quarter", "year"}


def test_product_refuses_unknown_fields_and_an_empty_name():
    assert ("extra_forbidden", ("price",)) in reasons(Product, {"id": "P", "name": "P", "price": 1})
    assert ("string_too_short", ("name",)) in reasons(Product, {"id": "P", "name": ""})


def test_billing_models_are_loaded_in_the_order_they_reference_each_other():
    assert set(MODEL_BY_BILLING_RESOURCE) == set(contract.BILLING_RESOURCES)
    order = contract.RESOURCES
    assert order.index("products") < order.index("plans") < order.index("subscriptions")
    assert order.index("invoices") < order.index("credit_notes")
    assert list(contract.DELETION_STEPS.values()) == ["credit_notes", "invoices"]
    assert contract.resource_path("credit_notes", "CN 1/2") == "/credit_notes/CN%201%2F2"


def test_rules_across_records_name_their_reason_and_field():
    with pytest.raises(PydanticCustomError) as before:
        not_before_invoice(dt.date(2026, 10, 1), dt.date(2026, 10, 2))
    with pytest.raises(PydanticCustomError) as over:
        within_invoice(Decimal("100.01"), Decimal("100.00"))
    within_invoice(Decimal("100.00"), Decimal("100.00"))

    assert (before.value.type, before.value.context["field"]) == (
        "credit_before_invoice",
        "issue_date",
    )
    assert (over.value.type, over.value.context["field"]) == ("over_credit", "net_amount")
