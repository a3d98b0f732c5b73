"""PostgreSQL Airflow metadata databases of the tests, each a clone of one migrated per session.

``airflow db migrate`` on PostgreSQL costs an ``airflow`` process (about 3.5 s of CPU), the
server's own work and about 10 s here; ``CREATE DATABASE ... TEMPLATE`` copies the migrated
database on the server in a fraction of a second. The template is shared by the session's xdist
workers: made by the first that asks, under a file lock in the session's folder; every clone and
the template's drop (by the worker that made it, when its session ends) take the same lock, so a
clone never meets a template half made or being dropped (a worker asking after that drop makes a
new one). PostgreSQL copies a template only while nobody is connected to it: nothing connects to
it once migrated.
"""

from __future__ import annotations

import fcntl
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from fincome_dev.airflow_env import airflow_runtime
from support.paths import DAGS, PLUGINS

SQL_CONN = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"


def migrate(url: str, home: Path) -> None:
    """``airflow db migrate`` of the database at ``url``, from an Airflow home at ``home``."""
    with airflow_runtime(DAGS, plugins_folder=PLUGINS, home=home, env={SQL_CONN: url}):
        pass


class AirflowTemplate:
    """The session's migrated Airflow database on the server of ``admin`` (an AUTOCOMMIT engine
    on its ``postgres`` database); its name is kept in ``folder`` for every worker."""

    def __init__(self, admin: Engine, folder: Path) -> None:
        self.admin = admin
        self.folder = folder
        folder.mkdir(exist_ok=True)
        self._made: str | None = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.folder / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _exists(self, name: str) -> bool:
        with self.admin.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            return found.first() is not None

    def _template(self) -> str:
        """The template's name, migrated first when no worker has (or its maker dropped it)."""
        record = self.folder / "name"
        if record.exists() and self._exists(name := record.read_text()):
            return name
        name = f"fincome_airflow_template_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(self.admin.url).set(database=name)
        migrate(url.render_as_string(hide_password=False), self.folder / "home")
        record.write_text(name)
        self._made = name
        return name

    def clone(self, create: Callable[..., str], prefix: str) -> str:
        """``create(prefix, template=<the template>)``: the URL of a new migrated database."""
        with self._locked():
            return create(prefix, template=self._template())

    def drop_if_made_here(self) -> None:
        """Drop the template if this process made it (a worker asking later makes another)."""
        if self._made is None:
            return
        with self._locked(), self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self._made}" WITH (FORCE)'))
            (self.folder / "name").unlink(missing_ok=True)
