"""The deadline callback (``fincome_airflow.deadline.callback``) and the context it is given."""

from __future__ import annotations

import importlib
from types import ModuleType

SECRET_PATH = "/services/T000/B000/s3cr3t-webhook-token"

#: What ``Deadline.handle_miss`` injects: the REST API's DAG run as JSON, and the deadline.
CONTEXT = {
    "dag_run": {
        "dag_run_id": "scheduled__2026-11-01T02:00:00+00:00",
        "dag_id": "fincome_monthly_load",
        "logical_date": "2026-11-01T02:00:00Z",
        "queued_at": "2026-11-01T02:00:03.120000Z",
        "run_after": "2026-11-01T02:00:00Z",
        "run_type": "scheduled",
        "state": "running",
        "conf": {"month": "2026-10", "api_key": "never-logged"},
    },
    "deadline": {
        "id": "01a212a7-a6b4-79f9-b0f9-1676af6c170f",
        "deadline_time": "2026-11-01T08:00:03+00:00",
    },
}


def deadline_callback() -> ModuleType:
    """The module whose ``on_deadline_missed`` the triggerer awaits."""
    return importlib.import_module("fincome_airflow.deadline.callback")
