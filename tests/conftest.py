"""Session fixtures shared by every test: throwaway PostgreSQL databases, the sandbox, Airflow env.

Each test folder sets its tests' marker (:data:`FOLDER_MARKERS`): ``unit`` tests may open no
network connection (a connect raises ``NetworkInUnitTest``), ``integration`` tests talk to
real services, ``e2e`` tests run Airflow. Helpers live in the ``support`` package.

Service addresses come from environment variables with this machine's defaults
(:mod:`support.throwaway`): ``FINCOME_TEST_PG_URL`` (PostgreSQL server, trust auth),
``FINCOME_TEST_MYSQL_URL`` (MariaDB or MySQL server, root without password).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import cpu_report, leftovers, schedule, throwaway
from support.airflow import FORK_COMMANDS_ENV, migrate_template
from support.dist import build_wheel
from support.network import refuse_network
from support.paths import REPO
from support.pg_airflow import AirflowTemplate
from support.shared import made_once, session_root
from support.throwaway import ThrowawayDatabases

from fincome_dev import import_gc

TESTS = Path(__file__).resolve().parent

# Airflow reads these at import time: no examples, the project's folders, a private home.
# Under pytest-xdist, each worker has an Airflow home of its own (files, SQLite database).
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    home = Path(os.environ.get("AIRFLOW_HOME") or REPO / ".airflow") / worker
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# Every `airflow` subprocess imports thousands of modules: with their bytecode cached, the first
# compiles them and the next ones read it (PYTHONDONTWRITEBYTECODE would recompile in each).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

#: The marker of the tests in each folder of ``tests/``.
FOLDER_MARKERS = {
    "unit": "unit",
    "dags": "unit",  # DAG files parse with nothing live
    "integration": "integration",
    "e2e": "e2e",
    "reliability": "e2e",  # faults injected into real Airflow runs
}


def pytest_configure(config: pytest.Config) -> None:
    """Where the CPU goes, on demand (:mod:`support.cpu_report`); no process left behind
    (:mod:`support.leftovers`); no garbage collection while the test modules are imported
    (:mod:`fincome_dev.import_gc`), unless pytest-xdist's controller, which collects none."""
    cpu_report.register(config)
    leftovers.register(config)
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", 0):
        import_gc.pause()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The imported modules and collected tests stay for the session: out of its collections."""
    import_gc.keep_imported()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test after its folder (a test outside those folders is a usage error); order
    them for the xdist workers (:mod:`support.schedule`)."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder not in FOLDER_MARKERS:
            raise pytest.UsageError(f"{item.nodeid}: tests/{folder}/ has no marker in conftest.py")
        item.add_marker(FOLDER_MARKERS[folder])
    schedule.order(items, TESTS)


@pytest.hookimpl(optionalhook=True)  # without xdist (-p no:xdist) nobody calls it
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadfile``: slow first, the split files' tests one by one."""
    if config.getvalue("dist") == "loadfile":
        return schedule.SlowFirstScheduling(config, log)
    return None


@pytest.fixture(autouse=True)
def _no_network_in_unit_tests(request: pytest.FixtureRequest, monkeypatch) -> None:
    """Unit tests get no network (:func:`support.network.refuse_network`)."""
    if request.node.get_closest_marker("unit") is not None:
        refuse_network(monkeypatch, request.node.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> object:
    """A database made while a session fixture is set up lives until the session ends."""
    with throwaway.setting_up(fixturedef.scope):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """After a module's last test (its module fixtures torn down), drop the databases it made,
    in the background (:mod:`support.throwaway`)."""
    try:
        return (yield)
    finally:
        module = item.getparent(pytest.Module)
        if nextitem is None or nextitem.getparent(pytest.Module) is not module:
            throwaway.module_over()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[ThrowawayDatabases]:
    """The session's throwaway PostgreSQL databases, every one dropped when it ends."""
    databases = throwaway.postgresql()
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def create_pg_database(pg_databases) -> Callable[..., str]:
    """Factory of throwaway PostgreSQL databases (:mod:`support.throwaway`), each dropped after
    the module that made it; ``create_pg_database(prefix, template=name)`` copies ``name``."""
    return pg_databases.create


@pytest.fixture(scope="session")
def create_airflow_pg_database(tmp_path_factory, pg_databases) -> Iterator:
    """Factory of migrated PostgreSQL Airflow metadata databases (throwaway): each a copy of one
    migrated once per session for every worker (:mod:`support.pg_airflow`)."""
    template = AirflowTemplate(
        pg_databases.admin, session_root(tmp_path_factory) / "airflow_pg_template"
    )
    yield lambda prefix="airflow_meta": template.clone(pg_databases.create, prefix)
    pg_databases.in_background(template.drop_if_made_here)


@pytest.fixture(scope="session")
def create_mysql_database() -> Iterator[Callable[..., str]]:
    """Factory of throwaway MariaDB/MySQL databases, each dropped after the module that made it."""
    databases = throwaway.mariadb()
    yield databases.create
    databases.close()


@pytest.fixture(scope="session")
def pg_url(create_pg_database) -> str:
    """One throwaway PostgreSQL database for the session."""
    return create_pg_database()


@pytest.fixture(scope="session")
def airflow_db_template(tmp_path_factory) -> Path:
    """A migrated SQLite Airflow metadata database, made once per session for every worker;
    :func:`support.airflow.migrated_airflow` runs Airflow on a copy of it."""
    return made_once(tmp_path_factory, "airflow_db_template", migrate_template)


@pytest.fixture(scope="session")
def fincome_wheel(tmp_path_factory) -> Path:
    """The ``fincome_airflow`` wheel built from ``include/``, once per session for every worker."""
    return made_once(tmp_path_factory, "fincome_wheel", build_wheel)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_db_url(request, tmp_path) -> str:
    """An empty state database on each backend: a SQLite file, a throwaway PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("create_pg_database")("fincome_state")


# --- Fincome sandbox fixtures (owned by the sandbox; see dev/fincome-sandbox) ------------------
SANDBOX_API_KEY = "sandbox-test-key"


@pytest.fixture(scope="session", autouse=True)
def _sandboxes_forked(tmp_path_factory) -> Iterator[None]:
    """The session's sandboxes forked from one server that imported their code once
    (:mod:`fincome_dev.sandbox_forks`, started at the first), unless
    ``FINCOME_TEST_FORK_COMMANDS=0``; stopped last, with any sandbox left."""
    if os.environ.get(FORK_COMMANDS_ENV, "1") == "0":
        yield
        return
    from fincome_dev.sandbox_forks import ForkedSandboxes
    from fincome_sandbox import launcher

    spawner = ForkedSandboxes(tmp_path_factory.getbasetemp() / "sandbox-forkserver.log")
    replaced = launcher.set_spawner(spawner)
    yield
    launcher.set_spawner(replaced)
    spawner.stop()


@pytest.fixture
def sandbox_factory(tmp_path):
    """Factory of sandbox subprocesses with options, all stopped at the end of the test.

    ``sandbox_factory(latency_ms=20, db=str(tmp_path / "s.db"))`` returns a started
    :class:`fincome_sandbox.launcher.SandboxProcess`; ``api_key`` defaults to
    ``SANDBOX_API_KEY``.
    """
    from fincome_sandbox.launcher import SandboxProcess

    started: list[SandboxProcess] = []

    def _start(**options) -> SandboxProcess:
        options.setdefault("api_key", SANDBOX_API_KEY)
        sandbox = SandboxProcess(**options)
        started.append(sandbox)
        return sandbox.start()

    yield _start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(scope="session")
def sandbox_session():
    """One fault-free, in-memory sandbox for the whole session (use ``sandbox`` in tests)."""
    from fincome_sandbox.launcher import SandboxProcess

    with SandboxProcess(api_key=SANDBOX_API_KEY) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_session):
    """The session's sandbox, emptied, with zeroed statistics and no faults."""
    sandbox_session.reset()
    return sandbox_session


# --- end of the Fincome sandbox fixtures --------------------------------------------------------
