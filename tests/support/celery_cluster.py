"""A CeleryExecutor cluster as local processes, each as if on a host of its own.

api-server, scheduler, dag-processor, triggerer and two Celery workers each get their own
``AIRFLOW_HOME`` (also their working directory), log folder and copy of the project's ``dags/``
and ``plugins/``; they share only what hosts share: the metadata database (PostgreSQL), the
broker (Redis), the api-server's address and the secrets. Their settings are those of
``deploy/cluster.env`` (which docker-compose.yaml loads too) with the compose host names moved to
local addresses. Python runs the installed wheel of ``include/`` (``PYTHONPATH``), not the
working copy.

.. code-block:: python

    with celery_cluster(root, metadata_url=pg, broker_url=redis, budget_url=budget,
                        reports_url=shared_folder, site=site, env=conns) as cluster:
        cluster.start()
        cluster.wait_for(cluster.healthy, timeout=240, what="the cluster's health")
        run_id = cluster.trigger(DAG_ID, {"month": "2026-10"})
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import httpx
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from fincome_airflow.airflow_cli import airflow_argv
from fincome_dev.airflow_env import (
    airflow_environ,
    free_port,
    stop_process_trees,
    wait_for,
)
from support.deploy import SECRETS, read_env_file
from support.paths import REPO

T = TypeVar("T")

SQL_CONN: Final = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
RESULT_BACKEND: Final = "AIRFLOW__CELERY__RESULT_BACKEND"
BROKER: Final = "AIRFLOW__CELERY__BROKER_URL"
BUDGET: Final = "FINCOME_BUDGET_STORE"
REPORTS: Final = "FINCOME_REPORTS_URL"
EXECUTION_API: Final = "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
WORKERS: Final = ("worker-1", "worker-2")
#: Each member of the cluster and the ``airflow`` command it runs.
MEMBERS: Final = {
    "api-server": ("api-server",),
    "scheduler": ("scheduler",),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer",),
    **{name: ("celery", "worker", "--celery-hostname", f"{name}@%h") for name in WORKERS},
}
USER: Final = "admin"


def _moved(deployed: str, local: str) -> str:
    """``local``, checked to use the scheme (driver) of the ``deployed`` URL."""
    if urlsplit(deployed).scheme != urlsplit(local).scheme:
        raise ValueError(f"{local!r} does not use the scheme of the deployed {deployed!r}")
    return local


def localized(
    deployed: Mapping[str, str],
    *,
    metadata_url: str,
    broker_url: str,
    api_url: str,
    budget_url: str,
    reports_url: str,
) -> dict[str, str]:
    """The deploy settings with their host names (and the reports' folder) moved to local
    addresses, all else as is."""
    settings = dict(deployed)
    settings[SQL_CONN] = _moved(deployed[SQL_CONN], metadata_url)
    settings[RESULT_BACKEND] = _moved(deployed[RESULT_BACKEND], f"db+{metadata_url}")
    settings[BROKER] = _moved(deployed[BROKER], broker_url)
    settings[BUDGET] = _moved(deployed[BUDGET], budget_url)
    settings[REPORTS] = _moved(deployed[REPORTS], reports_url)
    settings[EXECUTION_API] = api_url + urlsplit(deployed[EXECUTION_API]).path
    return settings


@dataclass
class Member:
    """One component on its own host: home, working directory and logs under ``home``."""

    name: str
    home: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        """The component's own output (task logs are under ``home/logs`` too)."""
        return self.home / "logs" / f"{self.name}.out"

    @property
    def log_folder(self) -> Path:
        return Path(self.env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                airflow_argv(*MEMBERS[self.name]),
                env=self.env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def pids(self) -> set[int]:
        """The component's process and every descendant (task processes of a worker)."""
        if self.process is None or self.process.poll() is not None:
            return set()
        with suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.process.pid)
            return {root.pid, *(child.pid for child in root.children(recursive=True))}
        return set()

    def tail(self, lines: int = 25) -> str:
        text_ = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ---\n" + "\n".join(text_.splitlines()[-lines:])


@dataclass
class Cluster:
    """The running cluster: its members, the REST API and the metadata database."""

    members: dict[str, Member]
    api_url: str
    password: str
    killed: set[str] = field(default_factory=set)
    stopped: set[int] = field(default_factory=set)
    _token: str | None = None
    #: One client for every request of the harness: a new one each time costs ~20 ms of CPU
    #: (its TLS context), and the harness asks hundreds of times. No keep-alive: a connection
    #: the api-server closed while idle is never sent a request.
    _client: httpx.Client = field(
        default_factory=lambda: httpx.Client(
            timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )
    )

    def start(self) -> None:
        """Start every member at once (each waits for what it needs by itself)."""
        for member in self.members.values():
            member.start()

    def stop(self) -> None:
        """Stop every member by its PID, children included, all at once (each in a thread)."""
        self.stopped |= {pid for member in self.members.values() for pid in member.pids()}
        started = [m.process for m in self.members.values() if m.process is not None]
        stop_process_trees(started, timeout=20)
        self._client.close()

    def still_running(self) -> list[int]:
        """The processes :meth:`stop` stopped that still run (none, once it returned)."""
        alive = []
        for pid in sorted(self.stopped):
            with suppress(psutil.NoSuchProcess):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
        return alive

    def kill(self, name: str) -> set[int]:
        """SIGKILL a member and all its processes at once, as when its host is lost."""
        member = self.members[name]
        victims = [psutil.Process(pid) for pid in member.pids()]
        for victim in victims:
            with suppress(psutil.NoSuchProcess):
                victim.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=10)
        self.killed.add(name)
        return {victim.pid for victim in victims}

    def diagnostics(self) -> str:
        return "\n".join(member.tail() for member in self.members.values())

    def check_running(self) -> None:
        """Raise if a member that was not killed on purpose has exited."""
        dead = {
            name: member.process.returncode
            for name, member in self.members.items()
            if name not in self.killed and member.process and member.process.poll() is not None
        }
        if dead:
            raise RuntimeError(f"cluster members exited: {dead}\n{self.diagnostics()}")

    def wait_for(
        self, predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.5
    ) -> T:
        """Poll ``predicate`` (failing fast when a member died); logs in the timeout message."""

        def _checked() -> T:
            self.check_running()
            return predicate()

        return wait_for(
            _checked, timeout=timeout, interval=interval, what=what, diagnostics=self.diagnostics
        )

    # --- REST API (Airflow 3 public API, JWT from /auth/token) ------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``/api/v2<path>`` with a bearer token; return the JSON answer."""
        if self._token is None:
            answer = self._client.post(
                f"{self.api_url}/auth/token", json={"username": USER, "password": self.password}
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}"}
        answer = self._client.request(
            method, f"{self.api_url}/api/v2{path}", headers=headers, **kwargs
        )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def healthy(self) -> bool:
        """The api-server answers and reports the metadata database, scheduler, triggerer and
        dag-processor healthy."""
        try:
            answer = self._client.get(f"{self.api_url}/api/v2/monitor/health", timeout=5)
        except httpx.HTTPError:
            return False
        if answer.status_code != 200:
            return False
        health = answer.json()
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

    def workers_ready(self) -> bool:
        """Both Celery workers said they are ready (connected to the broker, consuming)."""
        logs = [self.members[name].log for name in WORKERS]
        return all(log.exists() and " ready." in log.read_text(errors="replace") for log in logs)

    def trigger(self, dag_id: str, conf: Mapping[str, Any]) -> str:
        """Trigger a run through the REST API; return its run id."""
        run = self.api(
            "POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf)}
        )
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """Wait until the run succeeded or failed; return which. Asked every 2 s: a run lasts
        half a minute or more, and each question is a request the api-server serves."""
        return self.wait_for(
            lambda: (state := self.run_state(dag_id, run_id)) in ("success", "failed") and state,
            timeout=timeout,
            what=f"run {run_id} to finish",
            interval=2,
        )

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """The run's task instances by task id (``.map_index`` appended when mapped)."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")
        return {
            ti["task_id"] + (f".{ti['map_index']}" if ti["map_index"] >= 0 else ""): ti
            for ti in answer["task_instances"]
        }

    def query(self, sql: str, **params: Any) -> list[tuple]:
        """Read the metadata database (harness polling only)."""
        url = self.members["api-server"].env[SQL_CONN]
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        finally:
            engine.dispose()


def shared_secrets() -> dict[str, str]:
    """A fresh value of each of :data:`SECRETS` (JWT secret and secret key: 96 bytes)."""
    from cryptography.fernet import Fernet

    values = {key: secrets.token_hex(48) for key in SECRETS}
    values["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()
    return values


def _host(root: Path, name: str) -> Path:
    """A host's home: its own copy of the project's dags and plugins."""
    home = root / name
    skip = shutil.ignore_patterns("__pycache__")
    for folder in ("dags", "plugins"):
        shutil.copytree(REPO / folder, home / folder, ignore=skip)
    return home


@contextmanager
def celery_cluster(
    root: Path,
    *,
    metadata_url: str,
    broker_url: str,
    budget_url: str,
    reports_url: str,
    site: Path,
    env: Mapping[str, str],
    deploy: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """Lay out the hosts under ``root``, yield the cluster (not started), then stop every member
    by its PID.

    :param metadata_url: a migrated Airflow metadata database (``create_airflow_pg_database``).
    :param site: the folder the wheel is installed in (first on every member's ``PYTHONPATH``).
    :param env: more environment for every member (connections, project and test settings).
    :param deploy: the deploy settings (default: ``deploy/cluster.env``).
    """
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    password = secrets.token_urlsafe(16)
    passwords = root / "passwords.json"
    passwords.write_text(json.dumps({USER: password}))
    shared = {
        **localized(
            read_env_file() if deploy is None else deploy,
            metadata_url=metadata_url,
            broker_url=broker_url,
            api_url=api_url,
            budget_url=budget_url,
            reports_url=reports_url,
        ),
        **shared_secrets(),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "PYTHONPATH": str(site),
        **env,
    }
    # Nothing of the working copy: the SQL override and this process's path stay out.
    base = {k: v for k, v in os.environ.items() if k not in ("FINCOME_SQL_DIR", "PYTHONPATH")}
    members = {}
    for name in MEMBERS:
        home = _host(root, name)
        own = {
            **shared,
            # Free ports: several members share this machine, unlike hosts.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        }
        environ = airflow_environ(
            home, home / "dags", home / "plugins", api_port=api_port, overrides=own, base=base
        )
        members[name] = Member(name, home, environ)
    cluster = Cluster(members, api_url, password)
    try:
        yield cluster
    finally:
        cluster.stop()


def python_of(member: Member, code: str) -> str:
    """Run ``code`` in a fresh interpreter with the member's environment; return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=member.env,
        cwd=member.home,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()
