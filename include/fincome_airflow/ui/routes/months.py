"""The months page: one row per billing month, and the charts of the last 24 months."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from fincome_airflow.ui import history, pages
from fincome_airflow.ui.access import DAG_ID
from fincome_airflow.ui.deps import PagePaths, StateConn
from fincome_airflow.ui.views import COUNTS, month_rows

#: How many months the page lists.
MONTHS_LISTED: Final = 120

router = APIRouter(tags=["months"])


@router.get("/api/months")
def months_json(conn: StateConn) -> dict[str, Any]:
    """Every billing month with its latest run (status, counts, amounts, verdict), latest first."""
    rows = month_rows(history.recent_runs(conn, MONTHS_LISTED))
    return {"dag_id": DAG_ID, "months": [row.to_json() for row in rows]}


@router.get("/", response_class=HTMLResponse)
def months_page(conn: StateConn, at: PagePaths) -> str:
    rows = month_rows(history.recent_runs(conn, MONTHS_LISTED))
    return pages.render(
        "months.html",
        rows=rows,
        counts=COUNTS,
        charts=pages.charts(rows),
        chart_months=pages.CHART_MONTHS,
        dag_id=DAG_ID,
        base=at.base,
        airflow_root=at.airflow,
    )
