"""Run per-record tasks concurrently over an iterable, yielding results as they complete."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from fincome_airflow.exceptions import FincomeConfigError
from fincome_airflow.hooks.send_result import SendResult

_END = object()


def stream_results(
    items: Iterable[Any],
    make_task: Callable[[Any, threading.Event], Callable[[], SendResult]],
    *,
    concurrency: int,
    window: int,
) -> Iterator[SendResult]:
    """Yield the result of ``make_task(item, stop)()`` for every item, in completion order.

    Items are pulled in the caller's thread (a database cursor stays on its thread), only while
    fewer than ``window`` tasks are pending, so the iterable is never materialized. When the
    consumer stops early or a task raises (a refused key), ``stop`` is set: tasks not started
    are skipped and retry waits end, then the pool is shut down.
    """
    stop = threading.Event()
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="fincome")
    pending: set[Future[SendResult | None]] = set()
    source = iter(items)
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                item = next(source, _END)
                if item is _END:
                    exhausted = True
                else:
                    pending.add(pool.submit(_guarded(make_task(item, stop), stop)))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if (result := future.result()) is not None:
                    yield result
    finally:
        if pending:
            stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _guarded(
    task: Callable[[], SendResult], stop: threading.Event
) -> Callable[[], SendResult | None]:
    """Skip the task once the stream stops; stop the stream when the key is refused."""

    def run() -> SendResult | None:
        if stop.is_set():
            return None
        try:
            return task()
        except FincomeConfigError:
            stop.set()
            raise

    return run
