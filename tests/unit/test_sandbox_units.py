"""Unit tests of the sandbox's pure parts: store, rate limiter, fault draws, statistics."""

from __future__ import annotations

import json

import pytest

from fincome_sandbox.config import FaultOptions, ResetRequest
from fincome_sandbox.faults import FaultInjector, RateLimiter
from fincome_sandbox.main import openapi_document
from fincome_sandbox.stats import Stats
from fincome_sandbox.store import RecordStore


def test_store_pages_by_id_after_the_cursor_even_when_the_cursor_is_unknown():
    store = RecordStore()
    for record_id in ["b", "d", "a", "c"]:
        store.upsert("customers", {"id": record_id})

    first, more = store.page("customers", 2)
    rest, no_more = store.page("customers", 2, starting_after="bb")

    assert ([r["id"] for r in first], more) == (["a", "b"], True)
    assert ([r["id"] for r in rest], no_more) == (["c", "d"], False)


def test_store_upsert_keeps_updated_at_when_the_body_is_unchanged():
    store = RecordStore()
    first, created = store.upsert("customers", {"id": "a", "name": "x"})
    again, created_again = store.upsert("customers", {"id": "a", "name": "x"})
    changed, _ = store.upsert("customers", {"id": "a", "name": "y"})

    assert (created, created_again) == (True, False)
    assert again["updated_at"] == first["updated_at"]
    assert changed["created_at"] == first["created_at"]


def test_store_reloads_its_records_from_the_sqlite_file(tmp_path):
    path = str(tmp_path / "s.db")
    store = RecordStore(path)
    store.upsert("invoices", {"id": "i2"})
    store.upsert("invoices", {"id": "i1"})
    store.upsert("invoices", {"id": "i3"})
    store.delete("invoices", "i3")
    store.close()

    reloaded = RecordStore(path)

    assert list(reloaded.dump()["invoices"]) == ["i1", "i2"]


def test_rate_limiter_allows_a_one_second_burst_then_asks_to_retry_after_1_second():
    limiter = RateLimiter(rate=3)

    answers = [limiter.acquire() for _ in range(4)]

    assert answers == [None, None, None, 1]


def test_rate_limiter_retry_after_is_whole_seconds_below_one_request_per_second():
    limiter = RateLimiter(rate=0.25)

    assert limiter.acquire() is None
    assert limiter.acquire() == 4


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({"reset_rate": 1.0}, {"reset"}, id="reset"),
        pytest.param({"stall_rate": 1.0}, {"stall"}, id="stall"),
        pytest.param({"error_rate": 1.0}, {"error"}, id="error"),
        pytest.param({}, {None}, id="none"),
        pytest.param({"reset_rate": 0.5, "error_rate": 0.5}, {"reset", "error"}, id="mixed"),
    ],
)
def test_fault_injector_draws_only_the_configured_faults(options, expected):
    injector = FaultInjector(FaultOptions(seed=1, **options))

    assert {injector.draw() for _ in range(200)} == expected


def test_fault_injector_draws_the_same_faults_for_the_same_seed():
    def draws() -> list[str | None]:
        injector = FaultInjector(FaultOptions(error_rate=0.3, reset_rate=0.1, seed=9))
        return [injector.draw() for _ in range(100)]

    assert draws() == draws()


def test_stats_count_the_peak_in_flight_and_survive_a_reset_mid_request():
    stats = Stats()
    stats.started()
    stats.started()
    stats.finished("GET /customers", 200)
    stats.reset()
    stats.finished("GET /customers", 200)

    snapshot = stats.snapshot()

    assert snapshot["in_flight"] == 0
    assert snapshot["max_in_flight"] == 1
    assert snapshot["requests"] == {"GET /customers": {"200": 1}}


def test_reset_request_overrides_only_the_fields_it_sets():
    start = FaultOptions(latency_ms=20, error_rate=0.1, seed=1)

    options = ResetRequest(error_rate=0.5).apply_to(start)

    assert (options.latency_ms, options.error_rate, options.seed) == (20, 0.5, 1)


def test_openapi_document_is_json_serialisable_and_names_the_api_key_scheme():
    document = json.loads(json.dumps(openapi_document()))

    assert "APIKey" in document["components"]["securitySchemes"]


def test_stats_find_the_busiest_one_second_window(monkeypatch):
    clock = iter([0.0, 0.2, 0.9, 1.0, 1.1, 1.15, 3.0])
    monkeypatch.setattr("fincome_sandbox.stats.time.monotonic", lambda: next(clock))
    stats = Stats()

    for _ in range(7):
        stats.started()

    assert stats.snapshot()["max_requests_per_second"] == 5
