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

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore

#: Frozen test data: the DDL the first release ran on an empty state database, per backend.
FIRST_RELEASE_DDL = Path(__file__).parent / "data" / "first_release_state_{dialect}.sql"

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


def create_first_release_schema(engine: Engine) -> None:
    """Make the state tables as the first release did (no migrations, version marker 1)."""
    script = FIRST_RELEASE_DDL.with_name(FIRST_RELEASE_DDL.name.format(dialect=engine.dialect.name))
    statements = [s for s in script.read_text().split(";\n") if s.strip()]
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


class FirstReleaseStore(StateStore):
    """A :class:`StateStore` whose schema is the first release's: made on first use, never
    migrated (what a deployment of the first release held)."""

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        if not inspect(self.engine).has_table("fincome_schema_version"):
            create_first_release_schema(self.engine)
        self._schema_ready = True
