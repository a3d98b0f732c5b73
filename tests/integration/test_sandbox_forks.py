"""The tests' sandboxes, forked from a server that imported their code once
(``fincome_dev.sandbox_forks``), serve and stop as a sandbox in its own interpreter does."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psutil
import pytest
import requests
from support.airflow import FORK_COMMANDS_ENV

from fincome_airflow import contract
from fincome_dev.sandbox_forks import ForkedSandboxes
from fincome_sandbox import launcher
from fincome_sandbox.__main__ import API_KEY_ENV
from fincome_sandbox.launcher import SandboxProcess, Spawner, free_port

KEY = "forked-sandbox-key"


@contextmanager
def spawning_with(spawner: Spawner | None) -> Iterator[None]:
    """The launcher's spawner is ``spawner`` inside; the session's again after."""
    replaced = launcher.set_spawner(spawner)
    try:
        yield
    finally:
        launcher.set_spawner(replaced)


@pytest.fixture
def forked(tmp_path) -> Iterator[ForkedSandboxes]:
    """A spawner of this test's own (its server stopped after)."""
    spawner = ForkedSandboxes(tmp_path / "server.log")
    with spawning_with(spawner):
        yield spawner
    spawner.stop()


@pytest.fixture
def interpreted() -> Iterator[None]:
    """No spawner: sandboxes in interpreters of their own."""
    with spawning_with(None):
        yield


def server_pid(spawner: ForkedSandboxes) -> int:
    assert spawner._server is not None
    return spawner._server.process.pid


def wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.05)
    raise TimeoutError(f"no sandbox answered on port {port}")


def test_a_forked_sandbox_is_a_child_of_the_server_and_serves_the_api(forked):
    with SandboxProcess(api_key=KEY, require_plans=True) as sandbox:
        child = psutil.Process(sandbox.pid)
        assert child.ppid() == server_pid(forked) != os.getpid()
        assert os.getpgid(sandbox.pid) == sandbox.pid  # its own group, as a plain process
        assert KEY not in " ".join(child.cmdline())
        url = f"{sandbox.base_url}/customers/cus_1"
        headers = {contract.DEFAULT_API_KEY_HEADER: KEY}
        assert requests.get(url, headers=headers, timeout=5).status_code == 404
        assert requests.get(url, timeout=5).status_code == 401
        assert sandbox.fault_options()["require_plans"] is True
        pid = sandbox.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped


def test_one_server_forks_every_sandbox_and_a_restart_keeps_the_port(forked):
    first = SandboxProcess(api_key=KEY).start()
    second = SandboxProcess(api_key=KEY).start()
    try:
        server = server_pid(forked)
        assert {psutil.Process(s.pid).ppid() for s in (first, second)} == {server}
        port, pid = first.port, first.pid
        first.restart()
        assert (first.port, psutil.Process(first.pid).ppid()) == (port, server)
        assert first.pid != pid and first.stats()["total_requests"] == 0
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize("spawner", ["forked", "interpreted"])
def test_a_sandbox_ends_on_sigterm_as_uvicorn_does_its_output_in_its_log(
    spawner, request, tmp_path
):
    """uvicorn shuts down, then raises the signal again: the exit status is the signal's, forked
    or not."""
    spawn = request.getfixturevalue(spawner) or launcher.run_interpreter
    log, port = tmp_path / "sandbox.log", free_port()
    arguments = ["--port", str(port), "--log-level", "info"]
    process = spawn(arguments, {**os.environ, API_KEY_ENV: KEY}, log)
    wait_healthy(port)
    process.terminate()
    assert process.wait(timeout=10) == -signal.SIGTERM
    output = log.read_text()
    assert "Uvicorn running" in output and "Shutting down" in output, output
    process.kill()  # ended: nothing to signal, no error


@pytest.mark.parametrize("spawner", ["forked", "interpreted"])
def test_a_sandbox_that_cannot_bind_its_port_fails_with_its_log(spawner, request):
    request.getfixturevalue(spawner)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match=r"(?i)address already in use"):
            SandboxProcess(api_key=KEY, port=taken.getsockname()[1]).start()


def test_without_a_spawner_a_sandbox_runs_in_its_own_interpreter(interpreted):
    with SandboxProcess(api_key=KEY) as sandbox:
        child = psutil.Process(sandbox.pid)
        assert child.ppid() == os.getpid()
        assert child.cmdline()[1:3] == ["-m", "fincome_sandbox"]
        assert KEY not in " ".join(child.cmdline())


def test_the_session_forks_its_sandboxes_unless_told_not_to(sandbox):
    """``tests/conftest.py`` sets the spawner for the whole session."""
    parent = psutil.Process(psutil.Process(sandbox.pid).ppid())
    if os.environ.get(FORK_COMMANDS_ENV, "1") == "0":
        assert parent.pid == os.getpid()
    else:
        assert "fincome_dev.sandbox_forks" in parent.cmdline()


def test_sandboxes_started_at_once_from_threads_share_one_server(forked):
    with ThreadPoolExecutor(max_workers=3) as pool:
        sandboxes = list(pool.map(lambda _: SandboxProcess(api_key=KEY).start(), range(3)))
    try:
        parents = {psutil.Process(sandbox.pid).ppid() for sandbox in sandboxes}
        assert parents == {server_pid(forked)}
    finally:
        for sandbox in sandboxes:
            sandbox.stop()


def test_a_server_that_died_is_replaced_at_the_next_sandbox(forked):
    with SandboxProcess(api_key=KEY):
        dead = forked._server
    assert dead is not None
    os.kill(dead.process.pid, signal.SIGKILL)
    dead.process.wait(timeout=10)
    with SandboxProcess(api_key=KEY) as sandbox:
        assert psutil.Process(sandbox.pid).ppid() == server_pid(forked) != dead.process.pid
    assert not dead.folder.exists()  # the dead server's socket folder is removed
