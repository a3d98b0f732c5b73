"""A month's page: its runs, the refused records of one run (filtered, paged, as CSV), and the
reconciliation's differences."""

from __future__ import annotations

from dataclasses import asdict
from math import ceil
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.engine import Connection

from fincome_airflow.contract import RESOURCES
from fincome_airflow.stage.staging import CSV_COLUMNS
from fincome_airflow.ui import history, pages
from fincome_airflow.ui.access import DAG_ID, may_trigger
from fincome_airflow.ui.deps import Month, PagePaths, StateConn, StateEngine, no_such_month
from fincome_airflow.ui.downloads import csv_download
from fincome_airflow.ui.views import COUNTS, RunView, run_view, with_supersession

#: Differences listed on the page (the largest amounts at stake first).
DIFFERENCES_SHOWN: Final = 200

router = APIRouter(tags=["month"])


def reject_filter(
    resource: Annotated[str, Query(max_length=16)] = "",
    reason: Annotated[str, Query(max_length=64)] = "",
    outcome: Annotated[str, Query(pattern="^(|rejected|blocked)$")] = "",
    record_id: Annotated[str, Query(alias="id", max_length=255)] = "",
) -> history.RejectFilter:
    return history.RejectFilter(resource, reason, outcome, record_id.strip())


Filter = Annotated[history.RejectFilter, Depends(reject_filter)]
RunKey = Annotated[str, Query(alias="run", max_length=250)]


def _runs(conn: Connection, month: str, run_key: str) -> tuple[list[RunView], RunView]:
    """The month's runs (oldest first) and the selected one (default: the latest)."""
    runs = with_supersession([run_view(r) for r in history.month_runs(conn, month)])
    if not runs:
        raise no_such_month(month)
    chosen = [r for r in runs if r.run_key == run_key]
    return runs, chosen[0] if chosen else runs[-1]


def _query(run: RunView, where: history.RejectFilter) -> str:
    fields = {"run": run.run_key, **asdict(where)}
    fields["id"] = fields.pop("record_id")
    return urlencode({k: v for k, v in fields.items() if v})


@router.get("/api/months/{month}")
def month_json(
    month: Month, conn: StateConn, where: Filter, run: RunKey = "", page: int = Query(1, ge=1)
) -> dict[str, Any]:
    """The month's runs, one page of the selected run's refused records, its differences."""
    runs, selected = _runs(conn, month, run)
    rejects, total = history.rejects_page(conn, selected.run_key, where, page)
    diffs, diff_total = history.differences(conn, selected.run_key, DIFFERENCES_SHOWN)
    return {
        "month": month,
        "runs": [r.to_json() for r in runs],
        "selected_run": selected.run_key,
        "rejects": {"total": total, "page": page, "page_size": history.PAGE_SIZE, "items": rejects},
        "differences": {"total": diff_total, "items": diffs},
    }


@router.get("/months/{month}", response_class=HTMLResponse)
def month_page(
    month: Month,
    conn: StateConn,
    at: PagePaths,
    where: Filter,
    can_trigger: Annotated[bool, Depends(may_trigger)],
    run: RunKey = "",
    page: int = Query(1, ge=1),
    triggered: Annotated[str, Query(max_length=250)] = "",
) -> str:
    runs, selected = _runs(conn, month, run)
    rejects, total = history.rejects_page(conn, selected.run_key, where, page)
    reason_counts = history.reject_reasons(conn, selected.run_key)
    diffs, diff_total = history.differences(conn, selected.run_key, DIFFERENCES_SHOWN)
    return pages.render(
        "month.html",
        month=month,
        runs=list(reversed(runs)),
        selected=selected,
        counts=COUNTS,
        rejects=rejects,
        total=total,
        page=page,
        pages=max(ceil(total / history.PAGE_SIZE), 1),
        where=where,
        query=_query(selected, where),
        resources=RESOURCES,
        reasons=sorted({reason for _, reason, _ in reason_counts}),
        reason_counts=reason_counts,
        diffs=diffs,
        diff_total=diff_total,
        can_trigger=can_trigger,
        triggered=triggered,
        dag_id=DAG_ID,
        base=at.base,
        airflow_root=at.airflow,
    )


@router.get("/months/{month}/rejects.csv")
def rejects_csv(
    month: Month, conn: StateConn, engine: StateEngine, where: Filter, run: RunKey = ""
) -> StreamingResponse:
    """Every refused record of the selected run matching the filters, as CSV (UTF-8, BOM)."""
    _, selected = _runs(conn, month, run)
    query = history.rejects_select(selected.run_key, where)
    name = f"fincome_rejects_{month}_{selected.run_id}"
    return csv_download(engine, name, CSV_COLUMNS, query)


@router.get("/months/{month}/differences.csv")
def differences_csv(
    month: Month, conn: StateConn, engine: StateEngine, run: RunKey = ""
) -> StreamingResponse:
    """Every reconciliation difference of the selected run, as CSV (UTF-8, BOM)."""
    _, selected = _runs(conn, month, run)
    query = history.differences_select(selected.run_key)
    name = f"fincome_differences_{month}_{selected.run_id}"
    return csv_download(engine, name, history.DIFFERENCE_COLUMNS, query)
