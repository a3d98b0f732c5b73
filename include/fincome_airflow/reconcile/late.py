"""Late changes: what a run sent for invoices of other months, checked against Fincome too.

A load also sends every record changed in the ERP since the last load: a payment recorded in
November on an October invoice goes out with the November run. The run's own month is compared
whole; for each other month the run sent to, only the invoices it sent are (the rest of that
month was not read). A month with few such invoices is read one invoice at a time, a larger one
through the list of the month; deleted invoices are read one at a time (Fincome should no
longer hold them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from sqlalchemy import select

from fincome_airflow import contract
from fincome_airflow.month import BillingMonth
from fincome_airflow.reconcile.compare import Difference, compare_pair
from fincome_airflow.state import schema
from fincome_airflow.state.run_counts import staged_with_outcomes
from fincome_airflow.state.store import StateStore

#: Up to this many sent invoices of a month are read one by one; more, through the month's list.
GET_LIMIT: Final = 50


class Reader(Protocol):
    """What reconciliation needs of the hook: the contract's list and get calls."""

    def list(self, resource: contract.Resource, **filters: Any) -> Iterator[dict[str, Any]]: ...

    def get(self, resource: contract.Resource, record_id: str) -> dict[str, Any] | None: ...


@dataclass
class LateInvoices:
    """The run's sent invoices outside its month: upserts by month, and deletions."""

    by_month: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def references(self, key: str) -> set[str]:
        """The ``key`` (``subscription_id``, ``customer_id``) the sent invoices name."""
        return {p[key] for m in self.by_month.values() for p in m.values() if p.get(key)}


def sent_outside(store: StateStore, run_key: str, month: BillingMonth) -> LateInvoices:
    """The invoices ``run_key`` sent (an outcome was recorded) that are not of ``month``."""
    st = schema.staged
    query = (
        select(st.c.record_id, st.c.action, st.c.payload)
        .select_from(staged_with_outcomes())
        .where(st.c.run_key == run_key, st.c.resource == "invoices")
        .order_by(st.c.record_id)
    )
    late = LateInvoices()
    start, end = month.start.isoformat(), month.end.isoformat()
    with store.begin() as conn:
        for record_id, action, payload in conn.execute(query):
            if action != "upsert":
                late.deleted.append(record_id)
                continue
            record = json.loads(payload)
            issued = record.get("issue_date", "")
            if not start <= issued < end:
                late.by_month.setdefault(issued[:7], {})[record_id] = record
    return late


def sent_ids(store: StateStore, run_key: str, resource: str) -> set[str]:
    """The ids of ``resource`` that ``run_key`` sent (whatever Fincome answered)."""
    out = schema.outcomes
    query = select(out.c.record_id).where(out.c.run_key == run_key, out.c.resource == resource)
    with store.begin() as conn:
        return set(conn.execute(query).scalars())


def compare_late(
    hook: Reader,
    late: LateInvoices,
    month: BillingMonth,
    add: Callable[[Difference | None], None],
) -> list[str]:
    """Compare the late invoices with Fincome, passing each difference to ``add``; return the
    other months covered, oldest first."""
    for other in sorted(late.by_month):
        sent = late.by_month[other]
        for record_id, want, have in _held(hook, other, sent):
            add(compare_pair("invoices", record_id, want, have))
    own = (month.start.isoformat(), month.end.isoformat())
    deleted_months: set[str] = set()
    for record_id in late.deleted:
        have = hook.get("invoices", record_id)
        issued = (have or {}).get("issue_date", "")
        if have is not None and own[0] <= issued < own[1]:
            continue  # the month's own comparison reports it
        if have is not None:
            deleted_months.add(issued[:7])
        add(compare_pair("invoices", record_id, None, have))
    return sorted(late.by_month.keys() | deleted_months)


def _held(
    hook: Reader, month: str, sent: dict[str, dict[str, Any]]
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """``(id, sent payload, what Fincome holds)`` for the invoices sent to ``month``."""
    if len(sent) <= GET_LIMIT:
        for record_id in sorted(sent):
            yield record_id, sent[record_id], hook.get("invoices", record_id)
        return
    billing = BillingMonth.parse(month)
    held = hook.list(
        "invoices",
        **{
            contract.INVOICE_DATE_FROM_PARAM: billing.start.isoformat(),
            contract.INVOICE_DATE_TO_PARAM: billing.end.isoformat(),
        },
    )
    found: dict[str, dict[str, Any]] = {}
    for record in held:
        if record["id"] in sent:
            found[record["id"]] = record
    for record_id in sorted(sent):
        yield record_id, sent[record_id], found.get(record_id)
