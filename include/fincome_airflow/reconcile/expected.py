"""What the ERP month calls for, read from the run's staged records (streamed, ordered by id)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, select

from fincome_airflow import contract
from fincome_airflow.month import BillingMonth
from fincome_airflow.stage.staging import id_chunks
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore


def _by_id(store: StateStore, column: Any) -> Any:
    """Order by id in code-point order on every backend (the order Python compares strings)."""
    if store.engine.dialect.name == "postgresql":
        return column.collate("C")
    return column


def staged_payloads(
    store: StateStore, run_key: str, resource: str, *, page: int = 2000
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(id, payload)`` of the run's staged upserts of ``resource``, ordered by id."""
    query = _staged_upserts(store, run_key, resource)
    with store.engine.connect() as conn:
        rows = conn.execute(query.execution_options(stream_results=True, yield_per=page))
        for record_id, payload in rows:
            yield record_id, json.loads(payload)


def staged_among(
    store: StateStore, run_key: str, resource: str, ids: Sequence[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(id, payload)`` of the run's staged upserts whose id is in ``ids`` (sorted), in order;
    read a chunk of ids at a time."""
    column = schema.staged.c.record_id
    for part in id_chunks(ids):
        with store.begin() as conn:
            rows = conn.execute(_staged_upserts(store, run_key, resource).where(column.in_(part)))
            for record_id, payload in rows.all():
                yield record_id, json.loads(payload)


def _staged_upserts(store: StateStore, run_key: str, resource: str) -> Select[Any]:
    st = schema.staged
    return (
        select(st.c.record_id, st.c.payload)
        .where(st.c.run_key == run_key, st.c.resource == resource, st.c.action == "upsert")
        .order_by(_by_id(store, st.c.record_id))
    )


def month_filter(month: BillingMonth) -> dict[str, str]:
    """The list filter of a dated resource (``contract.DATED_RESOURCES``) for ``month``."""
    return {
        contract.ISSUE_DATE_FROM_PARAM: month.start.isoformat(),
        contract.ISSUE_DATE_TO_PARAM: month.end.isoformat(),
    }


def month_records(
    store: StateStore, run_key: str, resource: str, month: BillingMonth
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The run's staged records of a dated resource issued in ``month`` (those of other months
    were staged as late changes)."""
    start, end = month.start.isoformat(), month.end.isoformat()
    for record_id, payload in staged_payloads(store, run_key, resource):
        if start <= payload.get("issue_date", "") < end:
            yield record_id, payload


def refused(store: StateStore, run_key: str, resource: str) -> dict[str, str]:
    """Ids this run rejected or blocked, with a short reason."""
    rj = schema.rejects
    query = select(rj.c.record_id, rj.c.outcome, rj.c.reason_code).where(
        rj.c.run_key == run_key, rj.c.resource == resource
    )
    out: dict[str, str] = {}
    with store.begin() as conn:
        for record_id, outcome, reason in conn.execute(query):
            out.setdefault(record_id, f"{outcome}: {reason}")
    return out
