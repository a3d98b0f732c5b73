"""Budget math: the request window, pauses, concurrency and the per-record retry budget."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from support.clock import FakeClock, max_in_window

from fincome_airflow.hooks.budget import RequestBudget, RetryPolicy, lease_seconds, open_budget
from fincome_airflow.hooks.budget.shared import MAX_RETAKES, STALE_GRANT, SharedBudget, redact_url
from fincome_airflow.hooks.settings import BUDGET_STORE_ENV, SETTING_KEYS, FincomeSettings


@pytest.mark.parametrize(
    ("rate", "allowed"),
    [
        pytest.param(10, 10, id="10-per-second"),
        pytest.param(2.5, 2, id="fractional-rounds-down"),
        pytest.param(1, 1, id="one-per-second"),
    ],
)
def test_request_budget_never_exceeds_rate_in_any_one_second_window(rate, allowed):
    clock = FakeClock()
    budget = RequestBudget(rate, 4, margin=0, clock=clock, sleep=clock.sleep)
    starts = []

    for _ in range(200):
        budget.acquire_start()
        starts.append(clock())

    assert max_in_window(starts) == allowed
    # ... and does not starve: 200 starts take about 200 / allowed seconds.
    assert clock() == pytest.approx((200 - allowed) / allowed, abs=1.0)


def test_request_budget_below_one_per_second_spaces_requests():
    clock = FakeClock()
    budget = RequestBudget(0.5, 1, margin=0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        budget.acquire_start()
        starts.append(clock())

    assert [b - a for a, b in itertools.pairwise(starts)] == [2.0] * 4


def test_request_budget_pause_delays_the_next_start():
    clock = FakeClock()
    budget = RequestBudget(100, 4, margin=0, clock=clock, sleep=clock.sleep)
    budget.acquire_start()

    budget.pause(5)
    budget.pause(1)  # a shorter pause never shortens the longer one
    budget.acquire_start()

    assert clock() == pytest.approx(5.0)


def test_request_budget_slot_limits_concurrency_across_threads():
    budget = RequestBudget(10_000, 3, margin=0)
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal in_flight, peak
        with budget.slot():
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.01)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert peak == 3


def test_request_budget_refuses_nonsense():
    with pytest.raises(ValueError, match="rate"):
        RequestBudget(0, 1)


def test_retry_policy_backoff_doubles_with_jitter_up_to_cap():
    low = RetryPolicy(base=1, cap=8, rng=lambda: 0.0)
    high = RetryPolicy(base=1, cap=8, rng=lambda: 0.999999)

    assert [low.backoff(n) for n in range(1, 6)] == [0.5, 1, 2, 4, 4]
    assert [round(high.backoff(n), 3) for n in range(1, 6)] == [1, 2, 4, 8, 8]


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        pytest.param(3.0, 3.0, id="header-honoured"),
        pytest.param(600.0, 60.0, id="header-capped"),
        pytest.param(0.0, 0.375, id="zero-falls-back-to-backoff"),
    ],
)
def test_retry_policy_uses_retry_after_capped(retry_after, expected):
    policy = RetryPolicy(budget=1000, retry_after_cap=60, base=0.5, rng=lambda: 0.5)

    assert policy.delay(1, elapsed=0, retry_after=retry_after) == expected


def test_retry_policy_gives_up_when_the_budget_would_be_exceeded():
    policy = RetryPolicy(budget=10, base=1, cap=4, rng=lambda: 0.999999)

    assert policy.delay(1, elapsed=8.0) == pytest.approx(1.0)
    assert policy.delay(2, elapsed=8.5) is None
    assert policy.delay(1, elapsed=0, retry_after=30) is None


def test_retry_policy_max_retries():
    policy = RetryPolicy(budget=1000, max_retries=2)

    assert policy.delay(2, elapsed=0) is not None
    assert policy.delay(3, elapsed=0) is None


def test_retry_policy_total_sleep_fits_in_budget_whatever_the_jitter():
    for seed in range(20):
        import random

        rng = random.Random(seed)
        policy = RetryPolicy(budget=60, base=0.5, cap=30, rng=rng.random)
        elapsed, retry = 0.0, 0
        while (delay := policy.delay(retry + 1, elapsed)) is not None:
            elapsed += delay + 0.2  # the request itself takes time too
            retry += 1
        assert elapsed < 60 + 0.2


# -- choosing the budget: settings and the store's URL -----------------------------------------


def test_settings_read_the_budget_store_from_the_extra_before_the_environment(monkeypatch):
    monkeypatch.setenv(BUDGET_STORE_ENV, "redis://env-redis:6379/2")

    from_extra = FincomeSettings.from_extra({"budget_store": "redis://extra-redis:6379/3"})
    from_env = FincomeSettings.from_extra({"budget_store": ""})

    assert from_extra.budget_store == "redis://extra-redis:6379/3"
    assert from_env.budget_store == "redis://env-redis:6379/2"


def test_settings_default_to_the_in_process_budget_without_a_store(monkeypatch):
    monkeypatch.delenv(BUDGET_STORE_ENV, raising=False)

    settings = FincomeSettings.from_extra({})

    assert settings.budget_store == ""
    budget = open_budget("", "http://x", 5, 2, timeout=30, clock=time.monotonic, sleep=time.sleep)
    assert isinstance(budget, RequestBudget)


def test_settings_refuse_a_store_that_is_not_a_redis_url_without_showing_it(monkeypatch):
    monkeypatch.setenv(BUDGET_STORE_ENV, "postgresql://user:s3cret@db/state")

    with pytest.raises(ValueError, match="must be a URL starting with redis://") as caught:
        FincomeSettings.from_extra({})
    assert "s3cret" not in str(caught.value)


def test_the_budget_store_extra_is_a_setting_never_sent_as_a_header():
    assert "budget_store" in SETTING_KEYS


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param("redis://:pw@r:6379/2", "redis://:***@r:6379/2", id="password-only"),
        pytest.param("rediss://u:pw@r/0", "rediss://u:***@r/0", id="user-and-password"),
        pytest.param("redis://r:6379/0", "redis://r:6379/0", id="no-password"),
    ],
)
def test_redact_url_hides_the_stores_password(url, shown):
    assert redact_url(url) == shown


def test_a_slot_is_leased_longer_than_a_request_can_take():
    assert lease_seconds(30) > 2 * 30


class ScriptedRedis:
    """A stand-in for the Redis client: the acquire script answers from ``answer(args)`` (by
    default from a list, in order); every call's arguments and every lease given back on its
    own (``zrem``) are recorded."""

    def __init__(self, answers: list[tuple[int, str]], answer=None, on_call=None) -> None:
        self.answers = answers
        self.answer = answer or (lambda args: self.answers.pop(0))
        self.on_call = on_call or (lambda: None)
        self.calls: list[list] = []
        self.released: list[str] = []

    def register_script(self, script: str):
        return self._run

    def _run(self, keys, args):
        self.calls.append(list(args))
        self.on_call()
        return self.answer(args)

    def zrem(self, key: str, *leases: str) -> None:
        self.released.extend(leases)

    def close(self) -> None:
        pass


def test_shared_budget_waits_what_the_store_says_and_asks_again_when_slots_are_full():
    clock = FakeClock()
    store = ScriptedRedis([(0, "-1"), (0, "-1"), (0, "0.25"), (1, "0")])
    budget = SharedBudget(store, "api", 10, 2, lease_seconds=60, clock=clock, sleep=clock.sleep)

    with budget.slot():
        pass

    assert clock.sleeps == [0.25]  # full slots are polled on the local "freed" event instead
    assert store.answers == []
    assert len(store.released) == 1


def test_shared_budget_gives_a_lone_finished_slot_back_at_once():
    store = ScriptedRedis([(1, "0")])
    budget = SharedBudget(store, "api", 10, 2, lease_seconds=60)

    with budget.slot():
        (call,) = store.calls
        lease = call[4]
        assert store.released == []

    assert store.released == [lease]  # nothing else asks: its own round trip, now


def test_shared_budget_gives_a_finished_slot_back_with_the_next_start_of_the_process():
    """One round trip a request: the waiting thread's next call carries the finished lease."""
    store = ScriptedRedis([], answer=lambda args: (1, "0"))
    budget = SharedBudget(store, "api", 10, 1, lease_seconds=60)
    first = budget.acquire()
    store.answer = lambda args: (1, "0") if first in args[6:] else (0, "-1")
    second: list[str] = []
    other = threading.Thread(target=lambda: second.append(budget.acquire()), daemon=True)
    other.start()
    while len(store.calls) < 2:  # the other thread is asking: every slot is taken
        time.sleep(0.001)

    budget.release(first)
    other.join(timeout=10)

    assert second, "the waiting thread never got the slot given back"
    assert store.calls[-1][6:] == [first]
    assert store.released == []  # no round trip of its own


def test_shared_budget_gives_a_finished_slot_back_before_waiting_out_the_window():
    """A slot finished while the asking thread was told to wait is not held through the wait."""
    order: list[tuple] = []
    answers = iter([(1, "0"), (0, "0.5"), (1, "0")])
    store = ScriptedRedis([], answer=lambda args: next(answers))
    store.zrem = lambda key, *leases: order.append(("given back", *leases))
    budget = SharedBudget(
        store, "api", 10, 2, lease_seconds=60, sleep=lambda s: order.append(("slept", s))
    )
    first = budget.acquire()
    store.on_call = lambda: budget.release(first) if len(store.calls) == 2 else None

    budget.acquire()

    assert order == [("given back", first), ("slept", 0.5)]


def test_shared_budget_takes_a_stale_start_again_before_the_request_leaves():
    """A start granted longer ago than STALE_GRANT (a descheduled process) is dropped and
    taken again in one call, so the API never sees it late."""
    clock = FakeClock()
    delays = iter([STALE_GRANT * 2, 0.0])
    store = ScriptedRedis([(1, "0"), (1, "0")], on_call=lambda: clock.sleep(next(delays)))
    budget = SharedBudget(store, "api", 10, 2, lease_seconds=60, clock=clock, sleep=clock.sleep)

    with budget.slot():
        pass

    first, second = store.calls
    assert first[5] == ""  # a new start
    assert second[4] == second[5] == first[4]  # the same lease, its stale start dropped
    assert store.released == [first[4]]


def test_shared_budget_sends_after_a_bounded_number_of_retakes_when_every_start_is_stale():
    clock = FakeClock()
    store = ScriptedRedis([], answer=lambda args: (1, "0"), on_call=lambda: clock.sleep(1.0))
    budget = SharedBudget(store, "api", 10, 2, lease_seconds=60, clock=clock, sleep=clock.sleep)

    with budget.slot():
        pass

    assert len(store.calls) == 1 + MAX_RETAKES


def test_shared_budget_uses_the_same_window_as_the_in_process_one():
    shared = SharedBudget(ScriptedRedis([]), "api", 2.5, 1, lease_seconds=60)
    local = RequestBudget(2.5, 1)

    assert (shared.max_starts, shared.window) == (local.max_starts, local.window)
