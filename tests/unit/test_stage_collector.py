"""The extraction's collector settings hold inside the block and are restored after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from fincome_airflow.stage.collector import fewer_collections


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    """A process that froze no object (the test session freezes its imports: thawed meanwhile)."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    if frozen:
        gc.freeze()


def test_collector_settings_are_raised_inside_and_restored_after_even_on_error(
    nothing_frozen,
) -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), fewer_collections(50_000):
        assert gc.get_threshold() == (50_000, *before[1:])
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the extraction failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_inside_the_block_are_still_collected() -> None:
    class Node:
        pass

    with fewer_collections(50_000):
        node = Node()
        node.self = node
        del node
        assert gc.collect() >= 1


def test_objects_frozen_before_the_block_stay_frozen_after_it() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    with fewer_collections(50_000):
        assert gc.get_freeze_count() >= frozen
    assert gc.get_freeze_count() >= frozen > 0
