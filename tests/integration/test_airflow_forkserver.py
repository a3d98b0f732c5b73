"""The tests' fork server for ``airflow`` commands (``fincome_dev.airflow_forkserver``): a
command run by it gives what the same command run as its own process gives."""

from __future__ import annotations

import subprocess

import psutil
import pytest
from support.airflow import migrated_airflow

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory, airflow_db_template):
    home = tmp_path_factory.mktemp("forkserver") / "home"
    with migrated_airflow(airflow_db_template, home, fork_commands=True) as af:
        yield af


def test_a_forked_command_prints_and_exits_as_the_command_run_alone(runtime):
    command = ("config", "get-value", "core", "dags_folder")
    forked = runtime.cli(*command)
    alone = runtime._run_process(command, runtime.env, 120)
    assert runtime._fork_server is not None and runtime._fork_server.alive()
    assert forked.returncode == alone.returncode == 0
    assert forked.stdout == alone.stdout == runtime.env["AIRFLOW__CORE__DAGS_FOLDER"] + "\n"


def test_a_failing_command_gives_its_exit_status_and_error(runtime):
    done = runtime.cli("dags", "test", "no_such_dag", check=False)
    assert done.returncode != 0
    assert "no_such_dag" in done.stdout + done.stderr


def test_a_command_changing_an_airflow_setting_runs_as_its_own_process(runtime):
    server = runtime._fork_server
    env = {"AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Paris"}
    done = runtime.cli("config", "get-value", "core", "default_timezone", env=env)
    assert done.stdout.strip() == "Europe/Paris"
    assert runtime._fork_server is server  # the server (started without it) did not run it


def test_a_command_out_of_time_is_stopped_with_its_processes(runtime):
    server = runtime._fork_server
    assert server is not None
    with pytest.raises(subprocess.TimeoutExpired):
        runtime.cli("dags", "test", "fincome_monthly_load", timeout=0.2)
    assert psutil.Process(server.process.pid).children(recursive=True) == []
    assert runtime.cli("version").returncode == 0  # the server still serves
