"""Chunks of a staged month: how many records one load task may send, and where to cut.

A month of any size loads as mapped task instances, one per chunk, each sized to finish well
within its ``execution_timeout`` at the connection's rate even when ``parallel`` chunks share
the API budget. A chunk is a range of chunk keys (:class:`~fincome_airflow.state.ledger.KeyRange`):
the record id, or for customers the root of the record's hierarchy, so that a chunk holds whole
trees and sends parents before children inside it. Ranges cover every key (the first and last
are open), so a record the plan did not count (a retry, a record the ERP changed since) still
belongs to exactly one chunk.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fincome_airflow.contract import DELETION_STEPS
from fincome_airflow.state.ledger import DELETE, TREE_FIELDS, UPSERT, KeyRange, Ledger
from fincome_airflow.state.store import StateStore

log = logging.getLogger(__name__)

#: Share of a chunk task's ``execution_timeout`` its sends may take at the connection's rate
#: (the rest absorbs retries, 429 pauses and a slower API).
TIMEOUT_SHARE = 0.5
#: Fewest records in a chunk: below this a task's start costs more than its sends.
MIN_CHUNK = 10


@dataclass(frozen=True, slots=True)
class ChunkSizing:
    """How a chunk is sized: ``rate`` requests per second for the whole API budget,
    ``timeout_s`` seconds per chunk task, ``parallel`` chunks of one step at once at most."""

    rate: float
    timeout_s: float
    parallel: int = 1

    @property
    def records(self) -> int:
        """Records per chunk: what ``parallel`` chunks sharing ``rate`` send in
        :data:`TIMEOUT_SHARE` of the timeout, at least :data:`MIN_CHUNK`."""
        per_task = self.rate / max(1, self.parallel)
        return max(MIN_CHUNK, math.floor(per_task * self.timeout_s * TIMEOUT_SHARE))

    def seconds(self, records: int) -> float:
        """Seconds one chunk of ``records`` takes when ``parallel`` chunks share the rate."""
        return records * max(1, self.parallel) / self.rate


def cut(keys: Iterable[tuple[Any, int]], size: int) -> list[tuple[KeyRange, int]]:
    """Cut ordered ``(key, records)`` into ranges of about ``size`` records (a key's records
    never split: a customer tree stays whole); the first and the last range are open."""
    ranges: list[list[Any]] = []
    after: str | None = None
    count = 0
    for key, records in keys:
        count += int(records)
        if count >= size:
            ranges.append([after, str(key), count])
            after, count = str(key), 0
    if count or not ranges:
        ranges.append([after, None, count])
    else:  # the last cut fell on the last key: open that range rather than add an empty one
        ranges[-1][1] = None
    return [(KeyRange(a, upto), n) for a, upto, n in ranges]


def chunk(label: str, index: int, of: int, key_range: KeyRange, records: int) -> dict[str, Any]:
    """One chunk as the mapped task receives it (small: bounds and a count, never records)."""
    return {
        "label": f"{label} {index}/{of}",
        "after": key_range.after,
        "upto": key_range.upto,
        "records": records,
    }


def whole(label: str, records: int = 0) -> list[dict[str, Any]]:
    """One chunk holding everything (a dry run, a step not selected, nothing to send)."""
    return [chunk(label, 1, 1, KeyRange(), records)]


def deep_hierarchy(ledger: Ledger, *, full_resync: bool) -> bool:
    """Whether a record to send names a parent that itself names a parent to send (a tree
    deeper than root and members): then its chunk key is not its root, and the step is not cut."""
    children, parents = set(), set()
    for record_id, parent in ledger.iter_parents(full_resync=full_resync):
        children.add(record_id)
        parents.add(parent)
    return bool(children & parents)


def plan_step(
    ledger: Ledger, label: str, size: int, *, action: str = UPSERT, full_resync: bool = False
) -> list[dict[str, Any]]:
    """The chunks of one step: the records ``ledger`` would send (or delete), cut by key."""
    keys = ledger.iter_chunk_keys(full_resync=full_resync, action=action)
    if (
        action == UPSERT
        and ledger.resource in TREE_FIELDS
        and deep_hierarchy(ledger, full_resync=full_resync)
    ):
        total = sum(int(records) for _, records in keys)
        log.warning("%s: a hierarchy deeper than two levels: one chunk of %d", label, total)
        return whole(label, total)
    ranges = cut(keys, size)
    return [chunk(label, i, len(ranges), r, n) for i, (r, n) in enumerate(ranges, start=1)]


def plan_chunks(
    store: StateStore, plan: Mapping[str, Any], step: str, sizing: ChunkSizing
) -> list[dict[str, Any]]:
    """The chunks of one step (a resource, or a deletion step of
    :data:`~fincome_airflow.contract.DELETION_STEPS`) of the run ``plan`` (the
    prepare task's XCom).

    A dry run, a step not selected and a reconcile-only run get one chunk: the task counts (or
    skips) the whole step, and a mapped task is never expanded over nothing (its downstream
    tasks would be skipped with it).
    """
    resource = DELETION_STEPS.get(step, step)
    if not plan["send"] or plan.get("reconcile_only") or resource not in plan["resources"]:
        return whole(step)
    ledger = Ledger(store, plan["run_key"], resource)
    size = sizing.records
    if step in DELETION_STEPS:
        chunks = plan_step(ledger, step, size, action=DELETE)
    else:
        chunks = plan_step(ledger, step, size, full_resync=bool(plan.get("full_resync")))
    log.info(
        "%s: %d to send in %d chunk(s) of about %d records (%.0f s each at %.1f req/s shared by "
        "%d chunks)",
        step,
        sum(c["records"] for c in chunks),
        len(chunks),
        size,
        sizing.seconds(size),
        sizing.rate,
        sizing.parallel,
    )
    return chunks


def key_range(chunk: Mapping[str, Any] | None) -> KeyRange | None:
    """The key range of a chunk given to a task, ``None`` for no chunk (the whole step)."""
    if not chunk:
        return None
    return KeyRange(chunk.get("after"), chunk.get("upto"))


def merge_audits(audits: list[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """One step's audit from its chunks' audits: numbers summed (``duration_s`` is the sum of
    the chunks' send times), ``None`` while a chunk has not finished."""
    if not audits or any(a is None for a in audits):
        return None
    merged: dict[str, Any] = {}
    for audit in audits:
        assert audit is not None
        for key, value in audit.items():
            if isinstance(value, int | float) and type(value) is not bool:
                merged[key] = merged.get(key, 0) + value
            elif key != "chunk":
                merged.setdefault(key, value)
    if "duration_s" in merged:
        merged["duration_s"] = round(merged["duration_s"], 3)
    merged["chunks"] = len(audits)
    return merged
