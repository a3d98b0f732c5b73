"""Rerun a month through Airflow's own REST API, with the user's own token (their rights)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx


class RerunRefused(RuntimeError):
    """Airflow did not create the run; ``status`` and ``detail`` are Airflow's answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"Airflow refused the run ({status}): {detail}")
        self.status, self.detail = status, detail


def rerun_request(
    month: str, *, dry_run: bool, full_resync: bool, now: dt.datetime
) -> dict[str, Any]:
    """The body of ``POST /api/v2/dags/{dag_id}/dagRuns``: the month in the conf, the run id
    and the note (so Airflow's grid and run list show which month the run loads)."""
    mode = "dry-run" if dry_run else "load"
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    what = "Dry run" if dry_run else "Load"
    return {
        "dag_run_id": f"manual__{month}_{mode}_{stamp}",
        "logical_date": None,
        "conf": {"month": month, "dry_run": dry_run, "full_resync": full_resync},
        "note": f"{what} of {month}, rerun from the Fincome loads page"
        + (" (full resync)" if full_resync else ""),
    }


async def trigger(
    api_base: str,
    token: str,
    dag_id: str,
    body: dict[str, Any],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Create the run; return its id.

    :raise RerunRefused: Airflow answered with an error (e.g. 403: the user may not trigger).
    """
    async with httpx.AsyncClient(base_url=api_base, transport=transport, timeout=30) as client:
        response = await client.post(
            f"/api/v2/dags/{dag_id}/dagRuns",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
    if response.status_code >= 400:
        try:
            detail = str(response.json().get("detail", ""))
        except ValueError:
            detail = response.reason_phrase
        raise RerunRefused(response.status_code, detail[:300])
    return str(response.json()["dag_run_id"])
