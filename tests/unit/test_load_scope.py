"""The parameters a load's scope binds: the month's range, or only the changes (intraday)."""

from __future__ import annotations

import datetime as dt

from fincome_airflow.extract.scope import LoadScope

OCTOBER = (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
MARK = dt.datetime(2026, 10, 15, 8, 0)


def test_a_monthly_scope_binds_the_whole_month_and_the_changes_since_the_overlap():
    scope = LoadScope.for_month(*OCTOBER, MARK, overlap=dt.timedelta(hours=2))

    params = scope.params()

    assert (params["month_start"], params["month_end"]) == OCTOBER
    assert params["watermark"] == dt.datetime(2026, 10, 15, 6, 0)


def test_a_changes_only_scope_binds_an_empty_month_so_only_changed_rows_are_read():
    scope = LoadScope.for_month(
        *OCTOBER, MARK, {"invoices": frozenset({"I2", "I1"})}, changes_only=True
    )

    params = scope.params_for("invoices")

    assert params["month_start"] == params["month_end"] == OCTOBER[0]
    assert params["watermark"] == MARK
    assert params["pending_ids"] == ["I1", "I2"]


def test_a_first_changes_only_scope_reads_the_changes_since_the_start_of_its_month():
    scope = LoadScope.for_month(*OCTOBER, None, overlap=dt.timedelta(hours=2), changes_only=True)

    assert scope.params()["watermark"] == dt.datetime(2026, 10, 1)
