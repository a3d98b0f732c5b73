"""Who may see the page and rerun a month: Airflow's auth manager decides.

Reading needs read access to the DAG, rerunning the right to trigger it (create a DAG run).
No credentials: 401; credentials without the right: 403 (``requires_access_dag``).
"""

from __future__ import annotations

import os
from typing import Final

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import HTTPException, Request, status

#: The DAG whose runs the page shows and triggers.
DAG_ID: Final = os.environ.get("FINCOME_UI_DAG_ID", "fincome_monthly_load")

#: Dependency: the user may read the DAG (its runs).
can_read = requires_access_dag("GET", param_dag_id=DAG_ID)
#: Dependency: the user may create runs of the DAG.
can_trigger = requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=DAG_ID)


def user_token(request: Request) -> str:
    """The caller's own Airflow token (bearer header, else the UI's cookie), to act as them."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    return token


def same_origin(request: Request) -> None:
    """Refuse a state-changing request sent by another site's page (the cookie would follow)."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site request refused")


async def may_trigger(user: GetUserDep) -> bool:
    """Whether the page offers the rerun form (the rerun endpoint checks again)."""
    return get_auth_manager().is_authorized_dag(
        method="POST",
        access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=DAG_ID),
        user=user,
    )
