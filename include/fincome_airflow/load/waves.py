"""The order of a load: a record whose parent (same resource) is sent in the run waits for a
later wave, so Fincome has confirmed the parent when the child arrives."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from fincome_airflow.state.ledger import Ledger, StagedRecord

#: A record of these resources may reference another record of the same resource.
SELF_REFERENCES = {"customers": "root_parent_id"}


def _parent(record: StagedRecord, field: str) -> str | None:
    return json.loads(record.payload).get(field) if record.payload else None


def waves(ledger: Ledger, *, full_resync: bool) -> Iterator[Iterable[StagedRecord]]:
    """The records to send, in waves: a record whose parent (same resource) is sent in this
    run waits for a later wave, so Fincome has confirmed the parent when the child arrives.

    Resources without a self-reference are one streamed wave. Only held-back children are kept
    in memory (a customer hierarchy is a small share of the customers).
    """
    field = SELF_REFERENCES.get(ledger.resource)
    if field is None:
        yield ledger.iter_to_send(full_resync=full_resync)
        return
    unsent = {r.record_id for r in ledger.iter_to_send(full_resync=full_resync)}
    held: list[StagedRecord] = []

    def first_wave() -> Iterator[StagedRecord]:
        for record in ledger.iter_to_send(full_resync=full_resync):
            if _parent(record, field) in unsent:
                held.append(record)
            else:
                yield record

    yield first_wave()
    while held:
        unsent = {r.record_id for r in held}
        ready = [r for r in held if _parent(r, field) not in unsent] or held  # a cycle: send
        ready_ids = {r.record_id for r in ready}
        held = [r for r in held if r.record_id not in ready_ids]
        yield ready
