"""Fixtures of the reliability tests: real sandboxes, real databases, real Airflow processes.

Each scenario records its figures with ``record_result`` (one JSON file per scenario under
``$FINCOME_RELIABILITY_RESULTS``, default ``build/reliability``); ``python -m
fincome_dev.reliability`` prints them as the reliability table. Helpers live in
``support/reliability.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from support.airflow import migrated_airflow

from fincome_dev.airflow_env import AirflowRuntime
from fincome_dev.reliability.results import write_result


@pytest.fixture
def record_result() -> Callable[..., None]:
    """``record_result(scenario, level=..., **figures)``: keep a scenario's figures."""

    def _record(scenario: str, **figures: Any) -> None:
        write_result(scenario, figures)

    return _record


@pytest.fixture
def airflow_rig(tmp_path, airflow_db_template) -> Iterator[Callable[..., AirflowRuntime]]:
    """``airflow_rig(env)``: an Airflow runtime on a copy of the migrated metadata database,
    with the project's DAGs, ``FINCOME_REPORTS_DIR`` and a 1 s retry delay; stopped after."""
    contexts: list[Any] = []

    def _make(env: Mapping[str, str]) -> AirflowRuntime:
        home = tmp_path / f"airflow_home_{len(contexts)}"
        full_env = {
            "FINCOME_REPORTS_DIR": str(home / "reports"),
            "FINCOME_RETRY_DELAY_SECONDS": "1",
            "FINCOME_DEADLINE_INTERVAL": "1h",
            **env,
        }
        context = migrated_airflow(airflow_db_template, home, env=full_env)
        contexts.append(context)
        return context.__enter__()

    yield _make
    for context in reversed(contexts):
        context.__exit__(None, None, None)
