"""One API budget for every process, kept in a real Redis, against the sandbox over real HTTP.

Processes are separate workers, forked by multiprocessing's fork server once it imported the
hook's modules (as Celery's prefork workers are forked from a parent that imported the app);
each builds its own FincomeHook from ``AIRFLOW_CONN_FINCOME_API`` with ``budget_store`` set, waits
at a barrier, then sends. The sandbox's own statistics (max starts in any one second, max in
flight, 429s) and the start times each process records are what the tests assert on.

Redis: ``FINCOME_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/11``, a DB number of its
own); every budget name is new per test and its keys are deleted after it.

The rate is asserted on the start times the processes record (just before each request leaves)
and on the sandbox's 429s (its token bucket is the API's limit; the bench's target, <= 1%): the
sandbox's "max requests in one second" stamps arrivals, which on a loaded machine can bunch up
beyond the window's margin whatever the client does (the bench reports it).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from support.clock import max_in_window

from fincome_airflow.exceptions import FincomeBudgetUnavailable
from fincome_airflow.hooks.budget.shared import SharedBudget
from fincome_airflow.hooks.fincome import FincomeHook
from fincome_sandbox.launcher import free_port

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("FINCOME_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
RATE = 40
CONCURRENCY = 4


@pytest.fixture
def redis_store() -> Iterator[str]:
    """The test Redis's URL; every budget key made during the test is deleted after it."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as e:
        pytest.fail(f"these tests need Redis at FINCOME_TEST_REDIS_URL={REDIS_URL}: {e}")
    before = set(client.scan_iter("fincome:budget:*"))
    yield REDIS_URL
    made = set(client.scan_iter("fincome:budget:*")) - before
    if made:
        client.delete(*made)
    client.close()


def conn_json(sandbox, store: str, **extra: Any) -> str:
    settings = {
        "requests_per_second": RATE,
        "max_concurrency": CONCURRENCY,
        "timeout": 10,
        "retry_budget": 30,
        "budget_store": store,
    }
    return json.dumps(
        {
            "conn_type": "fincome",
            "host": sandbox.base_url,
            "password": sandbox.api_key,
            "extra": {**settings, **extra},
        }
    )


def send_customers(conn: str, prefix: str, n: int, barrier, results) -> None:
    """A worker's task: upsert ``n`` customers through its own hook; report outcome kinds and
    the start time of every request it sent (``time.time()``: one clock for all processes)."""
    os.environ["AIRFLOW_CONN_FINCOME_API"] = conn
    hook = FincomeHook()
    session = hook.get_conn()
    starts: list[float] = []
    send = session.send

    def timed_send(request, **kwargs):
        starts.append(time.time())
        return send(request, **kwargs)

    session.send = timed_send
    records = [(f"{prefix}{i:04d}", {"id": f"{prefix}{i:04d}", "name": f"C {i}"}) for i in range(n)]
    barrier.wait()
    kinds = Counter(outcome.kind for outcome in hook.upsert_many("customers", records))
    results.put({"kinds": dict(kinds), "starts": starts, "rate_limited": hook.rate_limited})


def workers() -> multiprocessing.context.BaseContext:
    """Processes forked from multiprocessing's fork server, which imports the hook's modules
    once (~2 s of CPU a spawned interpreter paid for them): none holds the test's own state."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["fincome_airflow.hooks.fincome", "redis"])
    return ctx


def run_workers(conn: str, n_procs: int, per_proc: int) -> list[dict[str, Any]]:
    """Run ``n_procs`` worker processes of :func:`send_customers` together."""
    ctx = workers()
    barrier, results = ctx.Barrier(n_procs), ctx.Queue()
    procs = [
        ctx.Process(target=send_customers, args=(conn, f"p{i}-", per_proc, barrier, results))
        for i in range(n_procs)
    ]
    for proc in procs:
        proc.start()
    out = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return out


def test_processes_sharing_the_store_stay_together_within_the_rate_and_concurrency(
    sandbox_factory, redis_store
):
    sandbox = sandbox_factory(latency_ms=20, rate_limit=RATE)

    results = run_workers(conn_json(sandbox, redis_store), n_procs=4, per_proc=30)

    starts = [t for r in results for t in r["starts"]]
    assert len(starts) == 120
    assert max_in_window(starts) <= RATE
    stats = sandbox.stats()
    assert stats["total_requests"] == 120
    assert stats["max_in_flight"] <= CONCURRENCY
    assert stats["by_status"].get("429", 0) <= 0.01 * 120
    assert sum(r["kinds"].get("created", 0) for r in results) == 120


def test_processes_each_with_the_in_process_budget_exceed_the_rate_together(sandbox_factory):
    """The contrast: without a store, two tasks together send up to twice the budget."""
    sandbox = sandbox_factory(latency_ms=20)

    run_workers(conn_json(sandbox, ""), n_procs=2, per_proc=30)

    assert sandbox.stats()["max_requests_per_second"] > RATE


def test_a_lone_process_gets_the_whole_shared_budget(redis_store):
    """Every slot and every start of a window, without waiting once: nothing divides the
    budget by the number of tasks that might share it (its throughput is the bench's line)."""
    waits: list[float] = []
    name = f"lone-{uuid.uuid4().hex}"
    budget = SharedBudget.connect(
        redis_store, name, RATE, CONCURRENCY, lease_seconds=30, sleep=waits.append
    )
    client = redis.Redis.from_url(redis_store)

    held = [budget.acquire() for _ in range(CONCURRENCY)]
    in_flight = client.zcard(budget.keys[1])
    for lease in held:
        budget.release(lease)
    for _ in range(budget.max_starts - CONCURRENCY):
        with budget.slot():
            pass
    budget.close()

    assert in_flight == CONCURRENCY
    assert budget.max_starts >= 0.9 * RATE
    assert waits == []
    client.close()


def pause_then_report(url: str, name: str, ready, results) -> None:
    """Another worker: wait until told, then take a slot; report when it got it."""
    budget = SharedBudget.connect(url, name, 1000, 4, lease_seconds=30)
    ready.wait()
    with budget.slot():
        results.put(time.time())


def test_a_429_pause_in_one_process_holds_back_the_others(redis_store):
    name = f"pause-{uuid.uuid4().hex}"
    ctx = workers()
    ready, results = ctx.Event(), ctx.Queue()
    other = ctx.Process(target=pause_then_report, args=(redis_store, name, ready, results))
    other.start()
    budget = SharedBudget.connect(redis_store, name, 1000, 4, lease_seconds=30)

    budget.pause(1.5)
    paused_until = time.time() + 1.5
    ready.set()
    started = results.get(timeout=60)
    other.join(timeout=30)

    assert started >= paused_until - 0.05  # the other process's start waited out the pause


def test_a_slot_never_given_back_is_freed_when_its_lease_expires(redis_store):
    name = f"lease-{uuid.uuid4().hex}"
    crashed = SharedBudget.connect(redis_store, name, 1000, 1, lease_seconds=1)
    survivor = SharedBudget.connect(redis_store, name, 1000, 1, lease_seconds=30)
    lost = crashed.acquire()  # its holder dies: never released

    got = survivor.acquire()

    leases = redis.Redis.from_url(redis_store).zrange(survivor.keys[1], 0, -1)
    assert leases == [got.encode()]
    assert lost.encode() not in leases


def test_a_busy_process_gives_slots_back_with_its_next_starts_and_holds_none_at_the_end(
    redis_store,
):
    """One round trip a request while the process has more work than slots; every slot given
    back after.

    Trips of their own are counted only while more threads have requests left than there are
    slots: locks are not fair, so on a loaded machine a thread can be left with many requests
    after the others finished, and a lone thread rightly gives each slot back on its own.
    """
    name = f"busy-{uuid.uuid4().hex}"
    budget = SharedBudget.connect(redis_store, name, 10_000, 4, lease_seconds=30)
    own_trips: list[tuple] = []
    busy_trips: list[tuple] = []
    in_flight, most, working, lock = 0, 0, 8, threading.Lock()
    zrem = budget._client.zrem

    def counted_zrem(*args):
        own_trips.append(args)
        if working > budget.concurrency:
            busy_trips.append(args)
        return zrem(*args)

    budget._client.zrem = counted_zrem

    def requests(n: int) -> None:
        nonlocal in_flight, most, working
        for _ in range(n):
            with budget.slot():
                with lock:
                    in_flight += 1
                    most = max(most, in_flight)
                time.sleep(0.002)  # the request
                with lock:
                    in_flight -= 1
        with lock:
            working -= 1

    threads = [threading.Thread(target=requests, args=(50,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert most <= 4
    assert own_trips, "the last slots are given back on their own"
    assert len(busy_trips) < 0.1 * 8 * 50
    assert redis.Redis.from_url(redis_store).zcard(budget.keys[1]) == 0


def test_an_unreachable_store_fails_clearly_without_the_password_and_sends_nothing(
    sandbox, monkeypatch
):
    store = f"redis://budget:s3cret-pw@127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn_json(sandbox, store))
    hook = FincomeHook()

    with pytest.raises(FincomeBudgetUnavailable) as caught:
        list(hook.upsert_many("customers", [("c1", {"id": "c1", "name": "One"})]))

    message = str(caught.value)
    assert "budget store redis://budget:***@127.0.0.1:" in message
    assert "ConnectionError" in message
    assert "s3cret-pw" not in "".join(traceback.format_exception(caught.value))
    assert sandbox.stats()["total_requests"] == 0


def test_the_store_set_in_the_environment_is_used_when_the_extra_is_empty(sandbox, monkeypatch):
    port = free_port()
    monkeypatch.setenv("FINCOME_BUDGET_STORE", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn_json(sandbox, ""))

    with pytest.raises(FincomeBudgetUnavailable, match=f"budget store redis://127.0.0.1:{port}/0"):
        FincomeHook().get("customers", "c1")
    assert sandbox.stats()["total_requests"] == 0
