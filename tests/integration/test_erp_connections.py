"""Engines from Airflow connections, each built by the hook of its type (Postgres, MySQL,
SQLite providers) with the project's settings; a month read from a MariaDB ERP through a
``mysql`` connection reaches the sandbox exactly as the same month read from SQLite."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException
from sqlalchemy import select, text
from sqlalchemy.engine import URL, make_url
from support.connections import fincome_conn_json
from support.staging import load_month

from fincome_airflow.engines import engine_for_connection, erp_engine_for_connection
from fincome_airflow.month import BillingMonth
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore
from fincome_erp.cli import main as erp_main

pytestmark = pytest.mark.integration

OCTOBER = BillingMonth(2026, 10)
NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


def server_conn_json(conn_type: str, url: str | URL, **extra: str) -> str:
    """A connection of ``conn_type`` with the fields of a server ``url``."""
    url = make_url(url)
    fields = {"host": url.host, "port": url.port, "login": url.username}
    fields |= {"password": url.password, "schema": url.database}
    conn = {"conn_type": conn_type, **{k: v for k, v in fields.items() if v is not None}}
    return json.dumps(conn | ({"extra": extra} if extra else {}))


def sqlite_conn_json(path: Path, **extra: str) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(path), "extra": extra})


@pytest.fixture(scope="module")
def demo_erps(create_mysql_database, tmp_path_factory) -> tuple[str, Path]:
    """The demo ERP twice: in a MariaDB database (its URL) and in a SQLite file."""
    mariadb = create_mysql_database("fincome_erp_month")
    sqlite = tmp_path_factory.mktemp("erp") / "erp.sqlite"
    for url in (mariadb, f"sqlite:///{sqlite}"):
        assert erp_main(["demo", "--url", url]) == 0
    return mariadb, sqlite


def _load_october(erp_conn: str, sandbox, state: Path, monkeypatch) -> tuple[dict, set, str]:
    """Load October from the ERP of ``erp_conn`` into the emptied sandbox; return what Fincome
    holds, what was staged (ids and payload hashes), and the ERP engine's driver."""
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", erp_conn)
    monkeypatch.setenv(
        "AIRFLOW_CONN_FINCOME_API", fincome_conn_json(sandbox.api_key, host=sandbox.base_url)
    )
    sandbox.reset()
    engine = erp_engine_for_connection("erp_db")
    store = StateStore.from_url(f"sqlite:///{state}")
    load_month(engine, store, "test/october", OCTOBER, now=NOW)
    s = schema.staged
    with store.engine.connect() as conn:
        staged = set(
            conn.execute(select(s.c.resource, s.c.record_id, s.c.action, s.c.payload_hash))
        )
    driver = engine.dialect.driver
    engine.dispose()
    store.engine.dispose()
    return _without_server_times(sandbox.dump()), staged, driver


def _without_server_times(dump: dict) -> dict:
    """The sandbox's records without the times the sandbox stamps them with."""
    stamps = ("created_at", "updated_at")
    return {
        resource: {
            rid: {k: v for k, v in rec.items() if k not in stamps} for rid, rec in recs.items()
        }
        for resource, recs in dump.items()
    }


def test_a_month_from_a_mariadb_erp_reaches_fincome_as_the_same_month_from_sqlite(
    demo_erps, sandbox, tmp_path, monkeypatch
):
    mariadb, sqlite = demo_erps
    from_mariadb = _load_october(
        server_conn_json("mysql", mariadb), sandbox, tmp_path / "a.db", monkeypatch
    )
    from_sqlite = _load_october(sqlite_conn_json(sqlite), sandbox, tmp_path / "b.db", monkeypatch)
    (fincome, staged, driver), (fincome_sqlite, staged_sqlite, _) = from_mariadb, from_sqlite
    assert driver == "mysqldb"  # the MySQL provider's hook built the engine (mysqlclient)
    assert staged and staged == staged_sqlite
    assert all(fincome.values()) and fincome == fincome_sqlite


def test_a_postgres_connection_gets_psycopg2_unless_its_extra_names_a_driver(
    create_pg_database, monkeypatch
):
    url = create_pg_database("fincome_state")
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", server_conn_json("postgres", url))
    store = StateStore.from_connection()
    store.ensure_schema()
    assert store.engine.dialect.driver == "psycopg2"  # the staging's COPY needs it
    assert store.engine.pool._pre_ping
    store.engine.dispose()
    scheme = "postgresql+psycopg"
    monkeypatch.setenv(
        "AIRFLOW_CONN_FINCOME_STATE", server_conn_json("postgres", url, sqlalchemy_scheme=scheme)
    )
    engine = engine_for_connection("fincome_state")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fincome_runs")).scalar_one() == 0
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_a_postgres_erp_connection_reads_the_erp_schema_unqualified(
    create_pg_database, monkeypatch
):
    url = create_pg_database("fincome_erp")
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", server_conn_json("postgres", url))
    engine = erp_engine_for_connection("erp_db")
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA erp"))
        conn.execute(text("CREATE TABLE erp.customers (cust_no text)"))
        conn.execute(text("INSERT INTO erp.customers VALUES ('C1')"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT cust_no FROM customers")).scalar_one() == "C1"
    engine.dispose()


def test_sqlite_connections_get_wal_for_the_state_and_the_file_attached_as_erp(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", sqlite_conn_json(tmp_path / "erp.db"))
    state = engine_for_connection("fincome_state")
    with state.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 60_000
    erp = erp_engine_for_connection("erp_db")
    with erp.connect() as conn:
        databases = {row[1]: row[2] for row in conn.execute(text("PRAGMA database_list"))}
    assert databases == {"main": "", "erp": str(tmp_path / "erp.db")}
    state.dispose()
    erp.dispose()


def test_a_sqlalchemy_url_extra_bypasses_the_connection_types_hook(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    conn = {"conn_type": "postgres", "host": "unused", "extra": {"sqlalchemy_url": url}}
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", json.dumps(conn))
    engine = engine_for_connection("fincome_state")
    assert str(engine.url) == url
    engine.dispose()


@pytest.mark.parametrize(
    ("conn", "error"),
    [
        pytest.param({"conn_type": "fincome", "host": "x"}, ValueError, id="not-a-database"),
        pytest.param({"conn_type": "no_such_type"}, AirflowException, id="no-provider"),
    ],
)
def test_a_connection_whose_type_has_no_database_hook_is_refused(conn, error, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", json.dumps(conn))
    with pytest.raises(error, match=conn["conn_type"]):
        erp_engine_for_connection("erp_db")
