"""The watermark's settings and how the extraction binds them (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from fincome_airflow.extract.scope import LoadScope
from fincome_airflow.extract.watermark import (
    DEFAULT_OVERLAP,
    ENV_HORIZON,
    ENV_OVERLAP,
    WatermarkSettings,
    read_horizon,
)

OCT_1, NOV_1 = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


def test_settings_default_to_a_two_hour_overlap_and_the_horizon_when_nothing_is_set():
    assert WatermarkSettings.from_env({}) == WatermarkSettings(DEFAULT_OVERLAP, True)
    assert dt.timedelta(hours=2) == DEFAULT_OVERLAP


@pytest.mark.parametrize(
    ("overlap", "expected"),
    [("30m", dt.timedelta(minutes=30)), ("1d", dt.timedelta(days=1)), ("0", dt.timedelta(0))],
)
def test_the_overlap_reads_durations_and_zero_switches_it_off(overlap, expected):
    assert WatermarkSettings.from_env({ENV_OVERLAP: overlap}).overlap == expected


@pytest.mark.parametrize(
    ("env", "named"),
    [({ENV_OVERLAP: "two hours"}, ENV_OVERLAP), ({ENV_HORIZON: "maybe"}, ENV_HORIZON)],
)
def test_an_unreadable_setting_is_refused_with_its_name(env, named):
    with pytest.raises(ValueError, match=named):
        WatermarkSettings.from_env(env)


def test_the_horizon_can_be_switched_off():
    assert WatermarkSettings.from_env({ENV_HORIZON: "OFF"}).horizon is False


def test_the_queries_read_from_the_watermark_less_the_overlap():
    watermark = dt.datetime(2026, 10, 31, 23, 0)
    scope = LoadScope.for_month(OCT_1, NOV_1, watermark, overlap=dt.timedelta(hours=2))
    assert scope.watermark == watermark
    assert scope.params()["watermark"] == dt.datetime(2026, 10, 31, 21, 0)
    assert scope.params_for("invoices")["watermark"] == dt.datetime(2026, 10, 31, 21, 0)


def test_the_first_load_reads_from_the_month_start_without_overlap():
    scope = LoadScope.for_month(OCT_1, NOV_1, None, overlap=dt.timedelta(hours=2))
    assert scope.changed_since == dt.datetime(2026, 10, 1, 0, 0)


class _SqliteConn:
    class dialect:  # stands for the dialect attribute of a connection
        name = "sqlite"


def test_an_erp_other_than_postgresql_has_no_horizon_and_says_so():
    horizon = read_horizon(_SqliteConn(), WatermarkSettings())  # type: ignore[arg-type]
    assert (horizon.at, horizon.guard) == (None, "overlap")
    assert "sqlite" in horizon.why
