"""Writes done behind the caller's back: one background thread writes the items it is handed,
in order, while the caller goes on.

The queue is bounded (``depth`` items waiting, plus the one being written): a caller faster
than the writer waits at :meth:`WriteBehind.put`, so memory stays flat. The thread opens its
resource (a database connection) itself and closes it when it stops. A failure of the writer
stops it, drops what was waiting and is raised in the caller's thread at its next
:meth:`~WriteBehind.put` or at :meth:`~WriteBehind.close`, as :class:`WriteBehindError` with the
failure as its cause. Whatever happens, :meth:`~WriteBehind.close` and
:meth:`~WriteBehind.abort` return only once the thread is gone.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

R = TypeVar("R")
T = TypeVar("T")


class WriteBehindError(RuntimeError):
    """The background writer failed (its failure is the ``__cause__``)."""


class WriteBehind(Generic[R, T]):
    """A background thread that writes items with a resource it opens (see the module)."""

    def __init__(
        self,
        opened: Callable[[], AbstractContextManager[R]],
        write: Callable[[R, T], None],
        *,
        name: str,
        depth: int = 2,
    ) -> None:
        """:param opened: opens the writer's resource, in the writer's thread.
        :param write: writes one item with the resource (in the writer's thread).
        :param name: the thread's name, and what a failure says failed.
        :param depth: the items that may wait to be written.
        """
        self.name = name
        self._opened = opened
        self._write = write
        self._depth = depth
        self._waiting: deque[T] = deque()
        self._changed = threading.Condition()
        self._closing = False
        self._failure: BaseException | None = None
        #: Items written so far.
        self.written = 0
        #: Seconds the caller waited for the writer (a full queue, the close).
        self.waited = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """The items handed and not yet taken by the writer."""
        with self._changed:
            return len(self._waiting)

    def put(self, item: T) -> None:
        """Hand ``item`` to the writer, waiting while ``depth`` items wait already.

        :raise WriteBehindError: the writer failed (the item is not written).
        """
        with self._changed:
            if len(self._waiting) >= self._depth:
                started = time.perf_counter()
                while len(self._waiting) >= self._depth and self._failure is None:
                    self._changed.wait()
                self.waited += time.perf_counter() - started
            self._raise_failure()
            self._waiting.append(item)
            self._changed.notify_all()

    def close(self) -> None:
        """Return once every item handed is written and the thread is gone.

        :raise WriteBehindError: the writer failed (what it had not written, it never will).
        """
        self._stop(drop=False)
        self._raise_failure()

    def abort(self) -> None:
        """Drop the waiting items and return once the thread is gone (the item being written,
        if any, is written or not, never half: a write is the caller's one transaction)."""
        self._stop(drop=True)

    def _stop(self, *, drop: bool) -> None:
        started = time.perf_counter()
        with self._changed:
            if drop:
                self._waiting.clear()
            self._closing = True
            self._changed.notify_all()
        self._thread.join()
        self.waited += time.perf_counter() - started

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise WriteBehindError(
                f"{self.name} failed after {self.written} writes"
            ) from self._failure

    def _run(self) -> None:
        try:
            with self._opened() as resource:
                while (item := self._next()) is not None:
                    self._write(resource, item)
                    self.written += 1
        except BaseException as failure:  # any failure must reach the caller
            with self._changed:
                self._failure = failure
                self._waiting.clear()
                self._changed.notify_all()

    def _next(self) -> T | None:
        """The next item to write, or ``None`` once closing with nothing left."""
        with self._changed:
            while not self._waiting and not self._closing:
                self._changed.wait()
            if not self._waiting:
                return None
            item = self._waiting.popleft()
            self._changed.notify_all()
            return item
