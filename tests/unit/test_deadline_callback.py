"""``fincome_airflow.deadline.callback``: what the triggerer awaits when a run misses its
deadline, registered by ``plugins/fincome_deadline.py``."""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET_PATH = "/services/T000/B000/s3cr3t-webhook-token"

#: What ``Deadline.handle_miss`` injects: the REST API's DAG run as JSON, and the deadline.
CONTEXT = {
    "dag_run": {
        "dag_run_id": "scheduled__2026-11-01T02:00:00+00:00",
        "dag_id": "fincome_monthly_load",
        "logical_date": "2026-11-01T02:00:00Z",
        "queued_at": "2026-11-01T02:00:03.120000Z",
        "run_after": "2026-11-01T02:00:00Z",
        "run_type": "scheduled",
        "state": "running",
        "conf": {"month": "2026-10", "api_key": "never-logged"},
    },
    "deadline": {
        "id": "01a212a7-a6b4-79f9-b0f9-1676af6c170f",
        "deadline_time": "2026-11-01T08:00:03+00:00",
    },
}


@pytest.fixture
def cb():
    return importlib.import_module("fincome_airflow.deadline.callback")


def test_plugin_registers_the_callback_under_the_path_the_alerts_name(cb, monkeypatch):
    from fincome_airflow.deadline.alerts import CALLBACK_PATH

    monkeypatch.syspath_prepend(str(REPO / "plugins"))
    module, _, name = CALLBACK_PATH.rpartition(".")
    assert getattr(importlib.import_module(module), name) is cb.on_deadline_missed


class _Recorder(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch) -> Iterator[type[_Recorder]]:
    """A local webhook receiver, reachable through the ``ops_webhook`` http connection."""
    recorder = type("Recorder", (_Recorder,), {"requests": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AIRFLOW_CONN_OPS_WEBHOOK", json.dumps({"conn_type": "http", "host": host}))
    yield recorder
    server.shutdown()
    server.server_close()


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


def test_callback_posts_json_to_webhook_when_http_conn_id_given(cb, webhook):
    asyncio.run(
        cb.on_deadline_missed(CONTEXT, http_conn_id="ops_webhook", http_endpoint="hooks/airflow")
    )
    ((path, body),) = webhook.requests
    assert path == "/hooks/airflow"
    assert body["event"] == "deadline_missed"
    assert body["run_id"] == "scheduled__2026-11-01T02:00:00+00:00"
    assert body["month"] == "2026-10"
    assert "fincome_monthly_load" in body["text"]
    assert "api_key" not in json.dumps(body)


def test_callback_raises_without_logging_url_when_webhook_unreachable(cb, monkeypatch, caplog):
    unreachable = {"conn_type": "http", "host": "http://127.0.0.1:9"}
    monkeypatch.setenv("AIRFLOW_CONN_OPS_WEBHOOK", json.dumps(unreachable))
    with caplog.at_level("INFO"), pytest.raises(RuntimeError, match="webhook ops_webhook"):
        asyncio.run(
            cb.on_deadline_missed(CONTEXT, http_conn_id="ops_webhook", http_endpoint=SECRET_PATH)
        )
    assert "Deadline notification through webhook ops_webhook failed" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_callback_still_emails_when_webhook_fails(cb, webhook, monkeypatch):
    webhook.status = 500
    sent = []

    async def fake_async_notify(self, context):
        sent.append(self)

    smtp = importlib.import_module("airflow.providers.smtp.notifications.smtp")
    monkeypatch.setattr(smtp.SmtpNotifier, "async_notify", fake_async_notify)
    with pytest.raises(RuntimeError, match="webhook ops_webhook") as failure:
        asyncio.run(
            cb.on_deadline_missed(
                CONTEXT,
                http_conn_id="ops_webhook",
                smtp_conn_id="smtp_ops",
                email_to=["finance@example.com"],
            )
        )
    assert "e-mail" not in str(failure.value)
    (notifier,) = sent
    assert notifier.smtp_conn_id == "smtp_ops"
    assert notifier.to == ["finance@example.com"]
    assert "scheduled__2026-11-01T02:00:00+00:00" in notifier.subject
    assert "2026-10" in notifier.html_content


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
