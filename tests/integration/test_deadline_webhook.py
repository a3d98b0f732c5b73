"""The deadline callback's webhook (``fincome_airflow.deadline.callback``) over real HTTP: a local
receiver, an unreachable address."""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.deadline import CONTEXT, SECRET_PATH, deadline_callback


@pytest.fixture
def cb():
    return deadline_callback()


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
