"""The sync-state database: engine, schema migration on first use and run bookkeeping.

Staging (``staging.py``) and the change ledger (``ledger.py``) build on :class:`StateStore`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection, Engine

from fincome_airflow.engines import engine_for_connection, make_engine
from fincome_airflow.kinds import KIND_MONTHLY
from fincome_airflow.provider_info import DEFAULT_STATE_CONN_ID
from fincome_airflow.state import schema
from fincome_airflow.state.rejects import record_rejects
from fincome_airflow.state.upsert import upsert

#: Run status while the extraction writes its batches: the stage is part of a month.
STATUS_EXTRACTING = "extracting"
#: Run status once the whole month is staged (set by the extract task at its very end).
STATUS_STAGED = "staged"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StateStore:
    """Access to the state database; cheap to build, migrates its tables on first use."""

    #: The tables a restarted run forgets (its extract stages the month again).
    restaged_tables: tuple[Table, ...] = (schema.staged, schema.run_rejects)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._schema_ready = False

    @classmethod
    def from_url(cls, url: str) -> StateStore:
        return cls(make_engine(url))

    @classmethod
    def from_connection(cls, conn_id: str = DEFAULT_STATE_CONN_ID) -> StateStore:
        return cls(engine_for_connection(conn_id))

    def ensure_schema(self) -> None:
        """Bring the tables to this code's revision (once per instance; see :mod:`.migrate`).

        An empty or older database is migrated under a lock, so workers starting together
        migrate it once; a current one costs a read of the version table.

        :raise StateSchemaError: the database is ahead of the code or unrecognised.
        """
        if self._schema_ready:
            return
        # Imported here, not at DAG parse time (operators import this module); a current
        # database costs no Alembic import (see :mod:`.migrate`).
        from fincome_airflow.state import migrate

        migrate.ensure_current(self.engine)
        self._schema_ready = True

    def begin(self) -> Any:
        self.ensure_schema()
        return self.engine.begin()

    # -- runs ---------------------------------------------------------------------------------

    def start_run(
        self, run_key: str, month: str, *, dry_run: bool, kind: str = KIND_MONTHLY
    ) -> None:
        """Register (or restart) a run; a restarted run forgets what it had staged."""
        row = self.new_run_row(run_key, month, dry_run)
        if kind != KIND_MONTHLY:  # the column's default (a store of the first release lacks it)
            row["kind"] = kind
        with self.begin() as conn:
            for table in self.restaged_tables:
                conn.execute(table.delete().where(table.c.run_key == run_key))
            upsert(conn, schema.runs, [row], ["run_key"])

    def record_rejects(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store runs' refusals (see :mod:`.rejects`); return the rows."""
        return record_rejects(conn, rows)

    def mark_pending(self, conn: Connection, rows: list[Mapping[str, Any]]) -> None:
        """Put records on the pending list, or refresh when to read them again (see
        ``schema.pending``); a record already pending keeps its oldest ``since_run_key``."""
        upsert(conn, schema.pending, rows, ["resource", "record_id"], keep=["since_run_key"])

    def new_run_row(self, run_key: str, month: str, dry_run: bool) -> dict[str, Any]:
        """The ``fincome_runs`` row of a run that starts (or restarts) extracting."""
        return {
            "run_key": run_key,
            "month": month,
            "status": STATUS_EXTRACTING,
            "dry_run": dry_run,
            "created_at": utcnow(),
            "finished_at": None,
            "max_updated_at": None,
            "summary": None,
            "staged_removed_at": None,
            "staged_removed_why": None,
        }

    def set_run_status(self, run_key: str, status: str, **values: Any) -> None:
        with self.begin() as conn:
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.run_key == run_key)
                .values(status=status, **values)
            )

    def run(self, run_key: str) -> dict[str, Any] | None:
        with self.begin() as conn:
            row = (
                conn.execute(select(schema.runs).where(schema.runs.c.run_key == run_key))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def save_summary(self, run_key: str, summary: Mapping[str, Any], *, status: str) -> None:
        """Persist the run's audit summary (XComs are cleared on retry; this is not)."""
        self.set_run_status(
            run_key, status, summary=json.dumps(summary, default=str), finished_at=utcnow()
        )

    def save_stage_report(self, run_key: str, report: Mapping[str, Any]) -> None:
        """Keep the extraction's report, so the audit has it even if the run stops there."""
        with self.begin() as conn:
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.run_key == run_key)
                .values(stage_report=json.dumps(report, default=str))
            )

    def stage_report(self, run_key: str) -> dict[str, Any] | None:
        row = self.run(run_key)
        return json.loads(row["stage_report"]) if row and row.get("stage_report") else None

    def last_watermark(self, kinds: Iterable[str] = (KIND_MONTHLY,)) -> dt.datetime | None:
        """The ERP ``updated_at`` high-water mark of the last successful, non-dry load of one
        of ``kinds``: a monthly run reads monthly runs only (an intraday sync never moves its
        watermark), an intraday sync reads both (it sends what changed since either)."""
        runs = schema.runs
        with self.begin() as conn:
            return conn.execute(
                select(runs.c.max_updated_at)
                .where(*self.watermark_conditions(kinds))
                .order_by(runs.c.max_updated_at.desc())
                .limit(1)
            ).scalar()

    def watermark_conditions(self, kinds: Iterable[str]) -> tuple[Any, ...]:
        """The conditions of the runs this store reads a watermark of ``kinds`` from."""
        return watermark_runs(kinds)

    def insert_rows(
        self, table: Table, rows: Iterable[Mapping[str, Any]], chunk: int = 5000
    ) -> int:
        """Insert rows in batches (executemany), returning the number written."""
        total = 0
        batch: list[Mapping[str, Any]] = []
        with self.begin() as conn:
            for row in rows:
                batch.append(row)
                if len(batch) >= chunk:
                    conn.execute(insert(table), batch)
                    total += len(batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)
                total += len(batch)
        return total


def watermark_runs(kinds: Iterable[str]) -> tuple[Any, ...]:
    """The conditions of the runs a watermark of ``kinds`` is read from."""
    runs = schema.runs
    return (runs.c.status == "done", runs.c.dry_run.is_(False), runs.c.kind.in_(list(kinds)))
