"""The deadline callback of ``plugins/fincome_deadline.py`` and the context Airflow gives it."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from support.paths import PLUGINS

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


def deadline_plugin(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``plugins/fincome_deadline.py`` imported as the triggerer imports it."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    return importlib.import_module("fincome_deadline")
