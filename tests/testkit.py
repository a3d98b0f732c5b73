"""Helpers shared by the test modules: a fake clock, connection values, staged rows.

``tests/`` is on ``sys.path`` (pytest puts the folder of ``tests/conftest.py`` there), so a test
module anywhere below it imports this one as ``testkit``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fincome_airflow.state import schema
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
