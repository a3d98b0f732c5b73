"""The hook's request counters: requests made, retries and 429s, shared by its threads."""

from __future__ import annotations

import threading
from typing import Final, Literal

CounterName = Literal["requests", "retries", "rate_limited"]
NAMES: Final[tuple[CounterName, ...]] = ("requests", "retries", "rate_limited")


class RequestCounters:
    """Thread-safe counts since the hook was built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(NAMES, 0)

    def add(self, name: CounterName) -> None:
        with self._lock:
            self._counts[name] += 1

    def __getitem__(self, name: CounterName) -> int:
        return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
