"""Dependencies of the routers: API-key authentication and access to the store."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from fincome_airflow import contract
from fincome_sandbox.state import SandboxState
from fincome_sandbox.store import RecordStore

#: The OpenAPI security scheme is named ``APIKey``, as in Fincome's reference.
api_key_header = APIKeyHeader(
    name=contract.DEFAULT_API_KEY_HEADER, scheme_name="APIKey", auto_error=False
)


def get_state(request: Request) -> SandboxState:
    """Return the running sandbox's state."""
    return request.app.state.sandbox


async def require_api_key(
    request: Request, api_key: Annotated[str | None, Security(api_key_header)]
) -> None:
    """Answer 401 unless the request carries the sandbox's API key."""
    expected = get_state(request).api_key
    if api_key is None or not secrets.compare_digest(api_key.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="Invalid or missing API key")


def get_store(request: Request) -> RecordStore:
    """Return the record store."""
    return get_state(request).store


StateDep = Annotated[SandboxState, Depends(get_state)]
StoreDep = Annotated[RecordStore, Depends(get_store)]
