"""A deployment of the first release upgrades and carries on, on PostgreSQL and on SQLite.

Its state database is made by the first release's frozen DDL (``tests/data``) and filled by a
real load of September (extract and stage, load, over HTTP to the sandbox). The current code then
upgrades it on first use, reruns September (nothing is sent: the ledger survived) and loads
October once the ERP has moved on (October's issued invoices paid in November): Fincome ends up
holding exactly what a deployment that started on the current code holds. Every later migration
must keep this test green.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from support import staging
from support.connections import fincome_conn_json
from support.first_release import FirstReleaseStore

from fincome_airflow.engines import erp_engine, make_engine
from fincome_airflow.state import migrate, schema
from fincome_airflow.state.revisions import Verdict
from fincome_airflow.state.store import StateStore
from fincome_erp.cli import main as erp_main

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


NOVEMBER_PAYMENTS = text(
    "UPDATE erp.invoices SET doc_status = 'PAID', updated_at = :at "
    "WHERE invoice_date >= :start AND doc_status = 'ISSUED'"
)


@pytest.fixture(scope="module")
def demo_erp(tmp_path_factory):
    """The reference ERP with the demo data (2026-08..2026-10), built once."""
    path = tmp_path_factory.mktemp("erp") / "erp.sqlite"
    assert erp_main(["demo", "--url", f"sqlite:///{path}"]) == 0
    return path


@pytest.fixture
def erp_copy(demo_erp, tmp_path) -> Iterator[Callable[[str], Engine]]:
    """Factory of private copies of the demo ERP (each deployment reads its own)."""
    engines: list[Engine] = []

    def copy(name: str) -> Engine:
        path = shutil.copy(demo_erp, tmp_path / f"{name}.sqlite")
        engines.append(erp_engine(f"sqlite:///{path}"))
        return engines[-1]

    yield copy
    for engine in engines:
        engine.dispose()


def pay_october_in_november(erp: Engine) -> None:
    with erp.begin() as conn:
        conn.execute(NOVEMBER_PAYMENTS, {"at": dt.datetime(2026, 11, 20, 9), "start": "2026-10-01"})


@pytest.fixture
def fincome(sandbox, monkeypatch):
    settings = {"requests_per_second": 1000, "max_concurrency": 8}
    conn = fincome_conn_json(sandbox.api_key, settings, host=sandbox.base_url)
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn)
    return sandbox


def load_month(erp, store: StateStore, run_key: str, month: str) -> None:
    """What the DAG does for a month: extract and stage, load each resource, close the run."""
    staging.load_month(erp, store, run_key, month, now=NOW)


def writes(sandbox) -> dict[str, Any]:
    return {r: n for r, n in sandbox.stats()["requests"].items() if not r.startswith("GET ")}


def held(sandbox) -> dict[str, dict[str, dict[str, Any]]]:
    """What Fincome holds, without its own timestamps."""
    return {
        resource: {
            record_id: {k: v for k, v in record.items() if k not in ("created_at", "updated_at")}
            for record_id, record in records.items()
        }
        for resource, records in sandbox.dump().items()
    }


def ledger(engine) -> list[tuple]:
    with engine.connect() as conn:
        columns = schema.ledger.c
        query = select(columns.resource, columns.record_id, columns.payload_hash)
        return sorted(tuple(row) for row in conn.execute(query))


@pytest.fixture
def fresh_deployment_holds(erp_copy, fincome, tmp_path):
    """What Fincome holds after September and October loaded by the current code from scratch."""
    erp = erp_copy("fresh")
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'fresh.db'}")
    load_month(erp, store, "fresh/2026-09", "2026-09")
    pay_october_in_november(erp)
    load_month(erp, store, "fresh/2026-10", "2026-10")
    store.engine.dispose()
    expected = held(fincome)
    fincome.reset()
    return expected


def test_first_release_state_upgraded_reruns_its_month_silently_and_loads_the_next(
    erp_copy, fincome, fresh_deployment_holds, state_db_url
):
    erp, engine = erp_copy("deployment"), make_engine(state_db_url)
    load_month(erp, FirstReleaseStore(engine), "first-release/2026-09", "2026-09")
    assert migrate.status(engine).verdict is Verdict.FIRST_RELEASE
    september = held(fincome)
    confirmed = ledger(engine)
    assert len(confirmed) == sum(len(records) for records in september.values()) > 0

    store = StateStore(engine)
    store.ensure_schema()
    fincome.reset_stats()
    load_month(erp, store, "upgraded/2026-09", "2026-09")

    assert migrate.status(engine).verdict is Verdict.CURRENT
    assert ledger(engine) == confirmed
    assert writes(fincome) == {}
    assert held(fincome) == september

    pay_october_in_november(erp)
    load_month(erp, store, "upgraded/2026-10", "2026-10")

    assert set(writes(fincome)) == {"POST /invoices"}
    assert held(fincome) == fresh_deployment_holds
    engine.dispose()
