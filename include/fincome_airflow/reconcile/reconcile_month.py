"""Reconcile one month: stream Fincome's records against the ERP's, record every difference.

Invoices are compared by a merge of two id-ordered streams (the run's staged records and
Fincome's list), so memory does not grow with the month; the invoices the run sent to other
months (late changes, ``late.py``) are compared too; customers and subscriptions are those the
compared invoices reference and those the run sent (with parent customers).
"""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from fincome_airflow import contract
from fincome_airflow.month import BillingMonth
from fincome_airflow.reconcile.compare import Difference, VerdictBuilder, compare_pair, largest
from fincome_airflow.reconcile.expected import month_invoices, refused, staged_payloads
from fincome_airflow.reconcile.late import Reader, compare_late, sent_ids, sent_outside
from fincome_airflow.reconcile.merge import merge_by_id
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore, utcnow
from fincome_airflow.state.upsert import upsert

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

#: How many of the largest differences the verdict names.
TOP = 5
_BATCH = 500
CSV_COLUMNS = ("resource", "record_id", "kind", "currency", "amount_at_stake", "fields", "detail")


class DifferenceSink:
    """Writes differences to the CSV file and the state database in batches; keeps the verdict.

    Memory holds a batch, the counts and the few largest differences, whatever their number.
    """

    def __init__(self, store: StateStore, run_key: str, path: ObjectStoragePath | Path) -> None:
        self.store, self.run_key, self.path = store, run_key, path
        self.refused_seen: set[str] = set()
        self._verdict = VerdictBuilder()
        self._batch: list[dict[str, Any]] = []
        self._largest: list[tuple[Any, ...]] = []
        self._seq = 0
        table = schema.differences
        with store.begin() as conn:
            conn.execute(delete(table).where(table.c.run_key == run_key))
        self._file = path.open("w", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
        self._csv.writeheader()

    def add(self, diff: Difference | None) -> None:
        if diff is None:
            return
        row = diff.as_row()
        self._csv.writerow(row)
        self._batch.append({"run_key": self.run_key, **row})
        self._verdict.add(diff)
        if diff.kind == "refused":
            self.refused_seen.add(diff.record_id)
        else:
            self._seq += 1
            item = (diff.amount_at_stake, -self._seq, diff)
            if len(self._largest) < TOP:
                heapq.heappush(self._largest, item)
            else:
                heapq.heappushpop(self._largest, item)
        if len(self._batch) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            with self.store.begin() as conn:
                upsert(conn, schema.differences, self._batch, ["run_key", "resource", "record_id"])
            self._batch = []

    def close(self) -> dict[str, Any]:
        self.flush()
        self._file.close()
        result = self._verdict.result()
        result["largest"] = [
            {k: v for k, v in diff.as_row().items() if k != "detail"}
            for diff in largest((item[2] for item in self._largest), TOP)
        ]
        result["file"] = str(self.path)
        return result


def _ids_referenced(payloads: Iterable[Mapping[str, Any]], field: str) -> set[str]:
    return {p[field] for p in payloads if p.get(field)}


def reconcile_month(
    hook: Reader,
    store: StateStore,
    run_key: str,
    month: BillingMonth,
    path: ObjectStoragePath | Path,
) -> dict[str, Any]:
    """Compare Fincome with the ERP month staged by ``run_key``, and the invoices of other
    months the run sent; return the verdict (``other_months``: those months).

    The verdict and every difference are written to the state database and to ``path`` (a
    local path or any ObjectStoragePath).
    """
    sink = DifferenceSink(store, run_key, path)
    subscription_ids: set[str] = set()
    customer_ids: set[str] = set()
    refused_invoices = refused(store, run_key, "invoices")
    other_months: list[str] = []
    actual = hook.list(
        "invoices",
        **{
            contract.INVOICE_DATE_FROM_PARAM: month.start.isoformat(),
            contract.INVOICE_DATE_TO_PARAM: month.end.isoformat(),
        },
    )
    try:
        for record_id, want, have in merge_by_id(month_invoices(store, run_key, month), actual):
            if want is not None:
                subscription_ids.add(want["subscription_id"])
                customer_ids.add(want["customer_id"])
            sink.add(
                compare_pair("invoices", record_id, want, have, refused_invoices.get(record_id))
            )
        for record_id, reason in refused_invoices.items():
            if record_id not in sink.refused_seen:
                sink.add(compare_pair("invoices", record_id, None, None, reason))
        late = sent_outside(store, run_key, month)
        other_months = compare_late(hook, store, run_key, late, month, sink.add)
        subscription_ids |= late.subscription_ids | sent_ids(store, run_key, "subscriptions")
        customer_ids |= late.customer_ids | sent_ids(store, run_key, "customers")

        subscriptions = _wanted(store, run_key, "subscriptions", subscription_ids)
        customer_ids |= _ids_referenced(subscriptions.values(), "customer_id")
        customers = _wanted(store, run_key, "customers", customer_ids)
        # Parent customers, level by level: one read of the staged customers per level.
        found = customers
        while parents := _ids_referenced(found.values(), "root_parent_id") - customers.keys():
            found = _wanted(store, run_key, "customers", parents)
            if not found:
                break
            customers.update(found)
        for resource, expected, ids in (
            ("subscriptions", subscriptions, subscription_ids),
            ("customers", customers, customer_ids | customers.keys()),
        ):
            refused_here = refused(store, run_key, resource)
            actual_here = {r["id"]: r for r in hook.list(resource) if r["id"] in ids}
            for record_id in sorted(ids | expected.keys()):
                sink.add(
                    compare_pair(
                        resource,
                        record_id,
                        expected.get(record_id),
                        actual_here.get(record_id),
                        refused_here.get(record_id),
                        report_extra=False,
                    )
                )
    finally:
        result = sink.close()
    result["other_months"] = other_months
    with store.begin() as conn:
        upsert(
            conn,
            schema.reconciliations,
            [
                {
                    "run_key": run_key,
                    "month": str(month),
                    "verdict": json.dumps(result),
                    "file": str(path),
                    "at": utcnow(),
                }
            ],
            ["run_key"],
        )
    return result


def _wanted(
    store: StateStore, run_key: str, resource: str, ids: set[str]
) -> dict[str, dict[str, Any]]:
    return {rid: p for rid, p in staged_payloads(store, run_key, resource) if rid in ids}


def stored_verdict(store: StateStore, run_key: str) -> dict[str, Any] | None:
    """The verdict a reconciliation of ``run_key`` recorded, if any."""
    table = schema.reconciliations
    with store.begin() as conn:
        text = conn.execute(select(table.c.verdict).where(table.c.run_key == run_key)).scalar()
    return json.loads(text) if text else None
