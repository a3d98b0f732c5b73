"""Dependencies shared by the routers: the state database and where the page is mounted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from sqlalchemy.engine import Connection, Engine

from fincome_airflow.month import MONTH_PATTERN
from fincome_airflow.ui import URL_PREFIX
from fincome_airflow.ui.state import state_engine


def get_engine() -> Engine:
    """The state database (tests override this dependency)."""
    return state_engine()


StateEngine = Annotated[Engine, Depends(get_engine)]


def state_connection(engine: StateEngine) -> Iterator[Connection]:
    """A read connection to the state database, for one request."""
    with engine.connect() as conn:
        yield conn


@dataclass(frozen=True)
class Paths:
    """``base``: the app's own root (``/fincome``); ``airflow``: the Airflow UI's root."""

    base: str
    airflow: str


def paths(request: Request) -> Paths:
    base = str(request.scope.get("root_path", "")).rstrip("/")
    return Paths(base=base, airflow=base.removesuffix(URL_PREFIX))


def no_such_month(month: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"No run of {month} in the state database")


StateConn = Annotated[Connection, Depends(state_connection)]
PagePaths = Annotated[Paths, Depends(paths)]
Month = Annotated[str, Path(pattern=MONTH_PATTERN, description="Billing month, YYYY-MM")]
