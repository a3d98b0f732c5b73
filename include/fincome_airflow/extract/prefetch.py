"""Fetch the next chunk of rows while the current one is validated.

On PostgreSQL a server-side cursor makes each ``fetchmany`` a round trip during which Python
would wait for the server; psycopg2 releases the GIL while it waits, so a reader thread can
overlap the database's work with the validation's. Memory stays bounded: at most ``depth``
chunks wait in the queue.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Final, TypeVar

T = TypeVar("T")
_END: Final = object()
_POLL: Final = 0.1


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(chunks: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``chunks`` in order, read ahead by one thread (at most ``depth`` waiting).

    Closing the generator early stops the reader before returning, so the caller may close the
    cursor right after.
    """
    waiting: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as error:  # handed to the consumer, raised in its thread
            put(_Failed(error))

    reader = threading.Thread(target=read, name="fincome-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = waiting.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()
