"""A throwaway local Airflow: private AIRFLOW_HOME, SQLite metadata DB, LocalExecutor, processes.

For end-to-end tests and ``make demo``; never imported by DAGs or tasks.

.. code-block:: python

    with airflow_runtime(dags_folder="dags", plugins_folder="plugins") as af:
        af.cli("dags", "test", "fincome_monthly_load", "2026-11-01")  # no component needed
        af.start("api-server", "dag-processor", "scheduler", "triggerer")
        af.wait_for_dag("fincome_monthly_load")
        af.unpause("fincome_monthly_load")
        run_id = af.trigger("fincome_monthly_load", conf={"month": "2026-10"})
        assert af.wait_for_run("fincome_monthly_load", run_id) == "success"

Every component runs in its own process group (logs in ``<home>/logs/<component>.log``): a child
of the runtime's fork server with ``fork_commands`` when its Airflow settings are the runtime's
(:mod:`~fincome_dev.airflow_forkserver`), else a process of its own. Leaving the context stops
them all, children included, then the fork server, then deletes the home unless ``keep_home``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from fincome_dev import airflow_command, airflow_forkserver, airflow_shim
from fincome_dev.airflow_forkserver import settings_of
from fincome_dev.forkserver import ForkedProcess, ForkServer, stop_tree
from fincome_sandbox.launcher import free_port

T = TypeVar("T")

COMPONENTS: Final = ("api-server", "dag-processor", "scheduler", "triggerer")
#: What runs tasks on schedule when no deadline can fire (the triggerer runs deadline callbacks).
SCHEDULING: Final = ("api-server", "dag-processor", "scheduler")
FINISHED_STATES: Final = ("success", "failed")
SIMPLE_AUTH_MANAGER: Final = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)


def airflow_environ(
    home: Path,
    dags_folder: Path,
    plugins_folder: Path | None = None,
    *,
    api_port: int = 8080,
    overrides: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment of every ``airflow`` process of one runtime.

    Inherited ``AIRFLOW__*`` settings (e.g. pytest's unit-test mode) are dropped; the venv's
    ``bin`` leads ``PATH`` so that ``airflow`` resolves to this interpreter's.
    """
    base = os.environ if base is None else base
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith(("AIRFLOW__", "_AIRFLOW")) and key not in {"AIRFLOW_CONFIG"}
    }
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder or home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            # One Fernet key for every process of the runtime: components starting together in
            # a new home would otherwise each write their own airflow.cfg, and a triggerer that
            # cannot read what the scheduler encrypted dies on the first deadline callback.
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            # A new file is parsed at once (the listing every 2 s finds it); parsing each file
            # again every 10 s cost a dag-processor a tenth of a core for files that never change
            # while a runtime lives (minutes).
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        }
    )
    env.update(overrides or {})
    return env


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.5,
    what: str = "condition",
    diagnostics: Callable[[], str] | None = None,
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    :raise TimeoutError: still falsy after ``timeout`` seconds (message ends with diagnostics).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            details = f"\n{diagnostics()}" if diagnostics else ""
            raise TimeoutError(f"Timed out after {timeout:.0f}s waiting for {what}{details}")
        time.sleep(interval)


#: A started component: its own process, or a child of the runtime's fork server.
Process = subprocess.Popen | ForkedProcess


def stop_process_tree(process: Process, timeout: float = 15.0) -> None:
    """SIGTERM the process group and every descendant, then SIGKILL what is left after
    ``timeout`` seconds (:func:`~fincome_dev.forkserver.stop_tree`); reap the process."""
    stop_tree(process.pid, timeout=timeout)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def stop_process_trees(processes: Sequence[Process], timeout: float = 15.0) -> None:
    """:func:`stop_process_tree` of every process at once (each in a thread): stopping takes
    the slowest's time, not the sum (an Airflow component takes 0.3 to 2.5 s to leave)."""
    with ThreadPoolExecutor(max_workers=len(processes) or 1) as stopping:
        list(stopping.map(lambda process: stop_process_tree(process, timeout=timeout), processes))


def query_sqlite(path: Path, sql: str, params: tuple = (), *, timeout: float = 10) -> list[tuple]:
    """Rows of a SQLite database opened read-only (harness polling while processes write it)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)) as conn:
        return conn.execute(sql, params).fetchall()


def _query_server(url: str, sql: str, params: tuple) -> list[tuple]:
    """One query on a PostgreSQL (or other server) metadata database, ``?`` placeholders."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(sql.replace("?", "%s"), params)
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


@dataclass
class AirflowRuntime:
    """One local Airflow installation; build it with :func:`airflow_runtime`."""

    home: Path
    env: dict[str, str]
    api_port: int
    processes: dict[str, Process] = field(default_factory=dict)
    #: Run :meth:`cli` commands and :meth:`start` components in children of one
    #: :mod:`~fincome_dev.airflow_forkserver` (Airflow imported once): those that change no
    #: Airflow setting.
    fork_commands: bool = False
    _fork_server: ForkServer | None = field(default=None, repr=False)
    #: Servers whose settings the runtime left while their components ran: stopped with them.
    _former_servers: list[ForkServer] = field(default_factory=list, repr=False)

    @property
    def db_path(self) -> Path:
        """The SQLite metadata database."""
        return self.home / "airflow.db"

    @property
    def api_url(self) -> str:
        """Base URL of the api-server (UI and REST API)."""
        return f"http://127.0.0.1:{self.api_port}"

    def command(self, *args: str) -> list[str]:
        """Return the argv running ``airflow <args>`` as a process of its own, with this
        interpreter's Airflow (:mod:`~fincome_dev.airflow_command`: each Param schema checked
        once, the interpreter's normal exit)."""
        return airflow_command.argv(*args, normal_exit=True)

    def cli(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 300.0,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` to completion; output captured as text.

        :param env: extra variables for this command only.
        :raise subprocess.CalledProcessError: non-zero exit and ``check`` (output in the message).
        :raise subprocess.TimeoutExpired: still running after ``timeout`` (its tree is stopped).
        """
        command_env = {**self.env, **(env or {})}
        server = self._server_for(command_env)
        if server is not None:
            result = server.run(args, command_env, self.home, timeout)
        else:
            result = self._run_process(args, command_env, timeout)
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode,
                result.args,
                output=result.stdout,
                stderr=f"{result.stderr[-4000:]}\n(airflow {' '.join(args)} failed)",
            )
        return result

    def _run_process(
        self, args: tuple[str, ...], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        process = subprocess.Popen(
            self.command(*args),
            env=env,
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process_tree(process, timeout=5)  # its task processes too
            process.communicate()
            raise
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def shell_env(self) -> dict[str, str]:
        """The environment of a shell whose ``airflow`` is the runtime's: in a child of its fork
        server (:mod:`~fincome_dev.airflow_shim`, first on ``PATH``) when it forks its commands,
        else the venv's script."""
        server = self._server_for(self.env)
        if server is None:
            return dict(self.env)
        shim = airflow_shim.install(
            self.home / ".airflow-shim", server.path, settings_of(server.env)
        )
        return {**self.env, **shim}

    def _server_for(self, env: Mapping[str, str]) -> ForkServer | None:
        """The fork server when it can run a command with ``env`` (started on first use)."""
        if not self.fork_commands or settings_of(env) != settings_of(self.env):
            return None
        server = self._fork_server
        if server is not None and (
            not server.alive() or settings_of(server.env) != settings_of(self.env)
        ):
            self._former_servers.append(server)  # its components, if any, keep running
            server = None
        if server is None:
            server = ForkServer.start(
                airflow_forkserver.__name__, self.env, self.home, self.log_path("forkserver")
            )
            self._fork_server = server
        return server

    def start(self, *components: str, env: Mapping[str, str] | None = None) -> None:
        """Start components (default: all of :data:`COMPONENTS`), each in its own process group:
        forked by the runtime's fork server when ``fork_commands`` and ``env`` changes no Airflow
        setting, else a process of its own.

        A forked component does what the plain process would: the api-server's uvicorn serves in
        it (``[api] workers`` is 1; more would be spawned interpreters), the scheduler's
        LocalExecutor forks its workers from it, SIGTERM stops it. Either ends without the
        interpreter's teardown (:mod:`~fincome_dev.airflow_command`); a command run as its own
        process keeps it (a SQLite database's last connection folds its write-ahead log into
        the file).

        :param env: extra variables for these components only (e.g. a connection, auth users).
        """
        for component in components or COMPONENTS:
            if component not in COMPONENTS:
                raise ValueError(f"Unknown component {component!r}: expected one of {COMPONENTS}")
            if component in self.processes and self.processes[component].poll() is None:
                continue
            log_file = self.log_path(component)
            log_file.parent.mkdir(parents=True, exist_ok=True)
            component_env = {**self.env, **(env or {})}
            server = self._server_for(component_env)
            if server is not None:
                self.processes[component] = server.spawn(
                    [component], component_env, self.home, log_file, log_file
                )
                continue
            with log_file.open("ab") as out:
                self.processes[component] = subprocess.Popen(
                    airflow_command.argv(component),
                    env=component_env,
                    cwd=self.home,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )

    def stop(self, *components: str, timeout: float = 15.0) -> None:
        """Stop components (default: all started), children included, all at once but the
        api-server, after them (a task still running reports to it while it stops: without it,
        its supervisor retried until killed); then, if all, the fork servers, which reap them
        first: their CPU counts for whoever waits for the servers."""
        names = components or list(self.processes)
        for last in (False, True):
            wave = [name for name in names if (name == "api-server") == last]
            stop_process_trees(
                [self.processes.pop(name) for name in wave if name in self.processes], timeout
            )
        if not components:
            servers, self._former_servers = self._former_servers, []
            if self._fork_server is not None:
                servers.append(self._fork_server)
                self._fork_server = None
            for server in servers:
                server.stop()

    def log_path(self, component: str) -> Path:
        """Where the component's stdout and stderr go."""
        return self.home / "logs" / f"{component}.log"

    def log_tail(self, *components: str, lines: int = 30) -> str:
        """Last lines of the components' logs (default: all started), for failure messages."""
        parts = []
        for component in components or list(self.processes):
            path = self.log_path(component)
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {component} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    def check_running(self) -> None:
        """Raise if a started component has exited."""
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow components exited: {dead}\n{self.log_tail(*dead)}")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the metadata database (harness polling only): SQLite read-only, or a server
        database when ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` names one; ``?`` placeholders."""
        url = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        if not url.startswith("sqlite"):
            return _query_server(url, sql, params)
        return query_sqlite(self.db_path, sql, params)

    def wait_for(
        self,
        predicate: Callable[[], T],
        *,
        timeout: float,
        what: str,
        diagnostics: Callable[[], str] | None = None,
    ) -> T:
        """:func:`wait_for`, failing fast if a component died, with their logs on timeout
        (then ``diagnostics``' text, when given)."""

        def _checked() -> T:
            self.check_running()
            return predicate()

        def _details() -> str:
            return f"{self.log_tail()}\n{diagnostics()}" if diagnostics else self.log_tail()

        return wait_for(_checked, timeout=timeout, what=what, diagnostics=_details)

    def wait_for_api(self, timeout: float = 90.0) -> None:
        """Wait until the api-server answers its health endpoint."""

        def _healthy() -> bool:
            try:
                url = f"{self.api_url}/api/v2/monitor/health"
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                    return response.status == 200
            except OSError:
                return False

        self.wait_for(_healthy, timeout=timeout, what="the api-server")

    def wait_for_dag(self, dag_id: str, timeout: float = 90.0) -> None:
        """Wait until the dag-processor has serialized ``dag_id`` into the metadata DB."""
        sql = "SELECT 1 FROM serialized_dag WHERE dag_id = ?"
        self.wait_for(lambda: self.query(sql, (dag_id,)), timeout=timeout, what=f"DAG {dag_id}")

    def unpause(self, dag_id: str) -> None:
        """``airflow dags unpause``."""
        self.cli("dags", "unpause", dag_id)

    def trigger(
        self,
        dag_id: str,
        *,
        run_id: str | None = None,
        conf: Mapping[str, object] | None = None,
        logical_date: str | None = None,
    ) -> str:
        """``airflow dags trigger``; return the run id (generated when not given)."""
        run_id = run_id or f"manual__harness_{secrets.token_hex(4)}"
        args = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        if logical_date is not None:
            args += ["--logical-date", logical_date]
        self.cli(*args)
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        """State of one DAG run, or None if it does not exist."""
        rows = self.query(
            "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
        )
        return rows[0][0] if rows else None

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        *,
        states: tuple[str, ...] = FINISHED_STATES,
        timeout: float = 300.0,
        diagnostics: Callable[[], str] | None = None,
    ) -> str:
        """Wait until the run reaches one of ``states``; return that state."""
        return self.wait_for(
            lambda: (state := self.run_state(dag_id, run_id)) in states and state,
            timeout=timeout,
            what=f"run {run_id} of {dag_id} to reach {states}",
            diagnostics=diagnostics,
        )


@contextmanager
def airflow_runtime(
    dags_folder: str | os.PathLike[str],
    *,
    plugins_folder: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    migrate: bool = True,
    api_port: int | None = None,
    keep_home: bool = False,
    fork_commands: bool = False,
) -> Iterator[AirflowRuntime]:
    """Prepare an AIRFLOW_HOME, migrate its SQLite DB, yield the runtime, then stop everything.

    :param dags_folder: ``[core] dags_folder``.
    :param plugins_folder: ``[core] plugins_folder`` (default: an empty one in the home).
    :param home: AIRFLOW_HOME to use and keep (default: a temporary directory, deleted after).
    :param env: extra environment for every process (``AIRFLOW__*`` settings, ``AIRFLOW_CONN_*``).
    :param migrate: run ``airflow db migrate`` before yielding.
    :param api_port: api-server port (default: a free one).
    :param keep_home: keep a temporary home (its logs) after exit.
    :param fork_commands: run :meth:`AirflowRuntime.cli` commands through a fork server.
    """
    owned = home is None
    home_path = Path(home or tempfile.mkdtemp(prefix="airflow-home-")).resolve()
    home_path.mkdir(parents=True, exist_ok=True)
    port = api_port or free_port()
    runtime = AirflowRuntime(
        home=home_path,
        env=airflow_environ(
            home_path,
            Path(dags_folder).resolve(),
            Path(plugins_folder).resolve() if plugins_folder else None,
            api_port=port,
            overrides=env,
        ),
        api_port=port,
        fork_commands=fork_commands,
    )
    try:
        if migrate:
            runtime.cli("db", "migrate")
        yield runtime
    finally:
        runtime.stop()
        if owned and not keep_home:
            shutil.rmtree(home_path, ignore_errors=True)
