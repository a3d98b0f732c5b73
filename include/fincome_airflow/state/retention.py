"""What the state database keeps, and for how long.

* **Staged payloads** (``fincome_staged``, the canonical JSON of every record of a run) live only
  while their run can still send them. A run can no longer resume once it *finished* (its audit
  recorded ``done``, ``partial`` or ``dry_run`` with every task through: the audit removes them
  at once), was *superseded* (a later load of the same month finished), or is older than the
  resume window (``FINCOME_RESUME_WINDOW``, default 7 days; past it, clearing the run's tasks is
  refused). Its staged rows are then removed and the run is marked (``staged_removed_at``,
  ``staged_removed_why``). Change detection needs only the ledger's hashes, which stay.
* **History** (runs with their audit, rejects, per-record outcomes, reconciliations and
  differences) is kept ``FINCOME_HISTORY_RETENTION`` (default 395 days: a year-end audit of the
  previous year still finds its months), then removed; the run holding the change watermark is
  always kept. The ledger, pending records and month locks are never removed here.

Removal goes in batches of ``FINCOME_MAINTENANCE_BATCH`` rows (default 10,000), one short
transaction each, so a running load is never locked out; PostgreSQL tables are vacuumed after
(plain ``VACUUM``: it frees the space for reuse without an exclusive lock).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sqlalchemy import Table, and_, delete, func, select, text, tuple_, update
from sqlalchemy.engine import Connection

from fincome_airflow.deadline import parse_interval
from fincome_airflow.exceptions import FincomeRunExpired
from fincome_airflow.kinds import KIND_MONTHLY, RUN_KINDS
from fincome_airflow.state import schema
from fincome_airflow.state.rejects import remove_unreferenced
from fincome_airflow.state.store import StateStore, utcnow, watermark_runs

log = logging.getLogger(__name__)

ENV_RESUME_WINDOW: Final = "FINCOME_RESUME_WINDOW"
ENV_HISTORY_RETENTION: Final = "FINCOME_HISTORY_RETENTION"
ENV_BATCH: Final = "FINCOME_MAINTENANCE_BATCH"
DEFAULT_RESUME_WINDOW: Final = dt.timedelta(days=7)
DEFAULT_HISTORY_RETENTION: Final = dt.timedelta(days=395)
DEFAULT_BATCH: Final = 10_000

#: Run statuses the audit writes at the end of a run that needs nothing more.
FINISHED: Final = ("done", "partial", "dry_run")
#: Statuses of a finished load (a dry run supersedes nothing).
LOADED: Final = ("done", "partial")

Why = Literal["finished", "superseded", "expired"]
WHY_TEXT: Final[dict[str, str]] = {
    "finished": "it finished",
    "superseded": "a later run of the same month finished",
    "expired": f"it is older than the resume window ({ENV_RESUME_WINDOW})",
}

#: Tables holding one run's rows, by run key (the run's own row goes last).
_RUN_TABLES: Final = (
    schema.staged,
    schema.run_rejects,
    schema.outcomes,
    schema.differences,
    schema.reconciliations,
)


@dataclass(frozen=True)
class RetentionSettings:
    resume_window: dt.timedelta = DEFAULT_RESUME_WINDOW
    history: dt.timedelta = DEFAULT_HISTORY_RETENTION
    batch: int = DEFAULT_BATCH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetentionSettings:
        env = os.environ if environ is None else environ
        window = env.get(ENV_RESUME_WINDOW) or DEFAULT_RESUME_WINDOW
        history = env.get(ENV_HISTORY_RETENTION) or DEFAULT_HISTORY_RETENTION
        batch = int(env.get(ENV_BATCH) or DEFAULT_BATCH)
        if batch < 1:
            raise ValueError(f"{ENV_BATCH} must be a positive number of rows, got {batch}")
        settings = cls(
            parse_interval(window, what=ENV_RESUME_WINDOW),
            parse_interval(history, what=ENV_HISTORY_RETENTION),
            batch,
        )
        if settings.history < settings.resume_window:
            raise ValueError(
                f"{ENV_HISTORY_RETENTION} ({settings.history}) must be at least "
                f"{ENV_RESUME_WINDOW} ({settings.resume_window})"
            )
        return settings


@dataclass
class MaintenanceReport:
    """What one pass removed (the maintenance task's XCom and audit line)."""

    staged_rows: int = 0
    staged_runs: dict[str, int] = field(default_factory=dict)
    history_runs: int = 0
    history_rows: dict[str, int] = field(default_factory=dict)
    history_before: str = ""
    vacuumed: list[str] = field(default_factory=list)

    def line(self) -> str:
        why = ", ".join(f"{n} {w}" for w, n in sorted(self.staged_runs.items())) or "none"
        rows = ", ".join(f"{t} {n:,}" for t, n in sorted(self.history_rows.items())) or "none"
        return (
            f"Fincome state maintenance: staged payloads removed {self.staged_rows:,} rows "
            f"(runs: {why}); history before {self.history_before} removed: "
            f"{self.history_runs} runs (rows: {rows}); vacuumed: "
            f"{', '.join(self.vacuumed) or 'nothing'}"
        )


def _age(run: Mapping[str, Any], now: dt.datetime) -> dt.timedelta:
    created = run["created_at"]
    if created.tzinfo is None:  # SQLite returns naive UTC
        created = created.replace(tzinfo=dt.UTC)
    return now - created


def check_resumable(
    run: Mapping[str, Any] | None, *, restage: bool, settings: RetentionSettings, now: dt.datetime
) -> None:
    """Refuse a task of a run that can no longer resume, saying what to do instead.

    :param restage: the task stages the month again (the extract): allowed within the window
        even once the staged rows were removed.
    :raise FincomeRunExpired: the run is past the window, or (for other tasks) its staged
        records were removed.
    """
    if run is None:
        return
    month = run["month"]
    advice = f"Trigger a new run of {month} instead (Trigger DAG with month {month})."
    if _age(run, now) > settings.resume_window:
        raise FincomeRunExpired(
            f"Run {run['run_key']} of {month} started {run['created_at']:%Y-%m-%d}, more than "
            f"{ENV_RESUME_WINDOW} ({settings.resume_window.days} days) ago: it can no longer "
            f"be resumed. {advice}"
        )
    if run.get("staged_removed_at") is not None and not restage:
        why = WHY_TEXT.get(run.get("staged_removed_why") or "", "it can no longer resume")
        raise FincomeRunExpired(
            f"Run {run['run_key']} of {month}: its staged records were removed on "
            f"{run['staged_removed_at']:%Y-%m-%d %H:%M} because {why}; this task cannot run "
            f"again. Clear the whole run (from its extract) to stage the month again, or "
            f"{advice[0].lower()}{advice[1:]}"
        )


def require_resumable(
    store: StateStore, run_key: str, *, restage: bool = False, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The run's row, once :func:`check_resumable` (settings from the environment) let it by."""
    run = store.run(run_key)
    now = now or utcnow()
    check_resumable(run, restage=restage, settings=RetentionSettings.from_env(), now=now)
    return run


def runs_to_unstage(
    store: StateStore, settings: RetentionSettings, now: dt.datetime
) -> list[tuple[str, Why]]:
    """Runs whose staged rows may go, oldest first, with the reason."""
    runs = schema.runs
    with store.begin() as conn:
        rows = conn.execute(
            select(runs.c.run_key, runs.c.month, runs.c.status, runs.c.created_at)
            .where(runs.c.staged_removed_at.is_(None))
            .order_by(runs.c.created_at)
        ).mappings()
        rows = [dict(r) for r in rows]
    last_load: dict[str, dt.datetime] = {}
    for run in rows:
        if run["status"] in LOADED:
            last_load[run["month"]] = run["created_at"]
    out: list[tuple[str, Why]] = []
    for run in rows:
        if run["status"] in FINISHED:
            out.append((run["run_key"], "finished"))
        elif run["created_at"] < last_load.get(run["month"], run["created_at"]):
            out.append((run["run_key"], "superseded"))
        elif _age(run, now) > settings.resume_window:
            out.append((run["run_key"], "expired"))
    return out


def _in_batches(store: StateStore, step: Callable[[Connection], int], batch: int) -> int:
    """Repeat ``step`` (which removes at most ``batch`` rows), one transaction each, until it
    removes fewer; return the rows removed."""
    removed = 0
    while True:
        with store.begin() as conn:
            count = step(conn)
        removed += count
        if count < batch:
            return removed


def _delete_batches(store: StateStore, table: Table, where: Any, batch: int) -> int:
    """Delete ``table`` rows matching ``where`` by primary key, ``batch`` per transaction."""
    key = tuple_(*table.primary_key.columns)
    chunk = select(*table.primary_key.columns).where(where).limit(batch)

    def step(conn: Connection) -> int:
        return conn.execute(delete(table).where(key.in_(chunk))).rowcount

    return _in_batches(store, step, batch)


def unstage(store: StateStore, run_key: str, why: Why, batch: int = DEFAULT_BATCH) -> int:
    """Remove a run's staged rows in batches, then mark the run; return the rows removed."""
    staged = schema.staged
    removed = _delete_batches(store, staged, staged.c.run_key == run_key, batch)
    with store.begin() as conn:
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_key == run_key)
            .values(staged_removed_at=utcnow(), staged_removed_why=why)
        )
    return removed


def release_finished(store: StateStore, run_key: str, status: str) -> int:
    """Unstage a run that just ended ``status``, if that status finishes it; return the rows
    removed (what the audit calls last; the maintenance catches any run it missed)."""
    if status not in FINISHED:
        return 0
    removed = unstage(store, run_key, "finished")
    vacuum(store, [schema.staged.name])  # the next run reuses the space at once
    log.info("Run %s finished: %d staged payloads removed", run_key, removed)
    return removed


def _watermark_runs(store: StateStore) -> list[str]:
    """The runs holding the change watermarks, monthly and intraday (never removed: the next
    load of each kind starts from its own)."""
    runs = schema.runs
    keep: list[str] = []
    with store.begin() as conn:
        for kinds in ((KIND_MONTHLY,), RUN_KINDS):
            key = conn.execute(
                select(runs.c.run_key)
                .where(*watermark_runs(kinds))
                .order_by(runs.c.max_updated_at.desc(), runs.c.created_at.desc())
                .limit(1)
            ).scalar()
            if key is not None:
                keep.append(key)
    return keep


def remove_history(
    store: StateStore, before: dt.datetime, batch: int = DEFAULT_BATCH
) -> tuple[int, dict[str, int]]:
    """Remove runs created before ``before`` (except the watermark's) with all their rows."""
    runs = schema.runs
    keep = _watermark_runs(store)
    old = runs.c.created_at < before
    if keep:
        old = and_(old, runs.c.run_key.not_in(keep))
    with store.begin() as conn:
        keys = list(conn.execute(select(runs.c.run_key).where(old)).scalars())
    counts: dict[str, int] = {}
    for run_key in keys:
        for table in _RUN_TABLES:
            gone = _delete_batches(store, table, table.c.run_key == run_key, batch)
            if gone:
                counts[table.name] = counts.get(table.name, 0) + gone
        with store.begin() as conn:
            conn.execute(delete(runs).where(runs.c.run_key == run_key))
    if keys:
        counts[runs.name] = len(keys)
        details = _in_batches(store, lambda conn: remove_unreferenced(conn, batch), batch)
        if details:
            counts[schema.reject_details.name] = details
    return len(keys), counts


def vacuum(store: StateStore, tables: list[str]) -> list[str]:
    """``VACUUM (ANALYZE)`` the tables on PostgreSQL (no exclusive lock); nothing on SQLite,
    whose freed pages are reused as they are."""
    if store.engine.dialect.name != "postgresql" or not tables:
        return []
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.execute(text(f'VACUUM (ANALYZE) "{name}"'))  # names from schema, not input
    return tables


def maintain(
    store: StateStore, settings: RetentionSettings | None = None, *, now: dt.datetime
) -> MaintenanceReport:
    """One maintenance pass: unstage what cannot resume, drop history past the retention."""
    settings = settings or RetentionSettings.from_env()
    store.ensure_schema()
    report = MaintenanceReport()
    for run_key, why in runs_to_unstage(store, settings, now):
        report.staged_rows += unstage(store, run_key, why, settings.batch)
        report.staged_runs[why] = report.staged_runs.get(why, 0) + 1
    before = now - settings.history
    report.history_before = before.date().isoformat()
    report.history_runs, report.history_rows = remove_history(store, before, settings.batch)
    touched = {schema.staged.name} if report.staged_rows else set()
    touched |= set(report.history_rows)
    report.vacuumed = vacuum(store, sorted(touched))
    log.info("%s", report.line())
    return report


def row_count(store: StateStore, table: Table) -> int:
    with store.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
