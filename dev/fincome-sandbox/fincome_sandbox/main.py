"""Assemble the sandbox application: one router per resource, the inspection router, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from fincome_sandbox.config import FaultOptions
from fincome_sandbox.dependencies import require_api_key
from fincome_sandbox.middleware import SandboxMiddleware
from fincome_sandbox.routers import (
    credit_notes,
    customers,
    invoices,
    products,
    sandbox,
    subscriptions,
)
from fincome_sandbox.routers._records import COMMON_RESPONSES
from fincome_sandbox.state import SandboxState
from fincome_sandbox.store import RecordStore

TITLE = "Fincome API (v1)"
DESCRIPTION = (
    "Local sandbox of the Fincome API as fixed by `fincome-api-contract.md`: the request "
    "bodies are the project's pydantic models (`fincome_airflow.models`)."
)
#: The placeholder key of a sandbox built only to render its OpenAPI document.
OPENAPI_ONLY_KEY = "openapi-only"


def build_api(state: SandboxState) -> FastAPI:
    """Return the FastAPI application serving the contract on ``state``."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.store.close()

    api = FastAPI(title=TITLE, version="1", description=DESCRIPTION, lifespan=lifespan)
    api.state.sandbox = state
    routers = (customers.router, subscriptions.router, invoices.router)
    routers += (products.products, products.plans, credit_notes.router)
    for router in routers:
        api.include_router(
            router, dependencies=[Depends(require_api_key)], responses=COMMON_RESPONSES
        )
    api.include_router(sandbox.router)
    return api


def create_app(
    api_key: str, options: FaultOptions | None = None, db: str | None = None
) -> SandboxMiddleware:
    """Return the ASGI application to serve: the API wrapped in statistics and faults."""
    state = SandboxState(
        api_key=api_key, start_options=options or FaultOptions(), store=RecordStore(db)
    )
    return SandboxMiddleware(build_api(state), state)


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document the sandbox serves at ``/openapi.json``."""
    return create_app(OPENAPI_ONLY_KEY).app.openapi()
