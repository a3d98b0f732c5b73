"""Fault options, statistics and persistence of the Fincome sandbox, over real HTTP."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from fincome_airflow import contract

HEADER = contract.DEFAULT_API_KEY_HEADER
CUSTOMER = {"id": "cus_1", "name": "Acme"}


def get(sandbox, path: str = "/customers", **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 10)
    return requests.get(f"{sandbox.base_url}{path}", headers={HEADER: sandbox.api_key}, **kwargs)


def post(sandbox, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}{path}", headers={HEADER: sandbox.api_key}, json=body, timeout=10
    )


# --- faults set on the command line -----------------------------------------------------------


def test_error_rate_1_answers_every_request_5xx_mostly_503(sandbox_factory):
    sandbox = sandbox_factory(error_rate=1.0, seed=3)

    statuses = [get(sandbox).status_code for _ in range(40)]

    assert all(500 <= status <= 599 for status in statuses)
    assert statuses.count(503) > len(statuses) / 2
    stats = sandbox.stats()
    assert stats["faults"]["error"] == 40
    assert sum(stats["requests"]["GET /customers"].values()) == 40


def test_rate_limit_answers_429_with_an_integer_retry_after_beyond_the_budget(sandbox_factory):
    sandbox = sandbox_factory(rate_limit=5)
    session = requests.Session()
    session.headers[HEADER] = sandbox.api_key

    answers = [session.get(f"{sandbox.base_url}/customers", timeout=10) for _ in range(30)]

    limited = [answer for answer in answers if answer.status_code == 429]
    assert [answer.status_code for answer in answers[:5]] == [200] * 5
    assert limited
    assert all(int(answer.headers[contract.RETRY_AFTER_HEADER]) >= 1 for answer in limited)
    assert sandbox.stats()["rate_limited"] == len(limited)


def test_reset_rate_1_drops_the_connection_without_an_answer(sandbox_factory):
    sandbox = sandbox_factory(reset_rate=1.0)

    with pytest.raises(requests.ConnectionError):
        get(sandbox)

    stats = sandbox.stats()
    assert stats["faults"]["reset"] == 1
    assert stats["requests"]["GET /customers"] == {"reset": 1}


def test_stall_rate_1_makes_the_client_time_out(sandbox_factory):
    sandbox = sandbox_factory(stall_rate=1.0, stall_seconds=30)

    with pytest.raises(requests.Timeout):
        get(sandbox, timeout=0.5)

    stats = sandbox.stats()
    assert stats["faults"]["stall"] == 1
    assert stats["in_flight"] == 1


def test_latency_delays_every_answer_by_at_least_the_latency(sandbox_factory):
    sandbox = sandbox_factory(latency_ms=150)

    started = time.perf_counter()
    answer = get(sandbox)
    elapsed = time.perf_counter() - started

    assert answer.status_code == 200
    assert elapsed >= 0.15


# --- faults changed at run time, seeds --------------------------------------------------------


def test_reset_sets_fault_options_at_run_time_and_back_to_the_start_values(sandbox):
    options = sandbox.reset(error_rate=1.0)
    faulty = get(sandbox).status_code
    sandbox.reset()
    healthy = get(sandbox).status_code

    assert options["error_rate"] == 1.0
    assert 500 <= faulty <= 599
    assert healthy == 200
    assert sandbox.fault_options()["error_rate"] == 0.0


def test_faults_repeat_for_a_seed(sandbox):
    def statuses() -> list[int]:
        sandbox.reset(error_rate=0.5, seed=42)
        return [get(sandbox).status_code for _ in range(30)]

    first, second = statuses(), statuses()

    assert first == second
    assert {200} < set(first)


def test_reset_keeps_the_records_when_asked_and_clears_them_by_default(sandbox):
    post(sandbox, "/customers", CUSTOMER)

    sandbox.reset(clear_store=False)
    kept = get(sandbox, "/customers/cus_1").status_code
    sandbox.reset()
    cleared = get(sandbox, "/customers/cus_1").status_code

    assert (kept, cleared) == (200, 404)


def test_reset_answers_422_for_an_unknown_option(sandbox):
    answer = requests.post(
        f"{sandbox.base_url}/_sandbox/reset",
        headers={HEADER: sandbox.api_key},
        json={"error_rate": 2},
        timeout=10,
    )

    assert answer.status_code == 422


# --- statistics -------------------------------------------------------------------------------


def test_stats_count_requests_per_method_route_template_and_status(sandbox):
    post(sandbox, "/customers", CUSTOMER)
    post(sandbox, "/customers", CUSTOMER)
    get(sandbox, "/customers/cus_1")
    get(sandbox, "/customers/nope")
    requests.get(f"{sandbox.base_url}/customers", timeout=10)
    get(sandbox, "/_sandbox/dump")

    stats = sandbox.stats()

    assert stats["total_requests"] == 5
    assert stats["requests"] == {
        "GET /customers": {"401": 1},
        "GET /customers/{record_id}": {"200": 1, "404": 1},
        "POST /customers": {"200": 1, "201": 1},
    }
    assert stats["by_method"] == {"GET": 3, "POST": 2}
    assert stats["by_status"] == {"200": 2, "201": 1, "401": 1, "404": 1}
    assert stats["max_in_flight"] == 1
    assert stats["in_flight"] == 0
    assert stats["faults"] == {"error": 0, "reset": 0, "stall": 0}


def test_stats_measure_the_largest_number_of_requests_in_flight(sandbox):
    sandbox.reset(latency_ms=1500)
    workers = 8
    barrier = threading.Barrier(workers)

    def one_request(_: int) -> int:
        barrier.wait()
        return get(sandbox).status_code

    with ThreadPoolExecutor(workers) as pool:
        statuses = list(pool.map(one_request, range(workers)))

    stats = sandbox.stats()
    assert statuses == [200] * workers
    assert stats["max_in_flight"] == workers
    assert stats["in_flight"] == 0
    assert 1 <= stats["max_requests_per_second"] <= workers


def test_stats_reset_zeroes_counters_and_keeps_records(sandbox):
    post(sandbox, "/customers", CUSTOMER)

    sandbox.reset_stats()

    assert sandbox.stats()["total_requests"] == 0
    assert get(sandbox, "/customers/cus_1").status_code == 200


# --- persistence ------------------------------------------------------------------------------


def test_records_survive_a_restart_with_db(sandbox_factory, tmp_path):
    sandbox = sandbox_factory(db=str(tmp_path / "sandbox.db"))
    created = post(sandbox, "/customers", CUSTOMER).json()
    post(sandbox, "/customers", {"id": "cus_2", "name": "Gone"})
    requests.delete(
        f"{sandbox.base_url}/customers/cus_2", headers={HEADER: sandbox.api_key}, timeout=10
    )
    port = sandbox.port

    sandbox.restart()

    assert sandbox.port == port
    assert get(sandbox, "/customers/cus_1").json() == created
    assert list(sandbox.dump()["customers"]) == ["cus_1"]
    assert post(sandbox, "/customers", CUSTOMER).status_code == 200


def test_records_are_lost_on_restart_without_db(sandbox_factory):
    sandbox = sandbox_factory()
    post(sandbox, "/customers", CUSTOMER)

    sandbox.restart()

    assert get(sandbox, "/customers/cus_1").status_code == 404


def test_stop_leaves_no_process_behind(sandbox_factory):
    sandbox = sandbox_factory()
    pid = sandbox.pid

    sandbox.stop()

    assert not sandbox.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
