"""The maintenance task: keep the state database bounded (see ``state/retention.py``)."""

from __future__ import annotations

import logging
from typing import Any

from fincome_airflow.state.retention import maintain
from fincome_airflow.state.store import StateStore, utcnow

log = logging.getLogger(__name__)


def maintain_state(*, state_conn_id: str) -> dict[str, Any]:
    """Remove what the retention rules allow; return what was removed (a small XCom)."""
    store = StateStore.from_connection(state_conn_id)
    try:
        report = maintain(store, now=utcnow())
    finally:
        store.engine.dispose()
    return {
        "staged_rows": report.staged_rows,
        "staged_runs": report.staged_runs,
        "history_before": report.history_before,
        "history_runs": report.history_runs,
        "history_rows": report.history_rows,
        "vacuumed": report.vacuumed,
        "line": report.line(),
    }
