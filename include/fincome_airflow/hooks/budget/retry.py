"""The per-record retry budget: how long to wait before each retry of one request.

:class:`RetryPolicy` decides the delay before each retry of one record: ``Retry-After`` (capped)
for 429, exponential backoff with jitter otherwise, and no retry once the record's total time
would exceed the retry budget (keep it below the task's ``execution_timeout``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


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
