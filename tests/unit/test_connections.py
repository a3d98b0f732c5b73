"""``fincome_dev.connections``: the one factory per connection type, read back as Airflow reads
``AIRFLOW_CONN_*`` variables."""

from __future__ import annotations

import json

import pytest
from airflow.models.connection import Connection

from fincome_dev import connections


def read_back(variables: dict[str, str], conn_id: str) -> Connection:
    return Connection.from_json(variables[f"AIRFLOW_CONN_{conn_id.upper()}"], conn_id=conn_id)


def test_the_api_connection_carries_the_key_as_password_and_the_settings_as_extra():
    api = connections.fincome_api("http://api.test", "k3y", requests_per_second=5, timeout=2)
    conn = read_back(connections.environ(api=api), "fincome_api")
    assert (conn.conn_type, conn.host, conn.password) == ("fincome", "http://api.test", "k3y")
    assert conn.extra_dejson == {"requests_per_second": 5, "timeout": 2}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "postgresql+psycopg2://erp:pw@db.test:5433/erp",
            ("postgres", "db.test", 5433, "erp", "erp", "pw"),
            id="postgresql",
        ),
        pytest.param(
            "mysql+pymysql://root@127.0.0.1:3306/erp",
            ("mysql", "127.0.0.1", 3306, "erp", "root", None),
            id="mariadb",
        ),
        pytest.param(
            "sqlite:////tmp/erp.sqlite",
            ("sqlite", "/tmp/erp.sqlite", None, None, None, None),
            id="sqlite",
        ),
    ],
)
def test_a_database_url_becomes_the_fields_airflows_hooks_read(url, expected):
    conn = read_back(connections.environ(erp=url), "erp_db")
    assert (
        conn.conn_type,
        conn.host,
        conn.port,
        conn.schema,
        conn.login,
        conn.password,
    ) == expected


def test_the_variables_name_the_connections_the_dags_use_and_only_those_given():
    variables = connections.environ(erp="sqlite:////tmp/e.db", state="sqlite:////tmp/s.db")
    assert set(variables) == {"AIRFLOW_CONN_ERP_DB", "AIRFLOW_CONN_FINCOME_STATE"}
    assert json.loads(variables["AIRFLOW_CONN_FINCOME_STATE"])["host"] == "/tmp/s.db"


def test_a_database_without_an_airflow_connection_type_is_refused():
    with pytest.raises(ValueError, match="oracle"):
        connections.database("oracle://scott@db.test/orcl")
