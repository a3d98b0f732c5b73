"""The counters of one streamed send (a load or a deletion of one resource): per outcome,
progress, HTTP, and the failures in a row that tell the API is down."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from typing import TYPE_CHECKING, Any

from fincome_airflow.exceptions import FincomeApiUnavailable
from fincome_airflow.load.progress import Progress

if TYPE_CHECKING:
    from fincome_airflow.hooks.fincome import FincomeHook
    from fincome_airflow.hooks.send_result import SendResult


class DownDetector:
    """Tell when the API is down: ``limit`` records in a row failed after their whole retry
    budget, none confirmed in between. The load then stops (the rest would only fail the same
    way, one retry budget each) and the task fails saying so; a task retry resumes."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.streak = 0
        self.last_reason: str | None = None

    def down_after(self, result: SendResult) -> bool:
        if result.kind == "failed":
            self.streak += 1
            self.last_reason = result.reason
        else:
            self.streak = 0
        return self.streak >= self.limit

    def error(
        self, resource: str, action: str, confirmed: int, total: int
    ) -> FincomeApiUnavailable:
        return FincomeApiUnavailable(
            f"Fincome API unavailable: the last {self.streak} {resource} {action} each failed "
            f"for the whole retry budget ({self.last_reason}); stopped with {confirmed} of "
            f"{total} confirmed. Confirmed records are recorded and will not be resent; the "
            "task retries."
        )


def _down_limit(hook: FincomeHook) -> int:
    return 2 * hook.settings.max_concurrency


def _http_counts(hook: FincomeHook, before: dict[str, int]) -> dict[str, int]:
    after = hook.stats()
    return {
        "requests": after["requests"] - before["requests"],
        "retries": after["retries"] - before["retries"],
        "rate_limited": after["rate_limited"] - before["rate_limited"],
    }


class SendCounters:
    """What one streamed send of a resource has counted: records per outcome, progress, the
    failures in a row (the down detector), and the hook's HTTP counts when it began."""

    def __init__(
        self,
        hook: FincomeHook,
        kinds: Iterable[str],
        label: str,
        total: int,
        *,
        log: logging.Logger | logging.LoggerAdapter,
        interval: float,
    ) -> None:
        self.hook = hook
        self.counts: Counter[str] = Counter({k: 0 for k in kinds})
        self.before = hook.stats()
        self.progress = Progress(label, total, log=log, interval=interval)
        self.down = DownDetector(_down_limit(hook))

    def stream(self, results: Iterator[SendResult], record: Callable[[SendResult], None]) -> bool:
        """Record (``record``) and count each result, closing ``results`` at the end.

        :return: True when the API is down (the stream was left early), else False.
        """
        with closing(results):
            for result in results:
                record(result)
                self.counts[result.kind] += 1
                self.progress.advance()
                if self.down.down_after(result):
                    return True
        return False

    def summary(self, audit: dict[str, Any], started: float, **numbers: int) -> None:
        """Complete ``audit`` (``numbers``, the counts, duration, HTTP counts) and log it."""
        audit.update(
            **numbers,
            **self.counts,
            duration_s=round(time.monotonic() - started, 3),
            **_http_counts(self.hook, self.before),
        )
        self.progress.summary(audit_numbers(audit))


def audit_numbers(audit: dict[str, Any]) -> dict[str, Any]:
    """The audit's numbers (no flags, no names)."""
    return {k: v for k, v in audit.items() if isinstance(v, int | float) and type(v) is not bool}
