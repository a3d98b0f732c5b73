"""send_until_final(): one request retried through tenacity, with our policy and budget."""

from __future__ import annotations

import logging
import threading

import pytest
import requests

from fincome_airflow.exceptions import FincomeConfigError
from fincome_airflow.hooks.answers import AnswerClass
from fincome_airflow.hooks.budget import RetryPolicy
from fincome_airflow.hooks.counters import RequestCounters
from fincome_airflow.hooks.retrying import send_until_final

LOG = logging.getLogger("test_hook_retrying")


class PausedBudget:
    """Records the pauses a 429 asks of the request budget."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


def answer(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def send(answers, *, budget=None, counters=None, sleeps=None, stop=None, seconds=300.0):
    pending = iter(answers)
    clock = [0.0]

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock[0] += s

    return send_until_final(
        lambda: next(pending),
        "POST",
        "Fincome POST /customers",
        policy=RetryPolicy(budget=seconds, rng=lambda: 0.5),
        budget=budget or PausedBudget(),
        counters=counters or RequestCounters(),
        clock=lambda: clock[0],
        sleep=sleep if sleeps is not None else (lambda s: None),
        stop=stop,
        redact=str,
        log=LOG,
    )


def test_send_until_final_retries_until_the_answer_is_final():
    sleeps: list[float] = []
    counters = RequestCounters()

    final = send([answer(503), answer(502), answer(201)], sleeps=sleeps, counters=counters)

    assert final.verdict.kind == "created"
    assert (final.attempts, final.retries, final.rate_limited) == (3, 2, 0)
    assert sleeps == [0.375, 0.75]
    assert counters["retries"] == 2


def test_send_until_final_returns_the_last_answer_when_the_budget_is_spent():
    sleeps: list[float] = []

    final = send([answer(503)] * 10, sleeps=sleeps, seconds=1.0)

    assert final.verdict.answer_class is AnswerClass.RETRY
    assert final.response is not None and final.response.status_code == 503
    assert final.attempts == len(sleeps) + 1
    assert sum(sleeps) < 1.0


def test_send_until_final_does_not_wait_when_stop_is_set():
    stop = threading.Event()
    stop.set()
    sleeps: list[float] = []

    final = send([answer(503), answer(201)], sleeps=sleeps, stop=stop)

    assert (final.attempts, final.verdict.http_status) == (1, 503)
    assert sleeps == []


def test_send_until_final_pauses_the_budget_for_a_429_and_counts_it():
    budget, counters, sleeps = PausedBudget(), RequestCounters(), []

    final = send(
        [answer(429, **{"Retry-After": "4"}), answer(200)],
        budget=budget,
        counters=counters,
        sleeps=sleeps,
    )

    assert final.verdict.kind == "updated"
    assert (final.rate_limited, counters["rate_limited"]) == (1, 1)
    assert budget.pauses == sleeps == [4.0]


def test_send_until_final_keeps_the_transport_error_as_the_last_answer():
    final = send([requests.ConnectionError("reset")], seconds=0.1)

    assert final.response is None
    assert final.verdict.message == "connection error: ConnectionError"


def test_send_until_final_raises_a_refused_key_at_once():
    sleeps: list[float] = []

    with pytest.raises(FincomeConfigError, match=r"^Fincome POST /customers: 401"):
        send([answer(401), answer(201)], sleeps=sleeps)

    assert sleeps == []


def test_send_until_final_logs_each_retry_with_its_number_and_wait(caplog):
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        send([answer(500), answer(201)])

    assert caplog.messages == [
        "Fincome POST /customers: 500: server error (500); retry 1 in 0.38 s"
    ]
