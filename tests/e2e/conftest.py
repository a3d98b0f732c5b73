"""Fixtures of the end-to-end tests: one migrated Airflow per session, demo ERPs, DAG runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.dag_runs import MonthlyLoad

from fincome_dev.airflow_env import AirflowRuntime, airflow_runtime

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def airflow(tmp_path_factory) -> Iterator[AirflowRuntime]:
    """A SQLite Airflow over the project's dags and plugins, migrated once for the session."""
    with airflow_runtime(
        REPO / "dags",
        plugins_folder=REPO / "plugins",
        home=tmp_path_factory.mktemp("e2e_airflow") / "home",
    ) as runtime:
        yield runtime


@pytest.fixture
def monthly_load(airflow, tmp_path) -> Callable[..., MonthlyLoad]:
    """``monthly_load(erp_url, state_url, sandbox)``: the DAG bound to those, reports in tmp."""

    def _bind(erp_url: str, state_url: str, sandbox: Any) -> MonthlyLoad:
        return MonthlyLoad(airflow, erp_url, state_url, sandbox, tmp_path / "reports")

    return _bind
