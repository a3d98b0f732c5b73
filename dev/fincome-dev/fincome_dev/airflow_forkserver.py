"""The Airflow program of the tests' fork server (:mod:`fincome_dev.forkserver`): the
``airflow`` commands and components of one local runtime (tests and tools only).

Every ``airflow dags test`` pays about 6 s of CPU before its first task: importing Airflow and its
CLI (~1.7 s) and building the in-process Execution API that ``dags test`` serves its tasks with
(Cadwyn's versioned routers, ~4.5 s). The server pays that once per runtime (the Execution API
before its first ``dags test``: a runtime that runs only components does not pay it), then forks
one child per command or component (``airflow scheduler``...), which runs the ``airflow``
script's own ``main()`` with the command's arguments, environment, directory and output: the
same code path as ``airflow <args>``.

A server serves only requests whose Airflow settings (``AIRFLOW__*``, ``AIRFLOW_HOME``,
``PATH``) are the ones it was started with: Airflow reads some of them once, at import
(:func:`settings_of`).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Mapping, Sequence

from fincome_dev.schema_checks import check_each_schema_once

#: The command a child of this program runs (:mod:`fincome_dev.forkserver`).
NAME = "airflow"
#: Environment variables Airflow reads once, when it is imported: a command that changes one
#: cannot run in a child of a server started without it.
_READ_AT_IMPORT = ("AIRFLOW__", "_AIRFLOW")
_EXACT = frozenset({"AIRFLOW_HOME", "AIRFLOW_CONFIG", "PATH", "PYTHONPATH"})


def settings_of(env: Mapping[str, str]) -> dict[str, str]:
    """The part of an environment the server's children cannot change."""
    return {k: v for k, v in env.items() if k in _EXACT or k.startswith(_READ_AT_IMPORT)}


#: What a ``dags test`` of the project's DAGs imports after the CLI, imported once by the server
#: instead of in every child (~1.5 s of CPU a run): the authoring API its DAG files use, the
#: project's modules its tasks import when they run, their HTTP and schema-migration stacks, the
#: in-process Execution API's transport. None of them reads a setting at import: not
#: ``fincome_airflow.dag_parts`` or ``fincome_airflow.ui`` (``FINCOME_*`` variables a test may
#: give one command), which each child imports with its own environment.
PRELOAD: tuple[str, ...] = (
    "a2wsgi",
    "anyio._backends._asyncio",
    "alembic.context",
    "alembic.op",
    "airflow.providers.standard.decorators.python",
    "airflow.sdk.definitions.decorators.setup_teardown",
    "fincome_airflow.assets",
    "fincome_airflow.deadline",
    "fincome_airflow.operators",
    "fincome_airflow.params",
    "fincome_airflow.timetable",
    "fincome_airflow.hooks.fincome",
    "fincome_airflow.load.send_loops",
    "fincome_airflow.tasks.audit",
    "fincome_airflow.tasks.chunks",
    "fincome_airflow.tasks.extract",
    "fincome_airflow.tasks.prepare",
    "fincome_airflow.tasks.publish",
    "fincome_airflow.tasks.reconcile",
    # The modules of the commands the tests run most, and the PostgreSQL hook and driver that
    # the runs on PostgreSQL connections import (~0.15 s a child).
    "airflow.cli.commands.dag_command",
    "airflow.cli.simple_table",
    "airflow.providers.postgres.hooks.postgres",
)

#: The metrics registries Airflow reads from a YAML file on the first metric a process emits
#: (~0.1 s a child): Airflow core's and the task SDK's copy of the same module.
_METRICS_STATS = (
    "airflow._shared.observability.metrics.stats",
    "airflow.sdk._shared.observability.metrics.stats",
)


def warm() -> None:
    """Import the CLI and :data:`PRELOAD`, check each Param schema once
    (:mod:`fincome_dev.schema_checks`), and fill the per-process caches that depend on no
    setting a command may change: every child would otherwise fill them again."""
    import airflow.__main__  # the CLI, its settings
    import sqlalchemy.orm

    check_each_schema_once()
    for module in PRELOAD:
        importlib.import_module(module)
    airflow.__main__.cli_parser.get_parser()  # cached: the argument parser of every command
    importlib.import_module("airflow.models").import_all_models()
    sqlalchemy.orm.configure_mappers()  # the ORM's mappers, configured at a child's first query
    for name in _METRICS_STATS:
        with contextlib.suppress(ImportError, AttributeError):  # a private helper of Airflow's
            importlib.import_module(name)._get_registry()


#: The commands that serve their tasks with the in-process Execution API.
_IN_PROCESS_API = (("dags", "test"), ("tasks", "test"))


def _build_in_process_api() -> None:
    """Build the in-process Execution API's routes, as ``dags test`` would: ~6 s of CPU, paid
    by the server before its first such command, not by each (nor by a server that runs only
    components and other commands). Building them starts no thread (its event loop starts with
    the first request, in a child)."""
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    app = in_process_api_server().app
    initialize = getattr(app, "_cadwyn_initialize", None)
    if initialize is not None and not getattr(app, "_cadwyn_initialized", True):
        initialize()


#: Whether this server built the in-process Execution API.
_api_built = False


def before_fork(argv: Sequence[str]) -> bool:
    """Build the in-process Execution API before the runtime's first command that serves its
    tasks with it; return whether it was built now."""
    global _api_built
    if _api_built or tuple(argv[:2]) not in _IN_PROCESS_API:
        return False
    _build_in_process_api()
    _api_built = True
    return True


def run(argv: Sequence[str]) -> None:  # pragma: no cover - in a forked child
    """``airflow <argv>``: the ``airflow`` script's own ``main()``."""
    from airflow import settings
    from airflow.__main__ import main

    if getattr(settings, "engine", None) is not None:
        settings.engine.dispose(close=False)  # the server's pool, if any, stays its own
    sys.argv = ["airflow", *argv]
    main()
