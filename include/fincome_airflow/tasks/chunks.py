"""The chunk planning tasks: cut a load step of the staged month into chunks.

Each one's XCom is a small list (bounds, counts and a label per chunk, never records), which
the step's load task is mapped over (``.expand(chunk=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fincome_airflow.hooks.settings import read_settings
from fincome_airflow.load.chunks import ChunkSizing, plan_chunks
from fincome_airflow.state.retention import require_resumable
from fincome_airflow.state.store import StateStore


def plan_run_chunks(
    plan: Mapping[str, Any],
    step: str,
    *,
    fincome_conn_id: str,
    state_conn_id: str,
    timeout_s: float,
    parallel: int,
) -> list[dict[str, Any]]:
    """The chunks of ``step`` of the run ``plan``, sized for the connection's
    ``requests_per_second`` shared by ``parallel`` chunks, each within ``timeout_s``."""
    rate = read_settings(fincome_conn_id).requests_per_second
    store = StateStore.from_connection(state_conn_id)
    require_resumable(store, plan["run_key"])
    return plan_chunks(store, plan, step, ChunkSizing(rate, timeout_s, parallel))
