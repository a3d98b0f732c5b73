"""The contract's rules: each refuses with its reason code as the error type, the gate translates
by that type (never by wording), and the models and the mapping give the same code and column."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from fincome_airflow.contract import AMOUNT_FIELDS
from fincome_airflow.models import rules
from fincome_airflow.reasons import REASON_CODES, problem
from fincome_airflow.reconcile.compare import differing_fields
from fincome_airflow.stage.hashing import payload_hash
from fincome_airflow.transform.mapping import map_customer, map_invoice, map_subscription
from fincome_airflow.validation import model_gate

D = dt.date


@pytest.mark.parametrize(
    ("rule", "args", "code"),
    [
        pytest.param(rules.identifier, ("X" * 256,), "invalid_identifier", id="id-too-long"),
        pytest.param(rules.identifier, ("C\x01",), "invalid_identifier", id="id-control-char"),
        pytest.param(rules.text, ("A" * 1001,), "text_too_long", id="text-too-long"),
        pytest.param(rules.text, ("tab\there",), "invalid_text", id="text-control-char"),
        pytest.param(rules.currency, ("eur",), "unknown_currency", id="currency-lower-case"),
        pytest.param(rules.country, ("UK",), "unknown_country", id="country-not-iso"),
        pytest.param(rules.date_in_range, (D(2999, 1, 1),), "date_out_of_range", id="year-2999"),
        pytest.param(rules.amount, (Decimal("1.005"),), "invalid_amount", id="three-decimals"),
        pytest.param(rules.amount, (Decimal("1E+30"),), "invalid_amount", id="amount-huge"),
        pytest.param(rules.non_negative, (Decimal("-1"),), "negative_amount", id="negative"),
        pytest.param(rules.quantity, (Decimal("0"),), "invalid_quantity", id="quantity-zero"),
        pytest.param(rules.quantity, (Decimal("1.0001"),), "invalid_quantity", id="qty-places"),
        pytest.param(rules.not_own_parent, ("C1", "C1"), "own_parent", id="own-parent"),
        pytest.param(
            rules.end_not_before_start, (D(2024, 2, 1), D(2024, 1, 1)), "end_before_start"
        ),
        pytest.param(
            rules.canceled_not_before_start,
            (D(2024, 2, 1), D(2024, 1, 1)),
            "canceled_before_start",
        ),
        pytest.param(rules.canceled_has_date, ("canceled", None), "missing_termination_date"),
        pytest.param(
            rules.due_not_before_issue, (D(2024, 2, 1), D(2024, 1, 1)), "due_before_issue"
        ),
        pytest.param(rules.lines_add_up, (Decimal(1), Decimal(2)), "lines_do_not_add_up"),
        pytest.param(rules.period_complete, (D(2024, 1, 1), None), "missing_period"),
        pytest.param(
            rules.period_in_order, (D(2024, 1, 1), D(2024, 1, 1)), "period_end_before_start"
        ),
        pytest.param(rules.line_id_unique, ("1", {"1"}), "duplicate_line"),
    ],
)
def test_rule_refuses_with_its_reason_code_as_the_error_type(rule, args, code) -> None:
    with pytest.raises(PydanticCustomError) as refusal:
        rule(*args)
    assert refusal.value.type == code
    assert code in REASON_CODES


def test_rules_return_what_they_accept() -> None:
    assert rules.currency("EUR") == "EUR"
    assert rules.amount(Decimal("999999999999.99")) == Decimal("999999999999.99")
    assert rules.quantity(Decimal("0.001")) == Decimal("0.001")
    assert rules.date_in_range(D(2100, 12, 31)) == D(2100, 12, 31)


def test_translate_finds_the_reason_by_error_type_whatever_the_message_says() -> None:
    reworded = PydanticCustomError("unknown_currency", "a message worded in any way at all")
    error = ValidationError.from_exception_data(
        "Invoice", [{"type": reworded, "loc": ("currency",), "input": "EUX"}]
    )

    got = model_gate.translate("invoices", error)

    assert got == problem("unknown_currency", "currency", "EUX")


CUSTOMER = {"id": "C1", "name": "ACME", "custom_properties": {}}
SUBSCRIPTION = {
    "id": "K1",
    "customer_id": "C1",
    "status": "active",
    "start_date": "2024-01-01",
    "currency": "EUR",
    "custom_properties": {},
}
LINE = {"id": "1", "type": "one_off", "net_amount": "10.00", "custom_properties": {}}
INVOICE = {
    "id": "I1",
    "customer_id": "C1",
    "subscription_id": "K1",
    "issue_date": "2024-01-05",
    "status": "open",
    "currency": "EUR",
    "net_amount": "10.00",
    "lines": [LINE],
    "custom_properties": {},
}


@pytest.mark.parametrize(
    ("resource", "payload", "code", "field"),
    [
        pytest.param(
            "customers", {**CUSTOMER, "id": "C\x01"}, "invalid_identifier", "cust_no", id="id"
        ),
        pytest.param(
            "customers", {**CUSTOMER, "root_parent_id": "C1"}, "own_parent", "parent_cust_no"
        ),
        pytest.param(
            "subscriptions",
            {**SUBSCRIPTION, "end_date": "2023-01-01"},
            "end_before_start",
            "end_date",
        ),
        pytest.param(
            "subscriptions",
            {**SUBSCRIPTION, "status": "canceled"},
            "missing_termination_date",
            "terminated_on",
        ),
        pytest.param(
            "invoices", {**INVOICE, "due_date": "2024-01-01"}, "due_before_issue", "due_date"
        ),
        pytest.param(
            "invoices",
            {**INVOICE, "lines": [{**LINE, "quantity": "1.0001"}]},
            "invalid_quantity",
            "lines[0].quantity",
        ),
        pytest.param(
            "invoices",
            {**INVOICE, "lines": [{**LINE, "type": "subscription"}]},
            "missing_period",
            "lines[0].service_from",
        ),
        pytest.param(
            "invoices", {**INVOICE, "net_amount": "11.00"}, "lines_do_not_add_up", "total_net"
        ),
    ],
)
def test_model_gate_names_the_reason_and_erp_column_of_a_rule_across_fields(
    resource, payload, code, field
) -> None:
    got = model_gate.check(resource, payload)

    assert (got.reason_code, got.field) == (code, field)


def test_model_gate_and_mapping_word_lines_that_do_not_add_up_the_same() -> None:
    head = SimpleNamespace(
        invoice_no="I1",
        cust_no="C1",
        contract_no="K1",
        doc_status="ISSUED",
        invoice_date=D(2024, 1, 5),
        due_date=None,
        currency="EUR",
        total_net="11.00",
        total_tax=None,
    )
    line = SimpleNamespace(
        line_no=1,
        line_kind="ONE_OFF",
        description=None,
        quantity=None,
        net_amount="10.00",
        service_from=None,
        service_to=None,
    )

    mapped = map_invoice(head, [line], D(2024, 6, 1))
    gated = model_gate.check("invoices", {**INVOICE, "net_amount": "11.00"})

    assert mapped.problems == [gated]
    assert (
        gated.message == "The invoice lines add up to 10.00, not to the invoice net total '11.00'."
    )


CUSTOMER_ROW = {
    "cust_no": "C1",
    "company_name": "A",
    "email": None,
    "country_code": "FR",
    "postal_code": None,
    "parent_cust_no": None,
}
CONTRACT_ROW = {
    "contract_no": "K1",
    "cust_no": "C1",
    "plan_code": None,
    "status": "ACTIVE",
    "start_date": "2024-01-01",
    "end_date": None,
    "terminated_on": None,
    "currency": "EUR",
    "monthly_fee": None,
}


@pytest.mark.parametrize(
    ("mapped", "code", "field"),
    [
        pytest.param(
            lambda: map_customer(SimpleNamespace(**{**CUSTOMER_ROW, "country_code": "uk"})),
            "unknown_country",
            "country_code",
            id="country",
        ),
        pytest.param(
            lambda: map_subscription(SimpleNamespace(**{**CONTRACT_ROW, "currency": "RMB"})),
            "unknown_currency",
            "currency",
            id="currency",
        ),
        pytest.param(
            lambda: map_subscription(SimpleNamespace(**{**CONTRACT_ROW, "end_date": "2023-01-01"})),
            "end_before_start",
            "end_date",
            id="end-before-start",
        ),
    ],
)
def test_mapping_records_the_rules_refusal_with_the_erp_column(mapped, code, field) -> None:
    problems = mapped().problems

    assert [(p.reason_code, p.field) for p in problems] == [(code, field)]


def test_mapping_refuses_a_huge_amount_as_an_invalid_amount_instead_of_failing_to_read_it() -> None:
    row = SimpleNamespace(**{**CONTRACT_ROW, "monthly_fee": "1E+30"})

    problems = map_subscription(row).problems

    assert [(p.reason_code, p.field) for p in problems] == [("invalid_amount", "monthly_fee")]


@pytest.mark.parametrize("field", sorted(AMOUNT_FIELDS))
def test_hashing_and_reconciliation_read_the_same_amount_fields_as_numbers(field) -> None:
    assert payload_hash({field: "10.5"}) == payload_hash({field: "10.50"})
    assert differing_fields({field: "10.5"}, {field: "10.50"}) == ()


def test_the_mapping_imports_no_validation_module() -> None:
    code = (
        "import sys, fincome_airflow.transform.mapping;"
        "print(sorted(m for m in sys.modules if m.startswith('fincome_airflow.validation')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
