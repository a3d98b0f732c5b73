"""The extraction's report counts each decision once, by its kind, and sums the net of issued
invoices staged or refused per currency (staged ones apart too)."""

from __future__ import annotations

from decimal import Decimal

from fincome_airflow.reasons import blocked, problem
from fincome_airflow.stage.report import ReportBuilder, ResourceCounts, StageReport
from fincome_airflow.validation.decisions import Decision


def _invoice(kind, net=None, currency=None, month=None, problems=None) -> Decision:
    d = Decision("invoices", "I", kind, problems=problems or [], currency=currency)
    d.net_amount, d.month = net, month
    return d


def test_the_report_counts_kinds_months_reasons_and_invoice_nets() -> None:
    refused = [problem("unknown_currency", "currency", "ZZZ")]
    decisions = [
        _invoice("stage", Decimal("10.50"), "EUR", "2026-10"),
        _invoice("stage", Decimal("1.00"), "EUR", "2026-09"),
        _invoice("stage", Decimal("5.00"), "USD", None),
        _invoice("stage", None, "EUR", "2026-10"),  # no net read: not summed
        _invoice("stage", Decimal("7.00"), None, "2026-10"),  # no currency: not summed
        _invoice("reject", Decimal("2.00"), "EUR", "2026-08", refused),  # summed, not staged
        _invoice("reject", Decimal("3.00"), "EUR", None, [blocked("customers", "C1", "cust_no")]),
        _invoice("delete", Decimal("4.00"), "EUR", "2026-07"),  # a month, no net
        _invoice("skip", Decimal("8.00"), "EUR", "2026-06"),  # neither
        Decision("subscriptions", "K1", "stage", currency="EUR", net_amount=Decimal("9")),
        Decision("subscriptions", "K2", "reject", problems=refused, net_amount=Decimal("9")),
        Decision("customers", "C2", "reject"),  # no problem named: counted invalid_value
    ]
    builder = ReportBuilder(StageReport("r", "2026-10", False, "w"))
    for d in decisions:
        builder.add(d)
    report = builder.finish()
    assert report.counts == {
        "invoices": ResourceCounts(
            extracted=9, valid=5, rejected=1, blocked=1, to_delete=1, skipped=1
        ),
        "subscriptions": ResourceCounts(extracted=2, valid=1, rejected=1),
        "customers": ResourceCounts(extracted=1, blocked=1),  # (no reason: all blocked)
    }
    assert report.net_by_currency == {"EUR": "16.50", "USD": "5.00"}
    assert report.staged_net_by_currency == {"EUR": "11.50", "USD": "5.00"}
    assert report.invoice_months == ["2026-07", "2026-09", "2026-10"]
    assert report.top_reasons == [
        ("unknown_currency", 2),
        ("parent_rejected", 1),
        ("invalid_value", 1),
    ]
