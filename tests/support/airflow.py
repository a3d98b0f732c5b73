"""Local Airflow installations of the tests, each on a copy of one migrated metadata database
(migrating a SQLite database takes 7 to 30 seconds here; copying it, milliseconds)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fincome_dev.airflow_env import AirflowRuntime, airflow_runtime
from support.paths import DAGS, PLUGINS

#: ``0`` runs each ``airflow`` command and component of the tests as its own process.
FORK_COMMANDS_ENV = "FINCOME_TEST_FORK_COMMANDS"


def migrate_template(folder: Path) -> Path:
    """Migrate a SQLite metadata database in ``folder``; return its file."""
    with airflow_runtime(DAGS, plugins_folder=PLUGINS, home=folder / "home") as af:
        return af.db_path


@contextmanager
def migrated_airflow(
    template: Path, home: Path, dags_folder: Path = DAGS, **options: Any
) -> Iterator[AirflowRuntime]:
    """:func:`airflow_runtime` in ``home`` on a copy of the migrated ``template`` (the project's
    plugins unless ``plugins_folder`` is given), its commands and components run by one fork
    server (Airflow imported once, :mod:`fincome_dev.airflow_forkserver`) unless
    ``fork_commands=False``: those that change no Airflow setting (``AIRFLOW__*``)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, home / "airflow.db")
    options.setdefault("plugins_folder", PLUGINS)
    options.setdefault("fork_commands", os.environ.get(FORK_COMMANDS_ENV, "1") != "0")
    with airflow_runtime(dags_folder, home=home, migrate=False, **options) as af:
        yield af
