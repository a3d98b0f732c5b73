"""The tests' fork server (``fincome_dev.forkserver``) running ``airflow`` commands and components
(``fincome_dev.airflow_forkserver``): a command run by it gives what the same command run as its
own process gives; a component started by it serves, stops and dies as its own process would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from support.airflow import migrated_airflow

from fincome_airflow.airflow_cli import airflow_argv
from fincome_dev import airflow_command
from fincome_dev.airflow_forkserver import settings_of
from fincome_dev.forkserver import CPU_LOG, ForkedProcess

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory, airflow_db_template):
    """A runtime whose fork server logs its children's CPU (:data:`CPU_LOG`, in its home)."""
    home = tmp_path_factory.mktemp("forkserver") / "home"
    env = {CPU_LOG: str(home.parent / "cpu.jsonl")}
    with migrated_airflow(airflow_db_template, home, fork_commands=True, env=env) as af:
        yield af


def cpu_log(runtime) -> list[dict]:
    """The lines the server logged, one per reaped child (:data:`CPU_LOG`)."""
    return [json.loads(line) for line in Path(runtime.env[CPU_LOG]).read_text().splitlines()]


def test_each_reaped_command_is_logged_with_its_cpu_and_the_test_that_ran_it(runtime):
    runtime.cli("version")
    lines = cpu_log(runtime)
    mine = [line for line in lines if line["argv"] == ["version"]]
    assert mine, lines
    assert mine[-1]["user"] + mine[-1]["system"] > 0
    assert mine[-1]["wall"] > 0
    assert "test_each_reaped_command_is_logged" in mine[-1]["test"]


def test_the_servers_objects_are_frozen_out_of_its_childrens_collections(runtime):
    """Airflow's import graph (hundreds of thousands of objects) is not traversed again by each
    child's garbage collections (``gc.freeze`` before forking)."""
    runtime.cli("version")
    mine = [line for line in cpu_log(runtime) if line["argv"] == ["version"]]
    assert mine[-1]["frozen"] > 100_000, mine[-1]


def test_a_child_collects_garbage_though_its_server_does_not(tmp_path):
    """The server pauses the collector for its life; a child it forks starts it again, its
    server's objects left frozen."""
    code = (
        "import gc, os, sys\n"
        "from fincome_dev import import_gc\n"
        "from fincome_dev import airflow_forkserver\n"
        "from fincome_dev.forkserver import _Server\n"
        "import_gc.pause(); import_gc.freeze_kept()\n"
        "server = _Server(sys.argv[1], airflow_forkserver)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    server._become_child()\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 0, flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print(gc.isenabled(), flush=True)\n"
    )
    socket_path = str(tmp_path / "socket")
    done = subprocess.run(
        [sys.executable, "-c", code, socket_path], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["True True", "False"], done.stdout + done.stderr


def test_the_modules_the_server_preloads_read_no_setting_at_import():
    """``dag_parts`` and the UI read ``FINCOME_*`` variables a command may change: each child
    imports them with its own environment, so no preloaded module may import them."""
    code = (
        "import importlib, sys\n"
        "from fincome_dev.airflow_forkserver import PRELOAD\n"
        "for module in PRELOAD: importlib.import_module(module)\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('fincome_airflow.dag_parts', 'fincome_airflow.ui'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]", done.stdout


def run_alone(runtime, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=runtime.env, cwd=runtime.home, capture_output=True, text=True, timeout=120
    )


def test_the_settings_a_child_cannot_change_are_airflows_and_the_paths():
    """OpenLineage's too: a command setting its transport runs as its own process, whose
    normal exit shuts the listener's process pool down (a forked child's ``os._exit`` would
    leave its worker processes behind)."""
    env = {
        "AIRFLOW_HOME": "/h",
        "AIRFLOW__CORE__DAGS_FOLDER": "/d",
        "_AIRFLOW_PATCH_GEVENT": "1",
        "PATH": "/bin",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": "{}",
        "AIRFLOW_CONN_ERP_DB": "sqlite://",
        "FINCOME_REPORTS_DIR": "/r",
    }
    assert settings_of(env) == {
        "AIRFLOW_HOME": "/h",
        "AIRFLOW__CORE__DAGS_FOLDER": "/d",
        "_AIRFLOW_PATCH_GEVENT": "1",
        "PATH": "/bin",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": "{}",
    }


def test_a_forked_command_prints_and_exits_as_the_airflow_script_run_alone(runtime):
    command = ("config", "get-value", "core", "dags_folder")
    forked = runtime.cli(*command)
    alone = run_alone(runtime, airflow_argv(*command))
    assert runtime._fork_server is not None and runtime._fork_server.alive()
    assert forked.returncode == alone.returncode == 0
    assert forked.stdout == alone.stdout == runtime.env["AIRFLOW__CORE__DAGS_FOLDER"] + "\n"


@pytest.mark.parametrize(
    ("command", "status", "normal_exit"),
    [(("version",), 0, True), (("dags", "list-import-errors", "-o", "x"), 2, False)],
    ids=["normal exit", "no teardown"],
)
def test_a_command_run_by_airflow_command_exits_as_the_airflow_script(
    runtime, command, status, normal_exit
):
    """The commands of a runtime run as their own processes (``--normal-exit``) and its
    unforkable components (``os._exit``) give the ``airflow`` script's output and status."""
    alone = run_alone(runtime, airflow_argv(*command))
    ours = run_alone(runtime, airflow_command.argv(*command, normal_exit=normal_exit))
    assert ours.returncode == alone.returncode == status, ours.stderr[-2000:]
    assert ours.stdout == alone.stdout
    assert ours.stderr.splitlines()[-1:] == alone.stderr.splitlines()[-1:]


def test_a_failing_command_gives_its_exit_status_and_error(runtime):
    done = runtime.cli("tasks", "list", "no_such_dag", check=False)
    assert done.returncode != 0
    assert "no_such_dag" in done.stdout + done.stderr


def test_a_command_changing_an_airflow_setting_runs_as_its_own_process(runtime):
    server = runtime._fork_server
    env = {"AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Paris"}
    done = runtime.cli("config", "get-value", "core", "default_timezone", env=env)
    assert done.stdout.strip() == "Europe/Paris"
    assert runtime._fork_server is server  # the server (started without it) did not run it


def test_a_command_out_of_time_is_stopped_with_its_processes(runtime):
    runtime.cli("version")  # the server started, whichever test ran before
    server = runtime._fork_server
    assert server is not None
    # A triggerer never ends, and runs its triggers in a process of its own.
    with pytest.raises(subprocess.TimeoutExpired):
        runtime.cli("triggerer", timeout=5)
    assert psutil.Process(server.process.pid).children(recursive=True) == []
    assert runtime.cli("version").returncode == 0  # the server still serves


def test_a_component_is_a_child_of_the_server_that_serves_and_stops_with_its_tree(runtime):
    runtime.start("api-server")
    process = runtime.processes["api-server"]
    server = runtime._fork_server
    assert isinstance(process, ForkedProcess) and server is not None
    assert psutil.Process(process.pid).ppid() == server.process.pid
    assert os.getpgid(process.pid) == process.pid  # its own group, as a plain process
    runtime.wait_for_api()
    runtime.stop("api-server")
    assert process.poll() is not None
    assert psutil.Process(server.process.pid).children(recursive=True) == []
    assert "Running the API server" in runtime.log_path("api-server").read_text()
    assert runtime.cli("version").returncode == 0  # the server still serves


def test_a_component_killed_is_seen_exited_by_poll(runtime):
    runtime.start("triggerer")
    process = runtime.processes["triggerer"]
    sql = "SELECT 1 FROM job WHERE job_type = 'TriggererJob' AND state = 'running'"
    runtime.wait_for(lambda: runtime.query(sql), timeout=90, what="the triggerer's job")
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert process.poll() == -signal.SIGKILL
    with pytest.raises(RuntimeError, match="triggerer"):
        runtime.check_running()
    runtime.stop("triggerer")


def test_a_component_changing_an_airflow_setting_runs_as_its_own_process(runtime):
    runtime.start("triggerer", env={"AIRFLOW__TRIGGERER__CAPACITY": "7"})
    process = runtime.processes["triggerer"]
    try:
        assert isinstance(process, subprocess.Popen)
        assert psutil.Process(process.pid).ppid() == os.getpid()
    finally:
        runtime.stop("triggerer")
    assert process.poll() is not None


def test_the_server_stopped_stops_its_component_and_gives_its_status(runtime):
    runtime.start("triggerer")
    process = runtime.processes["triggerer"]
    server = runtime._fork_server
    assert isinstance(process, ForkedProcess) and server is not None
    server.stop()
    assert not server.alive()
    assert not psutil.pid_exists(process.pid)
    # Reaped by the server (its CPU counted), not left behind: a status, not the SIGKILL of
    # a server gone without one.
    assert process.wait(timeout=5) != -signal.SIGKILL


def test_a_shells_airflow_runs_in_a_child_of_the_server_with_the_shells_status(runtime):
    shell = runtime.shell_env()
    code = (
        "airflow config get-value core dags_folder\n"
        "airflow variables get no_such_variable_of_the_shim || echo status=$?\n"
        "AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Tokyo airflow config get-value core default_timezone"
    )
    done = subprocess.run(
        ["bash", "-eu", "-c", code], env=shell, cwd=runtime.home, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == [
        runtime.env["AIRFLOW__CORE__DAGS_FOLDER"],
        "status=1",
        "Asia/Tokyo",  # a setting of its own: the plain script, not the server
    ]
    assert "no_such_variable_of_the_shim" in done.stderr
    argvs = [line["argv"] for line in cpu_log(runtime)]
    assert ["config", "get-value", "core", "dags_folder"] in argvs
    assert ["variables", "get", "no_such_variable_of_the_shim"] in argvs
    assert ["config", "get-value", "core", "default_timezone"] not in argvs
