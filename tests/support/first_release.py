"""The first release's state database, for the upgrade tests: its frozen DDL and its store.

``tests/data/first_release_state_<dialect>.sql`` is what the first release (commit af0ad5c) ran
on an empty state database; never edit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, inspect
from sqlalchemy.engine import Connection, Engine

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore
from fincome_airflow.state.upsert import upsert
from support.paths import DATA

#: The columns of ``fincome_runs`` in the first release (later ones came by migrations).
FIRST_RELEASE_RUN_COLUMNS = (
    "run_key",
    "month",
    "status",
    "dry_run",
    "created_at",
    "finished_at",
    "max_updated_at",
    "stage_report",
    "summary",
)


#: The columns of ``fincome_pending`` in the first release.
FIRST_RELEASE_PENDING_COLUMNS = ("resource", "record_id", "since_run_key")


#: The first release's table of refusals, one row per run and refusal.
FIRST_RELEASE_REJECTS = Table(
    "fincome_rejects",
    MetaData(),
    Column("run_key", String(250), primary_key=True),
    Column("resource", String(16), primary_key=True),
    Column("record_id", String(255), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("outcome", String(8)),
    Column("reason_code", String(64)),
    Column("field", String(128)),
    Column("message", Text),
    Column("blocked_by", String(300)),
)


def create_first_release_schema(engine: Engine) -> None:
    """Make the state tables as the first release did (no migrations, version marker 1)."""
    script = DATA / f"first_release_state_{engine.dialect.name}.sql"
    statements = [s for s in script.read_text().split(";\n") if s.strip()]
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


class FirstReleaseStore(StateStore):
    """A :class:`StateStore` whose schema is the first release's: made on first use, never
    migrated (what a deployment of the first release held)."""

    restaged_tables = (schema.staged, FIRST_RELEASE_REJECTS)

    def record_rejects(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """The first release wrote every refusal of every run in full."""
        rows = list(rows)
        if rows:
            conn.execute(FIRST_RELEASE_REJECTS.insert(), rows)
        return len(rows)

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        if not inspect(self.engine).has_table("fincome_schema_version"):
            create_first_release_schema(self.engine)
        self._schema_ready = True

    def mark_pending(self, conn: Connection, rows: list[Mapping[str, Any]]) -> None:
        """The first release's pending rows had no re-read columns; an existing row stayed."""
        kept = [{k: row[k] for k in FIRST_RELEASE_PENDING_COLUMNS} for row in rows]
        upsert(conn, schema.pending, kept, ["resource", "record_id"], replace=False)

    def watermark_conditions(self, kinds: Iterable[str]) -> tuple[Any, ...]:
        """The first release's runs had no kind: every finished, non-dry run counted."""
        return super().watermark_conditions(kinds)[:2]

    def new_run_row(self, run_key: str, month: str, dry_run: bool) -> dict[str, Any]:
        """The first release wrote only the columns its table had."""
        row = super().new_run_row(run_key, month, dry_run)
        return {k: v for k, v in row.items() if k in FIRST_RELEASE_RUN_COLUMNS}
