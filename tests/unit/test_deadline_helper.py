"""``fincome_airflow.deadline.alerts``: the Deadline Alert, its settings, the ``dags test``
switch."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from airflow.sdk import AsyncCallback, DeadlineReference

from fincome_airflow.deadline import alerts as deadline

REPO = Path(__file__).resolve().parents[2]
SCHEDULER = ["/opt/airflow/.venv/bin/airflow", "scheduler"]
DAGS_TEST = ["/opt/venv/bin/airflow", "dags", "test", "fincome_monthly_load", "2026-11-01"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("6h", timedelta(hours=6), id="hours"),
        pytest.param("90m", timedelta(minutes=90), id="minutes"),
        pytest.param(" 30s ", timedelta(seconds=30), id="seconds-padded"),
        pytest.param("1d", timedelta(days=1), id="days"),
        pytest.param("1.5H", timedelta(minutes=90), id="fraction-uppercase"),
        pytest.param("45", timedelta(seconds=45), id="bare-seconds"),
        pytest.param(timedelta(hours=2), timedelta(hours=2), id="timedelta"),
    ],
)
def test_parse_interval_reads_value_when_well_formed(value, expected):
    assert deadline.parse_interval(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("6 hours", id="word-unit"),
        pytest.param("-1h", id="negative"),
        pytest.param("0s", id="zero"),
        pytest.param(timedelta(0), id="zero-timedelta"),
    ],
)
def test_parse_interval_raises_when_malformed_or_not_positive(value):
    with pytest.raises(ValueError, match="Deadline interval"):
        deadline.parse_interval(value)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(DAGS_TEST, True, id="airflow-script"),
        pytest.param(["/x/lib/airflow/__main__.py", "dags", "test", "d"], True, id="python-m"),
        pytest.param(SCHEDULER, False, id="scheduler"),
        pytest.param(["/x/bin/airflow", "dag-processor"], False, id="dag-processor"),
        pytest.param(["/x/bin/airflow", "dags", "reserialize"], False, id="reserialize"),
        pytest.param(["/x/bin/airflow", "dags", "list"], False, id="dags-list"),
        pytest.param(["/x/bin/pytest", "dags", "test"], False, id="other-program"),
        pytest.param(["/x/__main__.py", "dags", "test"], False, id="other-main"),
        pytest.param([], False, id="empty"),
    ],
)
def test_is_dags_test_command_recognises_only_airflow_dags_test(argv, expected):
    assert deadline.is_dags_test_command(argv) is expected


@pytest.mark.parametrize(
    ("mode", "argv", "expected"),
    [
        pytest.param(None, SCHEDULER, True, id="auto-scheduler"),
        pytest.param(None, DAGS_TEST, False, id="auto-dags-test"),
        pytest.param("AUTO", DAGS_TEST, False, id="auto-case"),
        pytest.param("", DAGS_TEST, False, id="empty-is-auto"),
        pytest.param("on", DAGS_TEST, True, id="on-dags-test"),
        pytest.param("off", SCHEDULER, False, id="off-scheduler"),
    ],
)
def test_deadline_enabled_follows_mode_and_command(mode, argv, expected):
    environ = {} if mode is None else {deadline.ENV_MODE: mode}
    assert deadline.deadline_enabled(environ, argv) is expected


def test_deadline_enabled_raises_when_mode_unknown():
    with pytest.raises(ValueError, match="FINCOME_DEADLINE"):
        deadline.deadline_enabled({deadline.ENV_MODE: "sometimes"}, SCHEDULER)


def test_deadline_enabled_logs_why_when_omitting_for_dags_test(caplog):
    with caplog.at_level("WARNING", logger=deadline.__name__):
        deadline.deadline_enabled({}, DAGS_TEST)
    assert "airflow dags test" in caplog.text
    assert "'hex'" in caplog.text


def test_deadline_alerts_defaults_to_six_hours_after_queued_when_nothing_configured():
    (alert,) = deadline.deadline_alerts(environ={}, argv=SCHEDULER)
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == timedelta(hours=6)
    assert alert.name == "fincome_sla"
    assert isinstance(alert.callback, AsyncCallback)
    assert alert.callback.path == "fincome_deadline.on_deadline_missed"
    assert alert.callback.kwargs == {}


def test_deadline_alerts_reads_settings_when_environment_sets_them():
    environ = {
        deadline.ENV_INTERVAL: "90m",
        deadline.ENV_HTTP_CONN_ID: "ops_webhook",
        deadline.ENV_HTTP_ENDPOINT: "/hooks/airflow",
        deadline.ENV_SMTP_CONN_ID: "smtp_default",
        deadline.ENV_EMAIL_TO: "finance@example.com, ops@example.com",
        deadline.ENV_EMAIL_FROM: "airflow@example.com",
        deadline.ENV_RECORD_PATH: "/tmp/missed.jsonl",
    }
    (alert,) = deadline.deadline_alerts(environ=environ, argv=SCHEDULER)
    assert alert.interval == timedelta(minutes=90)
    assert alert.callback.kwargs == {
        "http_conn_id": "ops_webhook",
        "http_endpoint": "/hooks/airflow",
        "smtp_conn_id": "smtp_default",
        "email_to": ["finance@example.com", "ops@example.com"],
        "email_from": "airflow@example.com",
        "record_path": "/tmp/missed.jsonl",
    }


def test_deadline_alerts_prefers_arguments_when_both_given():
    environ = {deadline.ENV_INTERVAL: "90m", deadline.ENV_HTTP_CONN_ID: "from_env"}
    (alert,) = deadline.deadline_alerts(
        timedelta(hours=2), environ=environ, argv=SCHEDULER, http_conn_id="from_arg"
    )
    assert alert.interval == timedelta(hours=2)
    assert alert.callback.kwargs == {"http_conn_id": "from_arg"}


def test_deadline_alerts_raises_when_smtp_has_no_recipient():
    with pytest.raises(ValueError, match="FINCOME_DEADLINE_EMAIL_TO"):
        deadline.deadline_alerts(
            environ={deadline.ENV_SMTP_CONN_ID: "smtp_default"}, argv=SCHEDULER
        )


def test_deadline_alerts_is_empty_when_airflow_dags_test_parses():
    assert deadline.deadline_alerts(environ={}, argv=DAGS_TEST) == []


def test_deadline_alerts_still_validates_settings_when_omitted():
    with pytest.raises(ValueError, match="Deadline interval"):
        deadline.deadline_alerts(environ={deadline.ENV_INTERVAL: "soon"}, argv=DAGS_TEST)


def test_dagbag_parse_carries_deadline_when_not_dags_test(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    for key in (deadline.ENV_MODE, deadline.ENV_INTERVAL):
        monkeypatch.delenv(key, raising=False)
    bag = DagBag(dag_folder=str(REPO / "tests" / "dags_deadline"))
    assert bag.import_errors == {}
    (alert,) = bag.dags["fincome_deadline_probe"].deadline
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == timedelta(hours=6)
    assert alert.callback.path == deadline.CALLBACK_PATH
