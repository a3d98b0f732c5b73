"""Counters of what clients did: requests per route and status, concurrency peaks, faults."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, deque
from typing import Any

from fincome_sandbox.faults import FAULT_KINDS

#: The status recorded for a connection the sandbox dropped without an answer.
RESET_STATUS = "reset"


class Stats:
    """Request statistics of the contract endpoints (``/_sandbox/*`` and docs are not counted)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero the counters; requests still in flight stay counted as in flight."""
        self.total = 0
        self.max_in_flight = self.in_flight
        self.max_per_second = 0
        self.rate_limited = 0
        self.faults: Counter[str] = Counter({kind: 0 for kind in FAULT_KINDS})
        self.requests: dict[str, Counter[str]] = {}
        self.since = dt.datetime.now(dt.UTC)
        self._window: deque[float] = deque()

    def started(self) -> None:
        """Count a request that starts now."""
        now = time.monotonic()
        self.total += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        window = self._window
        window.append(now)
        while window[0] <= now - 1.0:
            window.popleft()
        self.max_per_second = max(self.max_per_second, len(window))

    def finished(self, route: str, status: int | str) -> None:
        """Count the end of a request on ``route`` (``"METHOD /template"``) with ``status``."""
        self.in_flight -= 1
        self.requests.setdefault(route, Counter())[str(status)] += 1
        if status == 429:
            self.rate_limited += 1

    def fault(self, kind: str) -> None:
        """Count one injected fault."""
        self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the JSON document served by ``GET /_sandbox/stats``."""
        by_status: Counter[str] = Counter()
        by_method: Counter[str] = Counter()
        for route, statuses in self.requests.items():
            by_status.update(statuses)
            by_method[route.split(" ", 1)[0]] += sum(statuses.values())
        return {
            "since": self.since.isoformat(),
            "total_requests": self.total,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_requests_per_second": self.max_per_second,
            "rate_limited": self.rate_limited,
            "faults": dict(self.faults),
            "by_method": dict(sorted(by_method.items())),
            "by_status": dict(sorted(by_status.items())),
            "requests": {
                route: dict(sorted(statuses.items()))
                for route, statuses in sorted(self.requests.items())
            },
        }
