"""Fixtures of the end-to-end tests: one Airflow per worker, DAG runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.airflow import migrated_airflow
from support.dag_runs import MonthlyLoad

from fincome_dev.airflow_env import AirflowRuntime


@pytest.fixture(scope="session")
def airflow(tmp_path_factory, airflow_db_template) -> Iterator[AirflowRuntime]:
    """A SQLite Airflow over the project's dags and plugins, one per worker for the session."""
    home = tmp_path_factory.mktemp("e2e_airflow") / "home"
    with migrated_airflow(airflow_db_template, home) as runtime:
        yield runtime


@pytest.fixture
def monthly_load(airflow, tmp_path) -> Callable[..., MonthlyLoad]:
    """``monthly_load(erp_url, state_url, sandbox)``: the DAG bound to those, reports in tmp."""

    def _bind(erp_url: str, state_url: str, sandbox: Any) -> MonthlyLoad:
        return MonthlyLoad(airflow, erp_url, state_url, sandbox, tmp_path / "reports")

    return _bind


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request, tmp_path) -> tuple[str, str]:
    """(ERP URL, state URL): SQLite files, or two throwaway PostgreSQL databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'erp.sqlite'}", f"sqlite:///{tmp_path / 'state.sqlite'}"
    create = request.getfixturevalue("create_pg_database")
    return create("fincome_e2e_erp"), create("fincome_e2e_state")


@pytest.fixture
def sandbox(sandbox_session):
    """The session's sandbox, emptied, with ``require_plans``: the runs here load Fincome's whole
    billing model, so a subscription's plan must be in Fincome before it (products and plans go
    first)."""
    sandbox_session.reset(require_plans=True)
    return sandbox_session
