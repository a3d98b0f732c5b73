"""The ``fincome`` connection type is what the API server serves to the UI's connection form.

Runs the real api-server app (FastAPI TestClient) in a subprocess with its own AIRFLOW_HOME and a
copy of the session's migrated SQLite metadata DB, so that nothing of this test process's Airflow
config leaks in.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys

import pytest

from fincome_airflow.provider_info import CONN_FIELDS

SCRIPT = """
import json
from fastapi.testclient import TestClient
from airflow.api_fastapi.app import create_app
from airflow.providers_manager import ProvidersManager

hook = ProvidersManager().hooks["fincome"]
with TestClient(create_app()) as client:
    answer = client.get("/ui/connections/hook_meta")
forms = [m for m in answer.json() if m["connection_type"] == "fincome"]
print("RESULT" + json.dumps({
    "status": answer.status_code,
    "forms": forms,
    "hook": {"class": hook.hook_class_name, "conn_id_attribute": hook.connection_id_attribute_name,
             "testable": hook.connection_testable},
}))
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory, airflow_db_template) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    shutil.copy(airflow_db_template, home / "airflow.db")  # the session's migrated database
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),  # `db migrate` would write one
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line.removeprefix("RESULT"))


def test_hook_meta_route_serves_the_fincome_form(served):
    assert served["status"] == 200
    assert len(served["forms"]) == 1
    form = served["forms"][0]
    assert form["hook_class_name"] == "fincome_airflow.hooks.fincome.FincomeHook"
    assert form["hook_name"] == "Fincome"


def test_standard_fields_hide_login_port_schema_and_relabel_host_and_password(served):
    fields = served["forms"][0]["standard_fields"]

    for hidden in ("login", "port", "url_schema"):
        assert fields[hidden]["hidden"] is True, hidden
    assert fields["host"]["title"] == "Base URL"
    assert fields["host"]["placeholder"] == "https://api2.fincome.co/product"
    assert fields["password"]["title"] == "API key"


@pytest.mark.parametrize(
    ("key", "title", "default"),
    [
        pytest.param("key_header", "API-key header name", "X-API-KEY", id="key-header"),
        pytest.param("requests_per_second", "Requests per second", 10, id="rate"),
        pytest.param("max_concurrency", "Maximum concurrent requests", 8, id="concurrency"),
        pytest.param("timeout", "Request timeout (seconds)", 30, id="timeout"),
        pytest.param("retry_budget", "Total retry budget (seconds)", 300, id="retry-budget"),
    ],
)
def test_extra_fields_are_labelled_with_defaults(served, key, title, default):
    field = served["forms"][0]["extra_fields"][key]

    assert field["schema"]["title"] == title
    assert field["schema"]["default"] == default
    # Shown as is: no extra's name may trip Airflow's sensitive-field masking.
    assert field["value"] == default


def test_extra_fields_are_exactly_the_declared_ones(served):
    assert set(served["forms"][0]["extra_fields"]) == set(CONN_FIELDS)


def test_providers_manager_maps_the_type_to_the_hook(served):
    assert served["hook"] == {
        "class": "fincome_airflow.hooks.fincome.FincomeHook",
        "conn_id_attribute": "fincome_conn_id",
        "testable": True,
    }
