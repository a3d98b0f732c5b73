"""The extraction's collector settings hold inside the block and are restored after it."""

from __future__ import annotations

import gc

import pytest

from fincome_airflow.stage.collector import fewer_collections


def test_collector_settings_are_raised_inside_and_restored_after_even_on_error() -> None:
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
