"""What Airflow's providers manager reads: the ``fincome`` connection type and its form fields."""

from __future__ import annotations

from typing import Any, Final

from fincome_airflow import contract

CONN_TYPE: Final = "fincome"
DEFAULT_CONN_ID: Final = "fincome_api"
#: The state database's connection (defined here, light enough for DAG parse time).
DEFAULT_STATE_CONN_ID: Final = "fincome_state"

#: Extra fields of the connection form; their keys are what the hook reads from ``extra``.
#: No key may contain a word of Airflow's sensitive-field list ("api_key", "secret", "token",
#: ...): Airflow would mask its value, and the form would offer "***" as the header name.
CONN_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "key_header": {
        "label": "API-key header name",
        "description": "HTTP header that carries the API key.",
        "schema": {"type": ["string", "null"], "default": contract.DEFAULT_API_KEY_HEADER},
    },
    "requests_per_second": {
        "label": "Requests per second",
        "description": "Request budget of the API: of every worker together when a shared "
        "budget store is set, else of each task.",
        "schema": {"type": ["number", "null"], "minimum": 0.1, "default": 10},
    },
    "max_concurrency": {
        "label": "Maximum concurrent requests",
        "description": "Requests in flight at once (of every worker together with a shared "
        "budget store).",
        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 256, "default": 8},
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "description": "Timeout of every single request (connect and read).",
        "schema": {"type": ["number", "null"], "minimum": 0.1, "default": 30},
    },
    "retry_budget": {
        "label": "Total retry budget (seconds)",
        "description": "Time all retries of one request may take together; keep it below the "
        "task's execution_timeout.",
        "schema": {"type": ["number", "null"], "minimum": 0, "default": 300},
    },
    "budget_store": {
        "label": "Shared budget store (Redis URL)",
        "description": "Redis URL of the request budget shared by every worker, e.g. "
        "redis://redis:6379/2; empty: each task has the whole budget to itself. A URL with a "
        "password belongs in FINCOME_BUDGET_STORE (the environment), not here.",
        "schema": {"type": ["string", "null"], "default": ""},
    },
}

PROVIDER_INFO: Final[dict[str, Any]] = {
    "package-name": "fincome-airflow",
    "name": "Fincome",
    "description": "Load billing data into Fincome (MRR, ARR, churn) through its HTTP API.",
    "versions": ["0.1.0"],
    "connection-types": [
        {
            "connection-type": CONN_TYPE,
            "hook-class-name": "fincome_airflow.hooks.fincome.FincomeHook",
            "hook-name": "Fincome",
            "ui-field-behaviour": {
                "hidden-fields": ["login", "port", "schema"],
                "relabeling": {"host": "Base URL", "password": "API key"},
                "placeholders": {"host": contract.DEFAULT_BASE_URL},
            },
            "conn-fields": CONN_FIELDS,
        }
    ],
}
