"""The API key leaks nowhere, and the sandbox lets nobody in without it.

After a full run, a failed run (the API answers 5xx until the retry budget is spent) and a run
against a 401 (the sandbox holds another key), the known key is searched in every file under
AIRFLOW_HOME (task and component logs, the metadata database with its XCom table, the reports),
in every table of the state database, in the rejects and reconciliation files and in the
captured output of each command (which carries the exception texts).

Level: ``airflow dags test`` (three runs), real HTTP to the sandbox.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import requests
from support.connections import sqlite_conn_json
from support.erp import sqlite_erp
from support.reliability import CONF, KNOWN_KEY, fincome_conn, task_states

from fincome_airflow import contract

pytestmark = pytest.mark.timeout(300)


def files_with_key(root: Path) -> list[str]:
    needle = KNOWN_KEY.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def tables_with_key(db: Path) -> list[str]:
    found = []
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                if any(KNOWN_KEY in str(v) for v in row):
                    found.append(table)
                    break
    return found


def test_the_api_key_is_in_no_log_xcom_table_report_or_exception(
    tmp_path, sandbox_factory, airflow_rig, record_result
):
    sqlite_erp(tmp_path, invoices=150, seed=2)
    good = sandbox_factory(api_key=KNOWN_KEY)
    failing = sandbox_factory(api_key=KNOWN_KEY, error_rate=1.0, seed=1)
    other_key = sandbox_factory(api_key="a-different-key")
    af = airflow_rig(
        {
            "AIRFLOW_CONN_ERP_DB": sqlite_conn_json(tmp_path / "erp.sqlite"),
            "AIRFLOW_CONN_FINCOME_STATE": sqlite_conn_json(tmp_path / "state.db"),
        }
    )
    outputs, endings = [], {}
    resync = {**CONF, "full_resync": True}  # so that the failing runs do send
    for name, sandbox, extra, conf in (
        ("full run", good, {}, CONF),
        ("failed run (API 5xx)", failing, {"retry_budget": 1, "max_concurrency": 2}, resync),
        ("run against a 401", other_key, {}, resync),
    ):
        conn = {"AIRFLOW_CONN_FINCOME_API": fincome_conn(sandbox.base_url, **extra)}
        result = af.cli(
            "dags",
            "test",
            "fincome_monthly_load",
            "--conf",
            json.dumps(conf),
            check=False,
            timeout=240,
            env=conn,
        )
        outputs.append(result.stdout + result.stderr)
        endings[name] = result.returncode
    assert endings["full run"] == 0
    assert endings["failed run (API 5xx)"] != 0 and endings["run against a 401"] != 0
    assert "401" in outputs[2] and "API key was refused" in outputs[2]
    assert "Fincome API unavailable" in outputs[1]
    assert task_states(af)  # the runs happened

    assert [o for o in outputs if KNOWN_KEY in o] == [], "the key is in a command's output"
    assert files_with_key(af.home) == []  # logs, airflow.db (XCom and all), reports
    assert tables_with_key(af.db_path) == []
    assert tables_with_key(tmp_path / "state.db") == []
    reports = list((af.home / "reports").glob("*.csv"))
    assert any("rejects" in p.name for p in reports)
    assert any("reconciliation" in p.name for p in reports)
    record_result(
        "secrets",
        kind="input",
        level="dags test",
        inputs=[
            {"input": f"API key after a {name}", "via": "dags test", "ended": "found nowhere"}
            for name in endings
        ],
    )


def test_the_sandbox_refuses_requests_without_the_key_or_with_another(sandbox_factory):
    sandbox = sandbox_factory(api_key=KNOWN_KEY)
    url = f"{sandbox.base_url}/customers"
    header = contract.DEFAULT_API_KEY_HEADER
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={header: "wrong"}, timeout=5).status_code == 401
    assert requests.get(url, headers={header: KNOWN_KEY[:-1]}, timeout=5).status_code == 401
    body = {"id": "cus_x", "name": "X", "country": "FR"}
    assert requests.post(url, json=body, timeout=5).status_code == 401
    assert requests.get(url, headers={header: KNOWN_KEY}, timeout=5).status_code == 200
    assert sandbox.dump()["customers"] == {}
