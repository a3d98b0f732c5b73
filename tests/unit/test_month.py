from __future__ import annotations

import datetime as dt

import pytest

from fincome_airflow.month import BillingMonth, resolve_month

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        pytest.param("2026-10", dt.date(2026, 10, 1), dt.date(2026, 11, 1), id="october"),
        pytest.param("2026-12", dt.date(2026, 12, 1), dt.date(2027, 1, 1), id="december-wraps"),
        pytest.param("2024-02", dt.date(2024, 2, 1), dt.date(2024, 3, 1), id="leap-february"),
    ],
)
def test_billing_month_window_is_start_inclusive_end_exclusive(text, start, end):
    month = BillingMonth.parse(text)
    assert (month.start, month.end, str(month)) == (start, end, text)


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "", "october", "1969-12"]
)
def test_billing_month_parse_refuses_what_is_not_a_real_month(text):
    with pytest.raises(ValueError, match="month"):
        BillingMonth.parse(text)


def test_resolve_month_prefers_the_explicit_param():
    interval = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    assert str(resolve_month("2026-03", interval, NOW)) == "2026-03"


def test_resolve_month_uses_the_data_interval_of_a_scheduled_run():
    interval = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    assert str(resolve_month(None, interval, NOW)) == "2026-10"


def test_resolve_month_takes_the_previous_month_for_a_manual_run_without_interval():
    assert str(resolve_month(None, None, NOW)) == "2026-10"
    january = dt.datetime(2027, 1, 5, tzinfo=dt.UTC)
    assert str(resolve_month(None, None, january)) == "2026-12"
