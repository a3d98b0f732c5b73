"""``fincome_dev.airflow_env``: the local Airflow harness the deadline e2e tests run on."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from fincome_dev.airflow_env import airflow_environ, stop_process_tree, wait_for


def test_airflow_environ_isolates_home_when_parent_has_airflow_settings(tmp_path):
    base = {
        "PATH": "/usr/bin",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://prod/airflow",
        "AIRFLOW_CONFIG": "/etc/airflow.cfg",
        "AIRFLOW_CONN_ERP_DB": "sqlite:////tmp/erp.db",
        "HOME": "/root",
    }
    env = airflow_environ(tmp_path, tmp_path / "dags", api_port=8123, base=base)
    assert "AIRFLOW__CORE__UNIT_TEST_MODE" not in env
    assert "AIRFLOW_CONFIG" not in env
    assert env["AIRFLOW_CONN_ERP_DB"] == "sqlite:////tmp/erp.db"
    assert env["AIRFLOW_HOME"] == str(tmp_path)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path}/airflow.db"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "True"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_airflow_environ_applies_overrides_last_when_given(tmp_path):
    env = airflow_environ(
        tmp_path, tmp_path, overrides={"AIRFLOW__CORE__EXECUTOR": "X", "FOO": "1"}, base={}
    )
    assert env["AIRFLOW__CORE__EXECUTOR"] == "X"
    assert env["FOO"] == "1"


def test_wait_for_returns_first_truthy_value_when_condition_met():
    values = iter([None, 0, "ready"])
    assert wait_for(lambda: next(values), timeout=5, interval=0) == "ready"


def test_wait_for_raises_with_diagnostics_when_condition_never_met():
    with pytest.raises(TimeoutError, match=r"(?s)the thing.*logs here"):
        wait_for(lambda: False, timeout=0.2, interval=0.05, what="the thing",
                 diagnostics=lambda: "logs here")  # fmt: skip


def test_stop_process_tree_kills_descendants_when_one_left_the_group(tmp_path):
    pids = tmp_path / "pids"
    script = f"setsid sleep 300 & echo $! > {pids}; sleep 300 & wait"
    process = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    wait_for(lambda: pids.exists() and pids.read_text().strip(), timeout=10, interval=0.05)
    escaped = int(pids.read_text())
    children = psutil.Process(process.pid).children(recursive=True)
    assert escaped in {child.pid for child in children}

    stop_process_tree(process, timeout=5)

    time.sleep(0.2)
    assert process.poll() is not None
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child


@pytest.mark.timeout(60)
def test_cli_stops_command_tree_when_timeout_expires(tmp_path, monkeypatch):
    from fincome_dev.airflow_env import AirflowRuntime

    pids = tmp_path / "pids"
    runtime = AirflowRuntime(home=tmp_path, env={"PATH": "/usr/bin:/bin"}, api_port=0)
    script = f"sleep 300 & echo $! > {pids}; wait"
    monkeypatch.setattr(runtime, "command", lambda *args: ["bash", "-c", script])
    with pytest.raises(subprocess.TimeoutExpired):
        runtime.cli("anything", timeout=1)
    time.sleep(0.2)
    pid = int(pids.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
