"""The API key never shows in logs, exception texts, send results, the state DB or the XCom."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select
from support.connections import FINCOME_BASE, fincome_conn_json, sqlite_conn_json

from fincome_airflow.exceptions import FincomeConfigError
from fincome_airflow.hooks.fincome import FincomeHook
from fincome_airflow.hooks.redact import MASK, Redactor
from fincome_airflow.operators import FincomeLoadOperator
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore

BASE = FINCOME_BASE
API_KEY = "sk_live_ECHOED+KEY/42"


@pytest.fixture(autouse=True)
def connections(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", fincome_conn_json(API_KEY, {"retry_budget": 2}))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))


def echo_body(request) -> dict:
    """What a careless API does: echo the request, headers included, in its error body."""
    return {
        "detail": [
            {
                "loc": ["header", "x-api-key"],
                "msg": f"request with key {request.headers['X-API-KEY']} failed",
                "input": dict(request.headers),
            }
        ],
        "request": {"headers": dict(request.headers), "url": request.url},
    }


@pytest.mark.parametrize(
    "forms",
    [
        pytest.param(API_KEY, id="plain"),
        pytest.param(quote(API_KEY, safe=""), id="url-encoded"),
        pytest.param(json.dumps(API_KEY)[1:-1], id="json-escaped"),
    ],
)
def test_redactor_masks_every_form_of_the_key(forms):
    assert Redactor(API_KEY)(f"before {forms} after") == f"before {MASK} after"


def test_redactor_without_secret_is_identity():
    assert Redactor(None, "")("text") == "text"


@pytest.mark.parametrize("status", [422, 500, 400])
def test_send_result_reason_is_scrubbed_when_the_api_echoes_the_key(status, requests_mock, capsys):
    def answer(request, context):
        context.status_code = status
        return echo_body(request)

    requests_mock.post(f"{BASE}/customers", json=answer)
    hook = FincomeHook(sleep=lambda s: None)

    outcome = hook.upsert("customers", {"id": "c1"})

    assert outcome.kind in ("rejected", "failed")
    assert API_KEY not in repr(outcome)
    assert API_KEY not in capsys.readouterr().out


def test_auth_error_text_is_scrubbed(requests_mock):
    def answer(request, context):
        context.status_code = 401
        return echo_body(request)

    requests_mock.post(f"{BASE}/customers", json=answer)

    with pytest.raises(FincomeConfigError) as excinfo:
        FincomeHook().upsert("customers", {"id": "c1"})

    assert API_KEY not in str(excinfo.value)
    assert API_KEY not in repr(excinfo.value.__cause__)


def test_connection_error_text_is_scrubbed(requests_mock):
    requests_mock.get(
        f"{BASE}/customers", exc=requests.ConnectionError(f"proxy said: bad key {API_KEY}")
    )

    ok, message = FincomeHook().test_connection()

    assert ok is False
    assert API_KEY not in message


def test_full_operator_run_leaves_no_trace_of_the_key(tmp_path, requests_mock, capsys, caplog):
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    store.ensure_schema()
    store.insert_rows(
        schema.staged,
        [
            {
                "run_key": "r",
                "resource": "customers",
                "record_id": f"c{i}",
                "action": "upsert",
                "payload": json.dumps({"id": f"c{i}"}),
                "payload_hash": f"h{i}",
            }
            for i in range(12)
        ],
    )
    statuses = {"c1": 422, "c2": 500, "c3": 429}

    def answer(request, context):
        status = statuses.get(request.json()["id"], 201)
        context.status_code = status
        if status == 429:
            context.headers["Retry-After"] = "0"
        return echo_body(request)

    requests_mock.post(f"{BASE}/customers", json=answer)
    op = FincomeLoadOperator(
        task_id="load", resource="customers", run_key="r", fail_on_failed=False
    )

    with caplog.at_level("DEBUG"):
        xcom = op.execute({})

    assert xcom["rejected"] == 1 and xcom["failed"] == 2
    captured = capsys.readouterr()
    assert API_KEY not in captured.out + captured.err + caplog.text
    assert API_KEY not in json.dumps(xcom)
    with store.begin() as conn:
        stored = [dict(r) for r in conn.execute(select(schema.outcomes)).mappings()]
    assert stored and API_KEY not in json.dumps(stored, default=str)
    assert any("***" in (r["reason"] or "") for r in stored)
