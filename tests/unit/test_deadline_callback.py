"""``fincome_airflow.deadline.callback``: what the triggerer awaits when a run misses its
deadline, registered by ``plugins/fincome_deadline.py``."""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest
from support.deadline import CONTEXT, SECRET_PATH, deadline_callback
from support.paths import PLUGINS


@pytest.fixture
def cb():
    return deadline_callback()


def test_plugin_registers_the_callback_under_the_path_the_alerts_name(cb, monkeypatch):
    from fincome_airflow.deadline.alerts import CALLBACK_PATH

    monkeypatch.syspath_prepend(str(PLUGINS))
    module, _, name = CALLBACK_PATH.rpartition(".")
    assert getattr(importlib.import_module(module), name) is cb.on_deadline_missed


def test_describe_miss_returns_run_identity_when_given_airflow_context(cb):
    assert cb.describe_miss(CONTEXT) == {
        "dag_id": "fincome_monthly_load",
        "run_id": "scheduled__2026-11-01T02:00:00+00:00",
        "run_type": "scheduled",
        "logical_date": "2026-11-01T02:00:00Z",
        "month": "2026-10",
        "queued_at": "2026-11-01T02:00:03.120000Z",
        "state": "running",
        "deadline_time": "2026-11-01T08:00:03+00:00",
        "deadline_id": "01a212a7-a6b4-79f9-b0f9-1676af6c170f",
    }


def test_describe_miss_leaves_gaps_when_context_is_partial(cb):
    miss = cb.describe_miss({"dag_run": {"dag_id": "d", "conf": None}, "deadline": {}})
    assert miss["dag_id"] == "d"
    assert miss["month"] is None
    assert miss["deadline_time"] is None


def test_callback_logs_identity_and_returns_summary_when_no_notifier(cb, caplog):
    with caplog.at_level("INFO", logger=cb.__name__):
        output = asyncio.run(cb.on_deadline_missed(CONTEXT))
    assert isinstance(output, str)
    assert "scheduled__2026-11-01T02:00:00+00:00" in output
    assert "month=2026-10" in caplog.text
    assert "deadline=2026-11-01T08:00:03+00:00" in caplog.text
    assert "logged only" in caplog.text
    assert "never-logged" not in caplog.text


def test_callback_appends_json_line_when_record_path_given(cb, tmp_path):
    record = tmp_path / "sub" / "missed.jsonl"
    asyncio.run(cb.on_deadline_missed(CONTEXT, record_path=str(record)))
    asyncio.run(cb.on_deadline_missed(CONTEXT, record_path=str(record)))
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(lines) == 2
    assert lines[0] == cb.describe_miss(CONTEXT)


def test_build_notifiers_raises_when_smtp_has_no_recipient(cb):
    with pytest.raises(ValueError, match="email_to"):
        cb.build_notifiers(cb.describe_miss(CONTEXT), smtp_conn_id="smtp_ops")


def test_build_notifiers_is_empty_when_nothing_configured(cb):
    assert cb.build_notifiers(cb.describe_miss(CONTEXT)) == []


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(
            RuntimeError("500:Internal Server Error"), "RuntimeError: 500:Internal", id="http"
        ),
        pytest.param(
            OSError(f"cannot reach https://hooks{SECRET_PATH}"), "OSError", id="url-hidden"
        ),
    ],
)
def test_safe_error_keeps_only_http_status_when_formatting(cb, exc, expected):
    assert cb._safe_error(exc).startswith(expected)
    assert "s3cr3t" not in cb._safe_error(exc)
