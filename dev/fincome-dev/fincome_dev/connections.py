"""The project's three Airflow connections as ``AIRFLOW_CONN_*`` JSON, built in this one place.

The demo, the bench and every test hand connections to Airflow (or to a task run in-process)
through environment variables; a connection per type:

- :func:`fincome_api`: the Fincome API (``conn_type`` ``fincome``, key in ``password``,
  settings in ``extra``);
- :func:`database`: a database given by its SQLAlchemy URL, the ERP (``erp_db``) or the state
  database (``fincome_state``), in the fields Airflow's own hooks read (SQLite: the file in
  ``host``).

:func:`environ` names them as the DAGs look them up.
"""

from __future__ import annotations

import json
from typing import Any, Final

from sqlalchemy.engine import make_url

from fincome_airflow.provider_info import CONN_TYPE, DEFAULT_CONN_ID
from fincome_airflow.state.store import DEFAULT_STATE_CONN_ID

#: The connection id of the ERP database in the DAGs.
ERP_CONN_ID: Final = "erp_db"
#: Airflow connection type by SQLAlchemy backend name.
_CONN_TYPE_BY_BACKEND: Final = {
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}


def fincome_api(host: str, api_key: str, **extra: Any) -> dict[str, Any]:
    """The Fincome API at ``host`` with ``api_key``; ``extra`` holds the hook's settings
    (``requests_per_second``, ``max_concurrency``, ``timeout``, ``retry_budget``...)."""
    return {"conn_type": CONN_TYPE, "host": host, "password": api_key, "extra": extra}


def database(url: str) -> dict[str, Any]:
    """The database at the SQLAlchemy ``url`` (SQLite, PostgreSQL, MySQL/MariaDB)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    conn_type = _CONN_TYPE_BY_BACKEND.get(backend)
    if conn_type is None:
        raise ValueError(f"no Airflow connection type for a {backend} database")
    if conn_type == "sqlite":
        return {"conn_type": conn_type, "host": parsed.database}
    fields = {
        "host": parsed.host,
        "port": parsed.port,
        "schema": parsed.database,
        "login": parsed.username,
        "password": parsed.password,
    }
    return {"conn_type": conn_type, **{k: v for k, v in fields.items() if v}}


def env_name(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def environ(
    *,
    erp: str | None = None,
    state: str | None = None,
    api: dict[str, Any] | None = None,
) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables of the ERP and state database URLs and the API connection
    given (each one optional)."""
    given = {
        ERP_CONN_ID: database(erp) if erp else None,
        DEFAULT_STATE_CONN_ID: database(state) if state else None,
        DEFAULT_CONN_ID: api,
    }
    return {env_name(conn_id): json.dumps(conn) for conn_id, conn in given.items() if conn}
