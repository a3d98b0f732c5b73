"""Late changes: what a run sent for invoices (or credit notes) of other months, checked too.

A load also sends every record changed in the ERP since the last load: a payment recorded in
November on an October invoice goes out with the November run. The run's own month is compared
whole; for each other month the run sent to, only the records it sent are (the rest of that
month was not read). A month with few such records is read one record at a time, a larger one
through the list of the month; deleted records are read one at a time (Fincome should no
longer hold them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from sqlalchemy import select

from fincome_airflow import contract
from fincome_airflow.audit.run_counts import staged_with_outcomes
from fincome_airflow.month import BillingMonth
from fincome_airflow.reconcile.compare import Difference, compare_pair
from fincome_airflow.reconcile.expected import month_filter, staged_among
from fincome_airflow.reconcile.merge import merge_by_id
from fincome_airflow.reconcile.references import References, note_references
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore

#: Up to this many sent records of a month are read one by one; more, through the month's list.
GET_LIMIT: Final = 50


class Reader(Protocol):
    """What reconciliation needs of the hook: the contract's list and get calls."""

    def list(self, resource: contract.ApiResource, **filters: Any) -> Iterator[dict[str, Any]]: ...

    def get(self, resource: contract.ApiResource, record_id: str) -> dict[str, Any] | None: ...


@dataclass
class LateRecords:
    """The run's sent records of a dated resource outside its month: ids by month (sorted),
    deletions, and the records they reference. Ids only: payloads are read back month by
    month."""

    resource: contract.ApiResource
    by_month: dict[str, list[str]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    references: References = field(default_factory=dict)


def sent_outside(
    store: StateStore, run_key: str, month: BillingMonth, resource: contract.ApiResource
) -> LateRecords:
    """The records of ``resource`` that ``run_key`` sent (an outcome was recorded) that are not
    of ``month``."""
    st = schema.staged
    query = (
        select(st.c.record_id, st.c.action, st.c.payload)
        .select_from(staged_with_outcomes())
        .where(st.c.run_key == run_key, st.c.resource == resource)
        .execution_options(stream_results=True, yield_per=2000)
    )
    late = LateRecords(resource)
    start, end = month.start.isoformat(), month.end.isoformat()
    with store.engine.connect() as conn:
        for record_id, action, payload in conn.execute(query):
            if action != "upsert":
                late.deleted.append(record_id)
                continue
            record = json.loads(payload)
            issued = record.get("issue_date", "")
            if not start <= issued < end:
                late.by_month.setdefault(issued[:7], []).append(record_id)
                note_references(resource, record, late.references)
    for ids in late.by_month.values():
        ids.sort()
    late.deleted.sort()
    return late


def sent_ids(store: StateStore, run_key: str, resource: str) -> set[str]:
    """The ids of ``resource`` that ``run_key`` sent (whatever Fincome answered)."""
    out = schema.outcomes
    query = select(out.c.record_id).where(out.c.run_key == run_key, out.c.resource == resource)
    with store.begin() as conn:
        return set(conn.execute(query).scalars())


def compare_late(
    hook: Reader,
    store: StateStore,
    run_key: str,
    late: LateRecords,
    month: BillingMonth,
    add: Callable[[Difference | None], None],
) -> list[str]:
    """Compare the late records with Fincome, passing each difference to ``add``; return the
    other months covered, oldest first."""
    resource = late.resource
    for other in sorted(late.by_month):
        ids = late.by_month[other]
        sent = staged_among(store, run_key, resource, ids)
        for record_id, want, have in _held(hook, resource, other, sent, len(ids)):
            add(compare_pair(resource, record_id, want, have))
    own = (month.start.isoformat(), month.end.isoformat())
    deleted_months: set[str] = set()
    for record_id in late.deleted:
        have = hook.get(resource, record_id)
        issued = (have or {}).get("issue_date", "")
        if have is not None and own[0] <= issued < own[1]:
            continue  # the month's own comparison reports it
        if have is not None:
            deleted_months.add(issued[:7])
        add(compare_pair(resource, record_id, None, have))
    return sorted(late.by_month.keys() | deleted_months)


def _held(
    hook: Reader,
    resource: contract.ApiResource,
    month: str,
    sent: Iterator[tuple[str, dict[str, Any]]],
    count: int,
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    """``(id, sent payload, what Fincome holds)`` for the ``count`` records sent to ``month``
    (``sent``: ordered by id); Fincome's other records of that month are not compared."""
    if count <= GET_LIMIT:
        for record_id, want in sent:
            yield record_id, want, hook.get(resource, record_id)
        return
    held = hook.list(resource, **month_filter(BillingMonth.parse(month)))
    for record_id, want, have in merge_by_id(sent, held):
        if want is not None:
            yield record_id, want, have
