"""The in-process request budget (the default): shared by the threads of one hook.

:class:`RequestBudget` is shared by every thread of one hook: at most ``concurrency`` requests in
flight and at most ``rate`` request starts in any one-second window, whatever the number of
records. It is a sliding-window log rather than a plain token bucket on purpose: a bucket of
capacity ``b`` lets ``b + rate`` requests start within one second, which an API counting per
second answers with 429s. A 429 pauses the whole budget for its ``Retry-After``, so that every
thread backs off, not only the one that was told. Across processes and workers, the
shared budget (:mod:`fincome_airflow.hooks.budget.shared`) does the same through Redis.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: Seconds added to the one-second window: a request can reach the API later after its
#: recorded start than the one after it (its thread waiting for the CPU or the GIL, the API
#: itself busy), and would then count in the API's next second. 75 ms held 4 tasks at the
#: budget at load average 11 on 2 cores where 50 ms let 101 starts into one second; it caps a
#: lone task at 1 / 1.075 = 0.93x the rate.
WINDOW_MARGIN = 0.075


def start_window(rate: float, margin: float) -> tuple[int, float]:
    """The sliding window of a rate: at most ``max_starts`` starts in any ``window`` seconds.

    Below 1 request per second it is one start every ``1 / rate`` seconds; above, the integer
    part of the rate per second. ``margin`` seconds are added to the window.
    """
    max_starts = max(1, math.floor(rate))
    window = max_starts / rate if rate < 1 else 1.0
    return max_starts, window + margin


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
        margin: float = WINDOW_MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0 or concurrency < 1:
            raise ValueError("rate must be > 0 and concurrency >= 1")
        self.rate = rate
        self.concurrency = concurrency
        self.max_starts, self.window = start_window(rate, margin)
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
