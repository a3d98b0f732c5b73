"""Progress lines for long loads: done / total, rate and ETA at a steady interval."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h04m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Log ``label: done/total (pct), rate/s, ETA`` every ``interval`` seconds or ``every`` items.

    :param clock: monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        label: str,
        total: int,
        *,
        log: logging.Logger | logging.LoggerAdapter,
        interval: float = 10.0,
        every: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._log = log
        self._interval = interval
        self._every = every
        self._clock = clock
        self.started = clock()
        self._last_log = self.started
        self._last_done = 0

    @property
    def elapsed(self) -> float:
        return self._clock() - self.started

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self._clock()
        due_by_time = now - self._last_log >= self._interval
        due_by_count = self._every is not None and self.done - self._last_done >= self._every
        if due_by_time or due_by_count:
            self._last_log, self._last_done = now, self.done
            self._log.info("%s", self.line())

    def line(self) -> str:
        elapsed = self.elapsed
        rate = self.done / elapsed if elapsed > 0 else 0.0
        pct = 100.0 * self.done / self.total if self.total else 100.0
        remaining = max(0, self.total - self.done)
        eta = format_duration(remaining / rate) if rate > 0 else "unknown"
        return f"{self.label}: {self.done}/{self.total} ({pct:.1f}%), {rate:.1f}/s, ETA {eta}"

    def summary(self, counts: Mapping[str, object]) -> str:
        """One readable line: ``label: done in 1m05s; created 10, updated 2, ...``."""
        parts = ", ".join(f"{k} {v}" for k, v in counts.items())
        line = f"{self.label}: finished in {format_duration(self.elapsed)}; {parts}"
        self._log.info("%s", line)
        return line
