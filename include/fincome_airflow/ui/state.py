"""The state database engine of the api-server process (connection ``fincome_state``)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from fincome_airflow.engines import engine_from_connection
from fincome_airflow.state.store import DEFAULT_STATE_CONN_ID


@lru_cache(maxsize=1)
def state_engine() -> Engine:
    """One pooled engine per process, built on first use from the Airflow connection."""
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets(DEFAULT_STATE_CONN_ID)
    return engine_from_connection(conn)  # type: ignore[arg-type]
