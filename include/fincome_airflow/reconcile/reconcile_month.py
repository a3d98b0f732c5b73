"""Reconcile one month: stream Fincome's records against the ERP's, record every difference.

The dated resources (invoices, credit notes) are compared by a merge of two id-ordered streams
(the run's staged records and Fincome's list of the month), so memory does not grow with the
month, and totalled per currency; the records the run sent to other months (late changes,
``late.py``) are compared too. The other resources (customers, subscriptions, plans, products)
are compared for the records those name and the run sent (``steps.py``).
"""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from fincome_airflow import contract
from fincome_airflow.month import BillingMonth
from fincome_airflow.reconcile.compare import Difference, VerdictBuilder, largest
from fincome_airflow.reconcile.late import Reader
from fincome_airflow.reconcile.references import References, referrers_first
from fincome_airflow.reconcile.steps import compare_dated, compare_referenced
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
        if diff.kind != "refused":
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


def reconcile_month(
    hook: Reader,
    store: StateStore,
    run_key: str,
    month: BillingMonth,
    path: ObjectStoragePath | Path,
    resources: Sequence[contract.ApiResource] = contract.RESOURCES,
) -> dict[str, Any]:
    """Compare Fincome with the ERP month staged by ``run_key`` for ``resources`` (default: the
    resources the DAG loads), and the records of other months the run sent; return the verdict
    (``totals``: per dated resource and currency, what the month calls for and what Fincome
    holds; ``other_months``: the months of the late changes).

    The verdict and every difference are written to the state database and to ``path`` (a
    local path or any ObjectStoragePath).
    """
    sink = DifferenceSink(store, run_key, path)
    wanted: References = {}
    totals: dict[str, dict[str, dict[str, str]]] = {}
    other_months: set[str] = set()
    try:
        for resource in referrers_first(resources):
            if resource in contract.DATED_RESOURCES:
                totals[resource], others = compare_dated(
                    hook, store, run_key, month, resource, sink.add, wanted
                )
                other_months.update(others)
            else:
                compare_referenced(hook, store, run_key, resource, sink.add, wanted)
    finally:
        result = sink.close()
    result["totals"] = totals
    result["other_months"] = sorted(other_months)
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


def stored_verdict(store: StateStore, run_key: str) -> dict[str, Any] | None:
    """The verdict a reconciliation of ``run_key`` recorded, if any."""
    table = schema.reconciliations
    with store.begin() as conn:
        text = conn.execute(select(table.c.verdict).where(table.c.run_key == run_key)).scalar()
    return json.loads(text) if text else None
