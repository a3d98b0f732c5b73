"""The tests' connections: :mod:`fincome_dev.connections` (the one factory per connection type,
which the demo and the bench use too) as the ``AIRFLOW_CONN_*`` JSON a test sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from fincome_dev import connections

#: The host of the Fincome API that requests-mock answers for.
FINCOME_BASE: Final = "http://fincome.test"
#: A request rate that never makes a test wait.
NO_WAIT: Final = {"requests_per_second": 10_000}


def fincome_conn_json(
    api_key: str, extra: dict[str, Any] | None = None, host: str = FINCOME_BASE, **fields: Any
) -> str:
    """The Fincome API at ``host`` with ``api_key``: ``extra`` on top of :data:`NO_WAIT`, other
    connection ``fields`` (``login``, ``port``...) on top of the rest."""
    conn = connections.fincome_api(host, api_key, **{**NO_WAIT, **(extra or {})})
    return json.dumps({**conn, **fields})


def database_json(url: str) -> str:
    """The database (ERP or state) at the SQLAlchemy ``url``."""
    return json.dumps(connections.database(url))


def sqlite_conn_json(path: str | Path) -> str:
    """The SQLite database (ERP or state) in the file at ``path``."""
    return database_json(f"sqlite:///{path}")
