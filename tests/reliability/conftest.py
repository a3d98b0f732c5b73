"""Fixtures of the reliability tests: real sandboxes, real databases, real Airflow processes.

Each scenario records its figures with ``record_result`` (one JSON file per scenario under
``$FINCOME_RELIABILITY_RESULTS``, default ``build/reliability``); ``python -m
fincome_dev.reliability`` prints them as the reliability table. Helpers live in
``support/reliability.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from support.paths import REPO

from fincome_dev.airflow_env import AirflowRuntime, airflow_runtime
from fincome_dev.reliability.results import write_result


@pytest.fixture
def record_result() -> Callable[..., None]:
    """``record_result(scenario, level=..., **figures)``: keep a scenario's figures."""

    def _record(scenario: str, **figures: Any) -> None:
        write_result(scenario, figures)

    return _record


@pytest.fixture(scope="session")
def airflow_db_template(tmp_path_factory) -> Path:
    """A migrated Airflow metadata database, copied into every runtime (migrating takes ~7 s)."""
    home = tmp_path_factory.mktemp("airflow_template")
    with airflow_runtime(REPO / "dags", plugins_folder=REPO / "plugins", home=home) as af:
        path = af.db_path
    return path


@pytest.fixture
def airflow_rig(tmp_path, airflow_db_template) -> Iterator[Callable[..., AirflowRuntime]]:
    """``airflow_rig(env)``: an Airflow runtime on a copy of the migrated metadata database,
    with the project's DAGs, ``FINCOME_REPORTS_DIR`` and a 1 s retry delay; stopped after."""
    contexts: list[Any] = []

    def _make(env: Mapping[str, str]) -> AirflowRuntime:
        home = tmp_path / f"airflow_home_{len(contexts)}"
        home.mkdir()
        shutil.copy(airflow_db_template, home / "airflow.db")
        full_env = {
            "FINCOME_REPORTS_DIR": str(home / "reports"),
            "FINCOME_RETRY_DELAY_SECONDS": "1",
            "FINCOME_DEADLINE_INTERVAL": "1h",
            **env,
        }
        context = airflow_runtime(
            REPO / "dags", plugins_folder=REPO / "plugins", home=home, env=full_env, migrate=False
        )
        contexts.append(context)
        return context.__enter__()

    yield _make
    for context in reversed(contexts):
        context.__exit__(None, None, None)
