"""Chunk sizing, cutting and the merge of the chunks' audits (pure functions)."""

from __future__ import annotations

import math

import pytest

from fincome_airflow.load.chunks import MIN_CHUNK, ChunkSizing, cut, merge_audits
from fincome_airflow.state.ledger import KeyRange


def test_a_chunk_sends_within_half_its_timeout_when_the_parallel_chunks_share_the_rate():
    sizing = ChunkSizing(rate=50, timeout_s=7200, parallel=2)
    assert sizing.records == 90_000
    assert sizing.seconds(sizing.records) == 3600
    assert math.ceil(1_000_000 / sizing.records) == 12


def test_a_chunk_holds_at_least_the_minimum_however_slow_the_api():
    assert ChunkSizing(rate=0.1, timeout_s=60, parallel=4).records == MIN_CHUNK


def test_cut_ranges_cover_every_key_with_open_ends():
    keys = [("a", 2), ("b", 2), ("c", 2), ("d", 2), ("e", 1)]
    assert cut(keys, 4) == [
        (KeyRange(None, "b"), 4),
        (KeyRange("b", "d"), 4),
        (KeyRange("d", None), 1),
    ]


def test_cut_never_splits_a_key_and_opens_the_last_range_instead_of_adding_an_empty_one():
    keys = [("root-1", 5), ("root-2", 1), ("root-3", 3)]
    assert cut(keys, 3) == [(KeyRange(None, "root-1"), 5), (KeyRange("root-1", None), 4)]


def test_cut_of_nothing_is_one_open_chunk():
    assert cut([], 10) == [(KeyRange(None, None), 0)]


def test_merged_audit_sums_the_chunks_counts():
    chunks = [
        {"resource": "invoices", "dry_run": False, "chunk": "invoices 1/2", "created": 3,
         "unchanged": 1, "duration_s": 1.25, "requests": 4},
        {"resource": "invoices", "dry_run": False, "chunk": "invoices 2/2", "created": 2,
         "unchanged": 0, "duration_s": 0.5, "requests": 2},
    ]  # fmt: skip
    assert merge_audits(chunks) == {
        "resource": "invoices",
        "dry_run": False,
        "created": 5,
        "unchanged": 1,
        "duration_s": 1.75,
        "requests": 6,
        "chunks": 2,
    }


@pytest.mark.parametrize(
    "audits", [[], [{"created": 1}, None]], ids=["no chunk", "a chunk unfinished"]
)
def test_merged_audit_is_missing_while_a_chunk_has_not_finished(audits):
    assert merge_audits(audits) is None


def test_merged_audit_of_a_skipped_step_stays_skipped():
    merged = merge_audits([{"resource": "customers", "run_key": "r", "skipped": True}])
    assert merged is not None and merged["skipped"] is True
