"""Run the sandbox as a subprocess from tests and benchmarks.

Example::

    with SandboxProcess(api_key="secret", latency_ms=20) as sandbox:
        requests.get(f"{sandbox.base_url}/customers", headers={"X-API-KEY": sandbox.api_key})
        assert sandbox.stats()["total_requests"] == 1
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import requests

from fincome_airflow import contract
from fincome_sandbox.__main__ import API_KEY_ENV
from fincome_sandbox.config import DEFAULT_STALL_SECONDS

_LIVE: weakref.WeakSet[SandboxProcess] = weakref.WeakSet()
_POLL_SECONDS = 0.05


#: Ports handed out by :func:`free_port`: below Linux's ephemeral range (32768-60999), which
#: the kernel hands to every outgoing connection, so a port picked now and bound seconds later
#: is not taken meanwhile by a connection of a test running beside it.
_PORTS = range(20_000, 32_768)
_GIVEN: set[int] = set()
_RANDOM = random.Random()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port free on ``host`` right now, outside the ephemeral range, never the
    same twice in a process.

    :raise OSError: no free port after many tries.
    """
    for _ in range(200):
        port = _RANDOM.choice(_PORTS)
        if port in _GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise OSError(f"no free TCP port on {host} in {_PORTS.start}-{_PORTS.stop - 1}")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send SIGTERM to the sandbox when the process that started it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class Process(Protocol):
    """What the launcher uses of a sandbox's process (:class:`subprocess.Popen` has it)."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


#: ``spawn(arguments, env, log)``: start ``python -m fincome_sandbox <arguments>`` with ``env``,
#: its output and errors appended to the file ``log``; return its process.
Spawner = Callable[[list[str], dict[str, str], Path], Process]


def run_interpreter(arguments: list[str], env: dict[str, str], log: Path) -> Process:
    """The default :data:`Spawner`: the sandbox in an interpreter of its own."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fincome_sandbox", *arguments],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # PR_SET_PDEATHSIG fires when the *thread* that forked exits: main thread only.
            preexec_fn=_die_with_parent if _in_main_thread() else None,
        )


_spawner: Spawner = run_interpreter


def set_spawner(spawner: Spawner | None) -> Spawner:
    """Start this process's later sandboxes with ``spawner`` (``None``: :func:`run_interpreter`);
    return the one it replaces. The tests fork them from a server that imported the sandbox's
    code once (``fincome_dev.sandbox_forks``)."""
    global _spawner
    replaced, _spawner = _spawner, spawner or run_interpreter
    return replaced


class SandboxProcess:
    """A sandbox server in a subprocess on a free port; a context manager.

    The process is stopped on ``stop()``, on leaving the ``with`` block, at interpreter exit,
    and (on Linux, when started from the main thread) when the parent process dies. The API key
    reaches the process through the environment, not the command line.

    :param api_key: the key the sandbox accepts in ``X-API-KEY``.
    :param port: the port to listen on; a free one when ``None`` (kept across ``restart()``).
    :param db: a SQLite file keeping the records across restarts; in memory when ``None``.
    :param startup_timeout: seconds to wait for the server to answer before giving up.
    """

    def __init__(
        self,
        api_key: str,
        port: int | None = None,
        db: str | None = None,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        rate_limit: float | None = None,
        reset_rate: float = 0.0,
        stall_rate: float = 0.0,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        seed: int | None = None,
        *,
        throttle_rate: float = 0.0,
        throttle_retry_after: int = 1,
        require_plans: bool = False,
        host: str = "127.0.0.1",
        startup_timeout: float = 20.0,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.port = port
        self.db = db
        self.options: dict[str, Any] = {
            "latency_ms": latency_ms,
            "error_rate": error_rate,
            "rate_limit": rate_limit,
            "reset_rate": reset_rate,
            "stall_rate": stall_rate,
            "stall_seconds": stall_seconds,
            "throttle_rate": throttle_rate,
            "throttle_retry_after": throttle_retry_after,
            "seed": seed,
            "require_plans": require_plans,
        }
        self.startup_timeout = startup_timeout
        self._process: Process | None = None
        self._log: Path | None = None
        self._session = requests.Session()

    @property
    def base_url(self) -> str:
        """Return ``http://host:port`` of the running sandbox."""
        if self.port is None:
            raise RuntimeError("the sandbox has not been started")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Return whether the subprocess is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Return the subprocess id, if started."""
        return self._process.pid if self._process is not None else None

    def arguments(self) -> list[str]:
        """Return the arguments of ``python -m fincome_sandbox`` (without the key)."""
        argv = ["--host", self.host, "--port", str(self.port)]
        if self.db is not None:
            argv += ["--db", str(self.db)]
        for name, value in self.options.items():
            flag = f"--{name.replace('_', '-')}"
            if value is True:
                argv.append(flag)
            elif value is not None and value is not False:
                argv += [flag, str(value)]
        return argv

    def start(self) -> SandboxProcess:
        """Start the subprocess and wait (bounded) until it answers."""
        if self.running:
            return self
        if self.port is None:
            self.port = free_port(self.host)
        descriptor, log = tempfile.mkstemp(prefix="fincome-sandbox-", suffix=".log")
        os.close(descriptor)
        self._log = Path(log)
        env = {**os.environ, API_KEY_ENV: self.api_key}
        self._process = _spawner(self.arguments(), env, self._log)
        _LIVE.add(self)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"the sandbox exited at start:\n{self._log_tail()}")
            try:
                if requests.get(f"{self.base_url}/_sandbox/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(_POLL_SECONDS)
        raise TimeoutError(
            f"the sandbox did not answer within {self.startup_timeout} s:\n{self._log_tail()}"
        )

    def _log_tail(self, size: int = 4000) -> str:
        if self._log is None:
            return ""
        return self._log.read_bytes().decode(errors="replace")[-size:]

    def stop(self) -> None:
        """Stop the subprocess (SIGTERM, then SIGKILL after 5 s); harmless when stopped."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None
        self._session.close()
        _LIVE.discard(self)

    def restart(self) -> SandboxProcess:
        """Stop and start again on the same port with the same ``db`` and start options."""
        self.stop()
        return self.start()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(
            method,
            f"{self.base_url}{path}",
            headers={contract.DEFAULT_API_KEY_HEADER: self.api_key},
            timeout=10,
            **kwargs,
        )
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        """Return ``GET /_sandbox/stats``."""
        return self._call("GET", "/_sandbox/stats")

    def reset_stats(self) -> dict[str, Any]:
        """Zero the statistics, keeping the records."""
        return self._call("POST", "/_sandbox/stats/reset")

    def reset(self, *, clear_store: bool = True, **fault_options: Any) -> dict[str, Any]:
        """Clear records and statistics; set fault options (omitted ones: the start values).

        :return: the fault options now in force.
        """
        return self._call(
            "POST", "/_sandbox/reset", json={**fault_options, "clear_store": clear_store}
        )

    def fault_options(self) -> dict[str, Any]:
        """Return the fault options in force."""
        return self._call("GET", "/_sandbox/options")

    def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Return every record: ``{resource: {id: record}}``, ordered by id."""
        return self._call("GET", "/_sandbox/dump")

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SandboxProcess {state} {self.host}:{self.port} db={self.db!r}>"


@atexit.register
def _stop_all() -> None:
    for sandbox in list(_LIVE):
        with contextlib.suppress(Exception):
            sandbox.stop()
