"""Rerun a month: triggers the DAG through Airflow's REST API as the user, then shows the run."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import httpx
from airflow.configuration import conf
from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse

from fincome_airflow.ui import rerun
from fincome_airflow.ui.access import DAG_ID, can_trigger, same_origin, user_token
from fincome_airflow.ui.deps import Month, PagePaths

router = APIRouter(tags=["rerun"])


def api_base(request: Request, at: PagePaths) -> str:
    """Airflow's REST API root: ``[api] base_url``, else this very server."""
    configured = conf.get("api", "base_url", fallback="") or ""
    if configured.startswith("http"):
        return configured.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{at.airflow}"


def airflow_transport() -> httpx.AsyncBaseTransport | None:
    """How the REST call travels (default: the network; tests override this dependency)."""
    return None


@router.post(
    "/months/{month}/rerun",
    dependencies=[Depends(can_trigger), Depends(same_origin)],
    status_code=status.HTTP_303_SEE_OTHER,
)
async def rerun_month(
    month: Month,
    at: PagePaths,
    base: Annotated[str, Depends(api_base)],
    token: Annotated[str, Depends(user_token)],
    transport: Annotated[httpx.AsyncBaseTransport | None, Depends(airflow_transport)],
    dry_run: Annotated[bool, Form()] = False,
    full_resync: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Create the run (month in its conf, id and note), then show the month linking to it."""
    body = rerun.rerun_request(
        month, dry_run=dry_run, full_resync=full_resync, now=dt.datetime.now(dt.UTC)
    )
    try:
        run_id = await rerun.trigger(base, token, DAG_ID, body, transport=transport)
    except rerun.RerunRefused as refused:
        raise HTTPException(refused.status, f"Airflow refused the run: {refused.detail}") from None
    # Back to the month, which links the new run (Airflow's iframe may not navigate the UI).
    target = f"{at.base}/months/{month}?{urlencode({'triggered': run_id})}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
