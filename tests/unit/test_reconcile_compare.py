from __future__ import annotations

from decimal import Decimal

from fincome_airflow.reconcile.compare import compare, differing_fields, largest, verdict


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
