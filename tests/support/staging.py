"""The state database as a load leaves it: staged records, loaded months, past runs.

Payloads are staged as the extract stages them: their text and hash from
:mod:`fincome_airflow.stage.hashing`, which every writer of the ledger's hashes must use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from fincome_airflow.stage.hashing import canonical_with_hash
from fincome_airflow.state import schema
from fincome_airflow.state.rejects import record_rejects
from fincome_airflow.state.store import StateStore


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
        text, digest = canonical_with_hash(payload) if action == "upsert" else (None, None)
        rows.append(
            {
                "run_key": run_key,
                "resource": resource,
                "record_id": record_id,
                "action": action,
                "payload": text,
                "payload_hash": digest,
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
    from fincome_airflow.hooks.fincome import FincomeHook
    from fincome_airflow.load.send_loops import load_resource
    from fincome_airflow.stage.stage_month import extract_and_stage
    from fincome_airflow.state.ledger import Ledger

    report = extract_and_stage(erp_engine, store, run_key, month, now=now, **extract_options)
    hook = FincomeHook()
    for resource in RESOURCES:
        load_resource(
            hook,
            Ledger(store, run_key, resource),
            log=logging.getLogger("support.staging"),
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
    kind: str = "monthly",
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
                "kind": kind,
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
