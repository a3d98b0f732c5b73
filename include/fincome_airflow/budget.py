"""Proactive request budget and per-record retry budget.

:class:`RequestBudget` is shared by every thread of one hook: at most ``concurrency`` requests in
flight and at most ``rate`` request starts in any one-second window, whatever the number of
records. It is a sliding-window log rather than a plain token bucket on purpose: a bucket of
capacity ``b`` lets ``b + rate`` requests start within one second, which an API counting per
second answers with 429s. A 429 pauses the whole budget for its ``Retry-After``, so that every
worker backs off, not only the one that was told.

:class:`RetryPolicy` decides the delay before each retry of one record: ``Retry-After`` (capped)
for 429, exponential backoff with jitter otherwise, and no retry once the record's total time
would exceed the retry budget (keep it below the task's ``execution_timeout``).
"""

from __future__ import annotations

import collections
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RequestBudget:
    """Thread-safe limit on request starts per second and on requests in flight.

    :param rate: requests per second; below 1 it means one request every ``1 / rate`` seconds,
        above 1 its integer part is the number of starts allowed in any one-second window.
    :param concurrency: requests in flight at once.
    :param margin: seconds added to the window, so that network jitter between here and the
        server cannot make two starts look closer together than they were.
    """

    def __init__(
        self,
        rate: float,
        concurrency: int,
        *,
        margin: float = 0.05,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0 or concurrency < 1:
            raise ValueError("rate must be > 0 and concurrency >= 1")
        self.rate = rate
        self.concurrency = concurrency
        self.max_starts = max(1, math.floor(rate))
        self.window = self.max_starts / rate if rate < 1 else 1.0
        self.window += margin
        self._clock = clock
        self._sleep = sleep
        self._starts: collections.deque[float] = collections.deque(maxlen=self.max_starts)
        self._rate_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Start no request for ``seconds`` from now (extends, never shortens, a pause)."""
        with self._pause_lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def wait_time(self, now: float) -> float:
        """Seconds until the next start is allowed (0 when it is allowed now)."""
        wait = self._paused_until - now
        if len(self._starts) == self.max_starts:
            wait = max(wait, self._starts[0] + self.window - now)
        return max(0.0, wait)

    def acquire_start(self) -> None:
        """Block until a request may start, then record its start."""
        with self._rate_lock:
            while (wait := self.wait_time(self._clock())) > 0:
                self._sleep(wait)
            self._starts.append(self._clock())

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a concurrency slot and a rate permit for the duration of one request."""
        with self._slots:
            self.acquire_start()
            yield


@dataclass(frozen=True)
class RetryPolicy:
    """Delays between the attempts of one request, within a total time budget (seconds).

    :param budget: total seconds one record may spend, first attempt included.
    :param base: first backoff delay; doubled on each retry up to ``cap``.
    :param retry_after_cap: the longest ``Retry-After`` honoured; longer ones count as this.
    :param max_retries: optional cap on the number of retries besides the time budget.
    """

    budget: float = 300.0
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 60.0
    max_retries: int | None = None
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, retry_number: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of the step."""
        step = min(self.cap, self.base * 2 ** (retry_number - 1))
        return step / 2 + self.rng() * step / 2

    def delay(
        self, retry_number: int, elapsed: float, retry_after: float | None = None
    ) -> float | None:
        """Seconds to wait before retry ``retry_number`` (1-based), or ``None`` to give up."""
        if self.max_retries is not None and retry_number > self.max_retries:
            return None
        wait = self.backoff(retry_number)
        if retry_after is not None:
            # Never less than the server asked (capped), never a tight loop on "Retry-After: 0".
            wait = max(wait, min(retry_after, self.retry_after_cap))
        if elapsed + wait >= self.budget:
            return None
        return wait
