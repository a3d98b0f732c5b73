"""Fetch the next chunk of rows while the current one is validated.

On PostgreSQL a server-side cursor makes each ``fetchmany`` a round trip during which Python
would wait for the server; psycopg2 releases the GIL while it waits, so a reader thread can
overlap the database's work with the validation's. Memory stays bounded: at most ``depth``
chunks are read ahead of the one being validated.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Final, Generic, TypeVar

T = TypeVar("T")
_END: Final = object()
_POLL: Final = 0.1


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetcher(Generic[T]):
    """Read ``chunks`` in a thread of its own from construction on, at most ``depth`` ahead.

    The reader takes a slot before it reads a chunk and the consumer gives it back when it
    takes the chunk: at most ``depth`` chunks are read and not yet taken (a source that
    waits for its turn holds ``depth`` chunks, not more). Iterate it once, in one thread;
    :meth:`close` (idempotent) stops the reader and waits for it. The reader closes ``chunks``
    (a generator's ``finally`` runs in the reader's thread), so a generator that holds a
    connection releases it before :meth:`close` returns.
    """

    def __init__(self, chunks: Iterable[T], depth: int = 2, name: str = "fincome-prefetch"):
        self._chunks = chunks
        self._waiting: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._slots = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name=name, daemon=True)
        self._reader.start()

    def _slot(self) -> bool:
        """Wait for a free slot; False once stopped."""
        while not self._stop.is_set():
            if self._slots.acquire(timeout=_POLL):
                return True
        return False

    def _read(self) -> None:
        try:
            try:
                chunks = iter(self._chunks)
                while self._slot():
                    chunk = next(chunks, _END)
                    self._waiting.put(chunk)
                    if chunk is _END:
                        return
            finally:
                close = getattr(self._chunks, "close", None)
                if close is not None:
                    close()
        except BaseException as error:  # handed to the consumer, raised in its thread
            self._waiting.put(_Failed(error))

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                item = self._waiting.get(timeout=_POLL)
            except queue.Empty:
                if self._reader.is_alive() or not self._waiting.empty():
                    continue
                if self._stop.is_set():
                    return  # closed: nothing more comes
                raise RuntimeError("the reader ended without handing its end") from None
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            self._slots.release()
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._reader.join()


def prefetched(chunks: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``chunks`` in order, read ahead by one thread (at most ``depth`` waiting).

    Closing the generator early stops the reader before returning, so the caller may close the
    cursor right after.
    """
    reader = Prefetcher(chunks, depth)
    try:
        yield from reader
    finally:
        reader.close()
