"""The background writer (stage/write_behind.py) with plain functions for its resource and
its writes: order, failures reaching the caller, and the thread gone on every path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from fincome_airflow.stage.write_behind import WriteBehind, WriteBehindError


class Sink:
    """A resource that records what it is given, and in which thread."""

    def __init__(self) -> None:
        self.items: list[int] = []
        self.threads: set[str] = set()
        self.closed = False

    @contextmanager
    def opened(self) -> Iterator[Sink]:
        self.threads.add(threading.current_thread().name)
        try:
            yield self
        finally:
            self.closed = True


def _write(sink: Sink, item: int) -> None:
    sink.threads.add(threading.current_thread().name)
    if item < 0:
        raise ValueError(f"item {item} refused")
    sink.items.append(item)


def test_the_items_are_written_in_order_in_the_writers_thread_and_close_waits_for_them():
    sink = Sink()
    behind = WriteBehind(sink.opened, _write, name="writer of the test", depth=1)
    for i in range(50):
        behind.put(i)
    behind.close()

    assert sink.items == list(range(50))
    assert sink.threads == {"writer of the test"}
    assert sink.closed
    assert behind.written == 50


def test_a_failed_write_is_raised_at_a_later_put_with_its_cause_and_nothing_after_it_is_written():
    sink = Sink()
    behind = WriteBehind(sink.opened, _write, name="writer of the test", depth=1)
    put = 0
    with pytest.raises(WriteBehindError, match="writer of the test failed after 2 writes") as e:
        for item in [0, 1, -1, *range(2, 10)]:
            behind.put(item)
            put += 1
    # one item may wait and one be written: the third put after the failed one waits for it
    assert put <= 4
    assert isinstance(e.value.__cause__, ValueError)
    assert sink.items == [0, 1]
    assert sink.closed
    with pytest.raises(WriteBehindError):
        behind.close()


def test_a_failure_of_the_last_item_is_raised_at_close():
    sink = Sink()
    behind = WriteBehind(sink.opened, _write, name="writer of the test")
    behind.put(-1)
    with pytest.raises(WriteBehindError) as e:
        behind.close()
    assert str(e.value.__cause__) == "item -1 refused"


def test_a_resource_that_does_not_open_is_a_failure_of_the_writer():
    @contextmanager
    def unreachable() -> Iterator[Sink]:
        raise ConnectionError("no server")
        yield Sink()  # pragma: no cover

    behind = WriteBehind(unreachable, _write, name="writer of the test")
    with pytest.raises(WriteBehindError) as e:
        behind.close()
    assert isinstance(e.value.__cause__, ConnectionError)


def test_abort_drops_the_waiting_items_and_returns_once_the_item_being_written_is():
    sink = Sink()
    first_taken, go_on = threading.Event(), threading.Event()

    def slow_write(resource: Sink, item: int) -> None:
        if item == 0:
            first_taken.set()
            go_on.wait()
        _write(resource, item)

    behind = WriteBehind(sink.opened, slow_write, name="writer of the test", depth=2)
    behind.put(0)
    first_taken.wait()
    behind.put(1)
    behind.put(2)
    assert behind.waiting == 2
    aborting = threading.Thread(target=behind.abort)
    aborting.start()
    # the abort empties the queue first, then waits for the item being written
    while behind.waiting:
        aborting.join(0.01)
    assert aborting.is_alive()
    go_on.set()
    aborting.join()

    assert sink.items == [0]
    assert sink.closed
    assert not [t for t in threading.enumerate() if t.name == "writer of the test"]
