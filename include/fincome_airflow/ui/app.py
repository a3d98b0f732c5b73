"""The operations app: assembles the routers behind Airflow's auth (read access to the DAG)."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from fincome_airflow.ui.access import can_read
from fincome_airflow.ui.routes import month, months, rerun

log = logging.getLogger(__name__)


def _state_unreachable(_request: Request, exc: Exception) -> JSONResponse:
    # Never the exception text: a driver message may carry the connection's host or user.
    log.warning("Fincome loads page: state database error (%s)", type(exc).__name__)
    return JSONResponse(
        {"detail": "The state database (connection fincome_state) cannot be read right now."},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


def create_app() -> FastAPI:
    app = FastAPI(
        title="Fincome loads",
        description="The data team's operations page: billing months, runs, rejects, differences.",
        dependencies=[Depends(can_read)],
    )
    for router in (months.router, month.router, rerun.router):
        app.include_router(router)
    app.add_exception_handler(SQLAlchemyError, _state_unreachable)
    return app
