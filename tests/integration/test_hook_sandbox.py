"""FincomeHook against the sandbox over real HTTP: answers, faults, and the request budget."""

from __future__ import annotations

import threading
import time

import pytest
from support.connections import fincome_conn_json

from fincome_airflow.exceptions import FincomeConfigError
from fincome_airflow.hooks.fincome import FincomeHook


def make_hook(monkeypatch, sandbox, *, api_key: str | None = None, **extra) -> FincomeHook:
    settings = {"requests_per_second": 500, "max_concurrency": 8, "timeout": 5, "retry_budget": 60}
    conn = fincome_conn_json(api_key or sandbox.api_key, settings | extra, host=sandbox.base_url)
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn)
    return FincomeHook()


def record_sends(hook: FincomeHook) -> list[tuple[float, float, object, str | None]]:
    """Record ``(start, end, status or exception name, Retry-After)`` of every request."""
    events: list[tuple[float, float, object, str | None]] = []
    lock = threading.Lock()
    session = hook.get_conn()
    send = session.send

    def timed_send(request, **kwargs):
        start = time.monotonic()
        try:
            response = send(request, **kwargs)
        except Exception as e:
            with lock:
                events.append((start, time.monotonic(), type(e).__name__, None))
            raise
        with lock:
            events.append(
                (start, time.monotonic(), response.status_code, response.headers.get("Retry-After"))
            )
        return response

    session.send = timed_send
    return events


def customers(n: int, prefix: str = "c") -> list[tuple[str, dict]]:
    return [
        (f"{prefix}{i:04d}", {"id": f"{prefix}{i:04d}", "name": f"Customer {i}"}) for i in range(n)
    ]


INVOICE_WITHOUT_PARENTS = {
    "id": "inv-1",
    "customer_id": "nobody",
    "subscription_id": "nothing",
    "issue_date": "2026-02-01",
    "status": "paid",
    "currency": "EUR",
    "net_amount": "10.00",
}


def test_upsert_get_list_delete_round_trip(monkeypatch, sandbox):
    hook = make_hook(monkeypatch, sandbox)

    created = hook.upsert("customers", {"id": "a/1", "name": "Acme"})
    updated = hook.upsert("customers", {"id": "a/1", "name": "Acme SA"})
    for _record_id, payload in customers(4):
        hook.upsert("customers", payload)

    assert (created.kind, created.http_status) == ("created", 201)
    assert (updated.kind, updated.http_status) == ("updated", 200)
    assert hook.get("customers", "a/1")["name"] == "Acme SA"
    assert hook.get("customers", "missing") is None
    assert [c["id"] for c in hook.list("customers", limit=2)] == [
        "a/1",
        "c0000",
        "c0001",
        "c0002",
        "c0003",
    ]
    assert hook.delete("customers", "a/1").kind == "deleted"
    assert hook.delete("customers", "a/1").kind == "absent"
    assert sandbox.stats()["requests"]["GET /customers"] == {"200": 3}


def test_test_connection_against_the_sandbox(monkeypatch, sandbox):
    assert make_hook(monkeypatch, sandbox).test_connection()[0] is True
    ok, message = make_hook(monkeypatch, sandbox, api_key="wrong-key-123").test_connection()
    assert ok is False
    assert "401" in message


def test_422_is_not_retried_and_carries_the_reason(monkeypatch, sandbox):
    hook = make_hook(monkeypatch, sandbox)

    outcome = hook.upsert("invoices", INVOICE_WITHOUT_PARENTS)

    assert (outcome.kind, outcome.http_status, outcome.attempts) == ("rejected", 422, 1)
    assert "customer_id" in outcome.reason or "subscription_id" in outcome.reason
    assert "nobody" not in outcome.reason  # the echoed input is not kept
    assert sandbox.stats()["requests"]["POST /invoices"] == {"422": 1}


def test_401_fails_fast_without_retry(monkeypatch, sandbox):
    hook = make_hook(monkeypatch, sandbox, api_key="not-the-key-456", max_concurrency=1)

    with pytest.raises(FincomeConfigError, match="401"):
        list(hook.upsert_many("customers", customers(50)))

    stats = sandbox.stats()
    assert stats["total_requests"] == 1
    assert hook.retries == 0


def test_429_retry_after_is_honoured(monkeypatch, sandbox_factory):
    sandbox = sandbox_factory(rate_limit=1)
    hook = make_hook(monkeypatch, sandbox, max_concurrency=1, requests_per_second=50)
    events = record_sends(hook)

    outcomes = list(hook.upsert_many("customers", customers(4)))

    assert {o.kind for o in outcomes} == {"created"}
    limited = [i for i, e in enumerate(events) if e[2] == 429]
    assert limited, "the sandbox should have rate limited this client"
    for i in limited:
        _, answered_at, _, retry_after = events[i]
        next_start = events[i + 1][0]
        assert next_start - answered_at >= float(retry_after)
    assert hook.rate_limited == len(limited) == sandbox.stats()["rate_limited"]


def test_503_answers_are_retried(monkeypatch, sandbox_factory):
    sandbox = sandbox_factory(error_rate=0.3, seed=7)
    hook = make_hook(monkeypatch, sandbox)

    outcomes = list(hook.upsert_many("customers", customers(40)))

    assert {o.kind for o in outcomes} <= {"created", "updated"}
    stats = sandbox.stats()
    assert stats["faults"]["error"] > 0
    assert hook.retries == stats["faults"]["error"]
    assert len(sandbox.dump()["customers"]) == 40


def test_dropped_connections_are_retried(monkeypatch, sandbox_factory):
    sandbox = sandbox_factory(reset_rate=0.25, seed=3)
    hook = make_hook(monkeypatch, sandbox)

    outcomes = list(hook.upsert_many("customers", customers(40)))

    assert {o.kind for o in outcomes} <= {"created", "updated"}
    assert sandbox.stats()["faults"]["reset"] > 0
    assert hook.retries >= sandbox.stats()["faults"]["reset"]
    assert len(sandbox.dump()["customers"]) == 40


def test_stalled_requests_time_out_and_are_retried(monkeypatch, sandbox_factory):
    sandbox = sandbox_factory(stall_rate=0.2, stall_seconds=30, seed=5)
    hook = make_hook(monkeypatch, sandbox, timeout=0.5)
    events = record_sends(hook)

    outcomes = list(hook.upsert_many("customers", customers(20)))

    assert {o.kind for o in outcomes} <= {"created", "updated"}
    timeouts = [e for e in events if e[2] == "ReadTimeout"]
    assert len(timeouts) == sandbox.stats()["faults"]["stall"] > 0
    assert all(end - start >= 0.5 for start, end, _, _ in timeouts)
    assert len(sandbox.dump()["customers"]) == 20


def test_request_budget_holds_concurrency_and_rate(monkeypatch, sandbox_factory):
    sandbox = sandbox_factory(latency_ms=30, rate_limit=20)
    hook = make_hook(monkeypatch, sandbox, requests_per_second=20, max_concurrency=3)

    outcomes = list(hook.upsert_many("customers", customers(100)))

    assert len(outcomes) == 100
    stats = sandbox.stats()
    assert stats["max_in_flight"] <= 3
    assert stats["max_requests_per_second"] <= 20
    assert stats["rate_limited"] == 0


def test_concurrency_is_used_but_never_exceeded(monkeypatch, sandbox_factory):
    sandbox = sandbox_factory(latency_ms=40)
    hook = make_hook(monkeypatch, sandbox, requests_per_second=1000, max_concurrency=5)

    list(hook.upsert_many("customers", customers(150)))

    stats = sandbox.stats()
    assert 2 <= stats["max_in_flight"] <= 5
    assert stats["total_requests"] == 150


def test_delete_many_against_the_sandbox(monkeypatch, sandbox):
    hook = make_hook(monkeypatch, sandbox)
    list(hook.upsert_many("customers", customers(10)))

    outcomes = list(hook.delete_many("customers", [f"c{i:04d}" for i in range(12)]))

    kinds = sorted(o.kind for o in outcomes)
    assert kinds.count("deleted") == 10 and kinds.count("absent") == 2
    assert sandbox.dump()["customers"] == {}
