"""One request, retried until its answer is final: through tenacity, as HttpHook's
``run_with_advanced_retry`` retries.

The policy stays ours (:class:`~fincome_airflow.hooks.budget.RetryPolicy`: a budget in seconds per
record, ``Retry-After`` honoured, equal jitter); tenacity runs the loop. Its wait is the policy's
delay, and it stops when no delay fits in the budget or the stream's ``stop`` event is set,
returning the last answer rather than raising. A 429 pauses the request budget (shared by every
thread, or every worker) for the wait before retrying.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests
from tenacity import RetryCallState, Retrying, retry_if_result, stop_any, stop_when_event_set

from fincome_airflow.exceptions import FincomeConfigError
from fincome_airflow.hooks.answers import AnswerClass, Verdict, classify

if TYPE_CHECKING:
    from fincome_airflow.hooks.budget import Budget, Clock, RetryPolicy, Sleep
    from fincome_airflow.hooks.counters import RequestCounters

#: What one attempt gives: the answer, or the transport error raised instead of one.
Answer = requests.Response | requests.RequestException

_RETRYING = frozenset({AnswerClass.RETRY, AnswerClass.RATE_LIMITED})

#: The wait that means "no retry fits in the budget"; it stops the loop and is never slept.
_GIVE_UP = math.inf


@dataclass(frozen=True, slots=True)
class FinalAnswer:
    """The last answer to a request, its verdict, and what it took."""

    verdict: Verdict
    response: requests.Response | None
    attempts: int
    rate_limited: int

    @property
    def retries(self) -> int:
        return self.attempts - 1


def send_until_final(
    send: Callable[[], Answer],
    method: str,
    what: str,
    *,
    policy: RetryPolicy,
    budget: Budget,
    counters: RequestCounters,
    clock: Clock,
    sleep: Sleep | None,
    stop: threading.Event | None,
    redact: Callable[[object], str],
    log: logging.Logger | logging.LoggerAdapter,
) -> FinalAnswer:
    """Call ``send`` until the answer is final, the retry budget is spent or ``stop`` is set.

    :param send: sends the request once.
    :param what: ``"Fincome POST /customers"``, for the log and errors.
    :param sleep: replaces waiting (tests); by default a wait that ``stop`` interrupts.
    :raise FincomeConfigError: on 401/403 or an unusable base URL (no retry at all).
    """
    started = clock()
    attempts = limited = 0

    def attempt() -> tuple[Verdict, Answer]:
        nonlocal attempts, limited
        attempts += 1
        answer = send()
        verdict = classify(answer, method)
        if verdict.answer_class is AnswerClass.CONFIG_ERROR:
            cause = answer if isinstance(answer, BaseException) else None
            raise FincomeConfigError(redact(f"{what}: {verdict.message}")) from cause
        if verdict.answer_class is AnswerClass.RATE_LIMITED:
            limited += 1
            counters.add("rate_limited")
        return verdict, answer

    def delay(state: RetryCallState) -> float:
        verdict = _verdict(state)
        seconds = policy.delay(state.attempt_number, clock() - started, verdict.retry_after)
        return _GIVE_UP if seconds is None else seconds

    def before_sleep(state: RetryCallState) -> None:
        verdict, seconds = _verdict(state), state.upcoming_sleep
        if verdict.answer_class is AnswerClass.RATE_LIMITED:
            budget.pause(seconds)
        counters.add("retries")
        log.warning(
            "%s: %s; retry %d in %.2f s",
            what,
            redact(verdict.message),
            state.attempt_number,
            seconds,
        )

    def wait(seconds: float) -> None:
        if sleep is not None:
            sleep(seconds)
        else:
            (stop or threading.Event()).wait(seconds)

    stops = [_budget_spent] if stop is None else [_budget_spent, stop_when_event_set(stop)]
    verdict, answer = Retrying(
        retry=retry_if_result(lambda result: result[0].answer_class in _RETRYING),
        wait=delay,
        stop=stop_any(*stops),
        sleep=wait,
        before_sleep=before_sleep,
        retry_error_callback=lambda state: state.outcome.result(),  # the last answer
    )(attempt)
    response = answer if isinstance(answer, requests.Response) else None
    return FinalAnswer(verdict, response, attempts, limited)


def _verdict(state: RetryCallState) -> Verdict:
    assert state.outcome is not None
    return state.outcome.result()[0]


def _budget_spent(state: RetryCallState) -> bool:
    return state.upcoming_sleep == _GIVE_UP
