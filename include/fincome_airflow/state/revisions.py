"""Where a state database stands against the migrations this code ships (reading only).

:mod:`fincome_airflow.state.migrate` decides from a :class:`SchemaStatus` whether to migrate,
stamp or refuse. Alembic is imported only by what needs the scripts: every task checks the
database (:func:`at_shipped_head`), and a current one costs no Alembic import (~75 ms of CPU).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

#: Alembic's version table, named for this project: the state database may share a PostgreSQL
#: database with Airflow's metadata, whose version table is ``alembic_version``.
VERSION_TABLE: Final = "fincome_alembic_version"
#: The revision of the first release's schema (``migrations/versions/0001_first_release.py``).
BASELINE: Final = "0001"
#: The first release marked its databases with this table holding version 1 (and no Alembic).
FIRST_RELEASE_MARKER: Final = "fincome_schema_version"
SCRIPTS: Final = Path(__file__).with_name("migrations")
#: The revision scripts, named ``<revision>_<slug>.py`` (``python -m fincome_airflow.state
#: revision`` numbers them ``0001``, ``0002``...: each the one before plus one).
REVISION_FILES: Final = "[0-9][0-9][0-9][0-9]_*.py"
_VERSIONS = table(VERSION_TABLE, column("version_num"))


class StateSchemaError(RuntimeError):
    """The state database is not one this code may write: newer than the code, or unknown."""


class Verdict(enum.Enum):
    EMPTY = "empty"
    #: The first release's tables without Alembic's version table: stamped as :data:`BASELINE`.
    FIRST_RELEASE = "first release, not yet versioned"
    BEHIND = "behind the code"
    CURRENT = "current"
    #: A revision this code does not know: newer code migrated it (the code was rolled back).
    AHEAD = "ahead of the code"
    UNRECOGNISED = "unrecognised"


@dataclass(frozen=True)
class SchemaStatus:
    verdict: Verdict
    head: str
    #: The database's revision; ``None`` when it has no version table.
    revision: str | None = None
    detail: str = ""

    @property
    def needs_upgrade(self) -> bool:
        return self.verdict in (Verdict.EMPTY, Verdict.FIRST_RELEASE, Verdict.BEHIND)

    def describe(self) -> str:
        at = self.revision or ("none" if self.verdict is Verdict.EMPTY else "unversioned")
        line = f"state database at revision {at}, code at {self.head}: {self.verdict.value}"
        return f"{line} ({self.detail})" if self.detail else line

    def check_writable(self) -> None:
        """:raise StateSchemaError: if this code must not write the database."""
        if self.verdict is Verdict.AHEAD:
            raise StateSchemaError(
                f"The state database is at revision {self.revision}, which this code (head "
                f"{self.head}) does not know: a newer release migrated it. Deploy that release "
                f"again, or downgrade the database with its command first "
                f"(`python -m fincome_airflow.state downgrade {self.head}`); nothing was written."
            )
        if self.verdict is Verdict.UNRECOGNISED:
            raise StateSchemaError(
                f"The state database is not one this code recognises ({self.detail}); "
                "nothing was written. Point `fincome_state` at the deployment's own database "
                "or at an empty one."
            )


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration of the shipped scripts; ``connection`` is the one to migrate."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def scripts() -> ScriptDirectory:
    """The shipped revisions (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this code ships."""
    revision = scripts().get_current_head()
    assert revision is not None, "the distribution ships no migration"
    return revision


def first_release_tables() -> frozenset[str]:
    """Every table of the first release, as its migration (:data:`BASELINE`) names them."""
    baseline = scripts().get_revision(BASELINE)
    assert baseline is not None
    return frozenset(baseline.module.TABLES)


@cache
def shipped_head() -> str:
    """The newest revision this code ships, from the scripts' file names (no Alembic import);
    the same as :func:`head` (tests check it)."""
    return max(path.name.split("_", 1)[0] for path in (SCRIPTS / "versions").glob(REVISION_FILES))


def at_shipped_head(conn: Connection) -> bool:
    """Whether the database behind ``conn`` is at :func:`shipped_head` (no Alembic import).

    False is no verdict: :func:`read_status` tells an empty, older, newer or foreign database.
    """
    if not inspect(conn).has_table(VERSION_TABLE):
        return False
    return conn.execute(select(_VERSIONS.c.version_num)).scalars().all() == [shipped_head()]


def known(revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return scripts().get_revision(revision) is not None
    except CommandError:
        return False


def read_status(conn: Connection) -> SchemaStatus:
    """Compare the database behind ``conn`` with the shipped revisions, writing nothing."""
    newest = head()
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE not in names:
        return _unversioned(conn, names, newest)
    revisions = conn.execute(select(_VERSIONS.c.version_num)).scalars().all()
    if not revisions:  # the table alone: every migration was undone
        return _unversioned(conn, names, newest)
    if len(revisions) > 1:
        return SchemaStatus(Verdict.UNRECOGNISED, newest, detail=f"several heads {revisions}")
    (revision,) = revisions
    if revision == newest:
        return SchemaStatus(Verdict.CURRENT, newest, revision)
    return SchemaStatus(Verdict.BEHIND if known(revision) else Verdict.AHEAD, newest, revision)


def _unversioned(conn: Connection, names: set[str], newest: str) -> SchemaStatus:
    """A database without a revision: empty, the first release's, or foreign."""
    ours = {t for t in names if t.startswith("fincome_") and t != VERSION_TABLE}
    if not ours:
        return SchemaStatus(Verdict.EMPTY, newest)
    if FIRST_RELEASE_MARKER not in ours:
        detail = f"tables {sorted(ours)} without a version"
        return SchemaStatus(Verdict.UNRECOGNISED, newest, detail=detail)
    marker = select(column("version")).select_from(table(FIRST_RELEASE_MARKER))
    versions = conn.execute(marker).scalars().all()
    missing = first_release_tables() - ours
    if versions != [1] or missing:
        detail = f"{FIRST_RELEASE_MARKER} {versions}, missing tables {sorted(missing)}"
        return SchemaStatus(Verdict.UNRECOGNISED, newest, detail=detail)
    return SchemaStatus(Verdict.FIRST_RELEASE, newest)
