"""Read-only queries of the state database for the operations page (never writes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from fincome_airflow.reconcile.reconcile_month import CSV_COLUMNS as DIFFERENCE_COLUMNS
from fincome_airflow.stage.staging import rejects_query
from fincome_airflow.state import schema

#: Rejects per page of the month view.
PAGE_SIZE: Final = 50


@dataclass(frozen=True)
class RejectFilter:
    """What the month view narrows the rejects to; empty fields filter nothing."""

    resource: str = ""
    reason: str = ""
    outcome: str = ""
    record_id: str = ""

    def apply(self, query: Select, run_key: str) -> Select:
        r = schema.rejects
        query = query.where(r.c.run_key == run_key)
        if self.resource:
            query = query.where(r.c.resource == self.resource)
        if self.reason:
            query = query.where(r.c.reason_code == self.reason)
        if self.outcome:
            query = query.where(r.c.outcome == self.outcome)
        if self.record_id:
            escaped = self.record_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(r.c.record_id.like(f"{escaped}%", escape="\\"))
        return query


def _decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    run = dict(row)
    for key in ("summary", "stage_report"):
        run[key] = json.loads(run[key]) if run.get(key) else None
    return run


def _no_runs_yet(conn: Connection) -> bool:
    """True before the first run created the tables (the page never creates them)."""
    return not conn.dialect.has_table(conn, schema.runs.name)


def recent_runs(conn: Connection, months: int) -> list[dict[str, Any]]:
    """Every run of the ``months`` latest billing months, the latest month first, then by start."""
    if _no_runs_yet(conn):
        return []
    runs = schema.runs
    latest = (
        select(runs.c.month)
        .group_by(runs.c.month)
        .order_by(runs.c.month.desc())
        .limit(months)
        .subquery()
    )
    query = (
        select(runs)
        .where(runs.c.month.in_(select(latest.c.month)))
        .order_by(runs.c.month.desc(), runs.c.created_at)
    )
    return [_decoded(row) for row in conn.execute(query).mappings()]


def month_runs(conn: Connection, month: str) -> list[dict[str, Any]]:
    """The runs of one month, oldest first."""
    if _no_runs_yet(conn):
        return []
    runs = schema.runs
    query = select(runs).where(runs.c.month == month).order_by(runs.c.created_at)
    return [_decoded(row) for row in conn.execute(query).mappings()]


def reject_reasons(conn: Connection, run_key: str) -> list[tuple[str, str, int]]:
    """``(resource, reason_code, count)`` of a run's refused records, the most frequent first."""
    r = schema.rejects
    query = (
        select(r.c.resource, r.c.reason_code, func.count())
        .where(r.c.run_key == run_key)
        .group_by(r.c.resource, r.c.reason_code)
        .order_by(func.count().desc(), r.c.resource, r.c.reason_code)
    )
    return [(res, reason, int(n)) for res, reason, n in conn.execute(query)]


def rejects_page(
    conn: Connection, run_key: str, where: RejectFilter, page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page (from 1) of a run's refused records matching ``where``, and how many match."""
    r = schema.rejects
    total = conn.execute(where.apply(select(func.count()).select_from(r), run_key)).scalar_one()
    query = (
        where.apply(rejects_query(), run_key).limit(PAGE_SIZE).offset(max(page - 1, 0) * PAGE_SIZE)
    )
    return [dict(row) for row in conn.execute(query).mappings()], int(total)


def rejects_select(run_key: str, where: RejectFilter) -> Select:
    """Every refused record of a run matching ``where``, in the rejects file's columns."""
    return where.apply(rejects_query(), run_key)


def differences_select(run_key: str) -> Select:
    """A run's differences in the reconciliation file's columns, the largest at stake first."""
    d = schema.differences
    return (
        select(*(d.c[column] for column in DIFFERENCE_COLUMNS))
        .where(d.c.run_key == run_key)
        .order_by(d.c.amount_at_stake.desc().nulls_last(), d.c.resource, d.c.record_id)
    )


def differences(conn: Connection, run_key: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """A run's reconciliation differences, the largest amounts at stake first, and their count."""
    d = schema.differences
    total = conn.execute(
        select(func.count()).select_from(d).where(d.c.run_key == run_key)
    ).scalar_one()
    rows = conn.execute(differences_select(run_key).limit(limit)).mappings()
    return [dict(row) for row in rows], int(total)
