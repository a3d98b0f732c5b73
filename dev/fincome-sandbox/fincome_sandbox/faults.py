"""Fault decisions: the rate limiter and the seeded draw of resets, stalls and 5xx answers."""

from __future__ import annotations

import math
import random
import time
from typing import Literal

from fincome_sandbox.config import FaultOptions

FaultKind = Literal["reset", "stall", "error"]
FAULT_KINDS: tuple[FaultKind, ...] = ("reset", "stall", "error")

#: Injected 5xx answers are mostly 503, like an overloaded gateway; the rest spread evenly.
_OTHER_5XX = (500, 502, 504)
_SHARE_503 = 0.8


class RateLimiter:
    """Token bucket: ``rate`` requests per second, bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()

    def acquire(self) -> int | None:
        """Take a token; return ``None`` when granted, else the ``Retry-After`` in seconds."""
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self._tokens) / self.rate))


class FaultInjector:
    """Decide, request by request, which fault (if any) the sandbox injects."""

    def __init__(self, options: FaultOptions) -> None:
        self.options = options
        self._rng = random.Random(options.seed)
        self._limiter = RateLimiter(options.rate_limit) if options.rate_limit else None
        # A separate draw: adding throttling leaves the resets, stalls and errors of a seed as
        # they were.
        throttle_seed = None if options.seed is None else options.seed + 1
        self._throttle_rng = random.Random(throttle_seed)
        self._any_fault = bool(options.reset_rate or options.stall_rate or options.error_rate)

    def retry_after(self) -> int | None:
        """Return the ``Retry-After`` seconds when this request exceeds the rate limit or is
        throttled at random (``throttle_rate``)."""
        if self._limiter is not None and (wait := self._limiter.acquire()) is not None:
            return wait
        rate = self.options.throttle_rate
        if rate and self._throttle_rng.random() < rate:
            return self.options.throttle_retry_after
        return None

    def draw(self) -> FaultKind | None:
        """Draw the fault of one request: ``reset``, ``stall``, ``error`` or ``None``."""
        if not self._any_fault:
            return None
        value = self._rng.random()
        threshold = 0.0
        for kind in FAULT_KINDS:
            threshold += getattr(self.options, f"{kind}_rate")
            if value < threshold:
                return kind
        return None

    def error_status(self) -> int:
        """Return the status of an injected server error (503 mostly)."""
        return 503 if self._rng.random() < _SHARE_503 else self._rng.choice(_OTHER_5XX)
