"""Helpers shared by the test modules: a fake clock, connection values, staged rows.

``tests/`` is on ``sys.path`` (pytest puts the folder of ``tests/conftest.py`` there), so a test
module anywhere below it imports this one as ``testkit``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fincome_airflow.state import schema
from fincome_airflow.state.rejects import record_rejects
from fincome_airflow.state.store import StateStore

#: The host of the Fincome API that requests-mock answers for.
FINCOME_BASE = "http://fincome.test"


class FakeClock:
    """A monotonic clock that only moves when someone sleeps; records the sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.sleeps.append(seconds)


def max_in_window(starts: Iterable[float], window: float = 1.0) -> int:
    """The most start times found together in any window of ``window`` seconds."""
    starts = sorted(starts)
    best, j = 0, 0
    for i, t in enumerate(starts):
        while t - starts[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best


def fincome_conn_json(
    api_key: str, extra: dict[str, Any] | None = None, host: str = FINCOME_BASE, **fields: Any
) -> str:
    """The ``AIRFLOW_CONN_FINCOME_API`` value of ``host`` with ``api_key``: ``extra`` on top of
    a request rate that never makes a test wait."""
    conn = {"conn_type": "fincome", "host": host, "password": api_key, **fields}
    conn["extra"] = {"requests_per_second": 10_000, **(extra or {})}
    return json.dumps(conn)


def sqlite_conn_json(path: str | Path) -> str:
    """The ``AIRFLOW_CONN_FINCOME_STATE`` value of a SQLite state DB at ``path``."""
    return json.dumps({"conn_type": "sqlite", "host": str(path)})


def stage_records(
    store: StateStore,
    resource: str,
    records: Iterable[tuple[str, dict[str, Any]]],
    *,
    run_key: str,
    action: str = "upsert",
) -> None:
    """Stage ``(record_id, payload)`` pairs as the extract would (payloads of deletes dropped)."""
    rows = []
    for record_id, payload in records:
        text = json.dumps(payload, sort_keys=True)
        upsert = action == "upsert"
        rows.append(
            {
                "run_key": run_key,
                "resource": resource,
                "record_id": record_id,
                "action": action,
                "payload": text if upsert else None,
                "payload_hash": hashlib.sha256(text.encode()).hexdigest() if upsert else None,
            }
        )
    store.insert_rows(schema.staged, rows)


def load_month(
    erp_engine: Any,
    store: StateStore,
    run_key: str,
    month: Any,
    *,
    now: Any,
    full_resync: bool = False,
    **extract_options: Any,
) -> Any:
    """Extract, stage and load ``month`` as the DAG's extract and load tasks do, and end the run
    ``done`` as its audit would (so that the next run starts from its watermark); return the
    stage report. The ``fincome_api`` connection must point at the sandbox."""
    import logging

    from fincome_airflow.contract import RESOURCES
    from fincome_airflow.extract.run import extract_and_stage
    from fincome_airflow.hooks.fincome import FincomeHook
    from fincome_airflow.operators.send_loops import load_resource
    from fincome_airflow.state.ledger import Ledger

    report = extract_and_stage(erp_engine, store, run_key, month, now=now, **extract_options)
    hook = FincomeHook()
    for resource in RESOURCES:
        load_resource(
            hook,
            Ledger(store, run_key, resource),
            log=logging.getLogger("testkit"),
            full_resync=full_resync,
        )
    store.set_run_status(run_key, "done")
    return report


def record_run(
    store: StateStore,
    run_key: str,
    month: str,
    status: str,
    *,
    now: Any,
    days_ago: float,
    records: int = 5,
    watermark: Any = None,
) -> None:
    """A run as a load leaves it: its row, staged records, a reject, outcomes, a verdict."""
    created = now - dt.timedelta(days=days_ago)
    store.insert_rows(
        schema.runs,
        [
            {
                "run_key": run_key,
                "month": month,
                "status": status,
                "dry_run": status == "dry_run",
                "created_at": created,
                "max_updated_at": watermark,
            }
        ],
    )
    ids = [f"{run_key}-inv-{i}" for i in range(records)]
    stage_records(store, "invoices", ((i, {"id": i}) for i in ids), run_key=run_key)
    reject = {"run_key": run_key, "resource": "invoices", "record_id": "bad", "seq": 0,
              "outcome": "rejected", "reason_code": "negative_amount",
              "message": "negative"}  # fmt: skip
    with store.begin() as conn:
        record_rejects(conn, [reject])
    store.insert_rows(
        schema.outcomes,
        [
            {"run_key": run_key, "resource": "invoices", "record_id": i, "outcome": "created"}
            | {"at": created}
            for i in ids
        ],
    )
    store.insert_rows(
        schema.reconciliations,
        [{"run_key": run_key, "month": month, "verdict": "{}", "at": created}],
    )
