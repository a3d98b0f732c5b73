"""``/_sandbox``: inspection and control endpoints outside the contract.

They need the same API key as the contract endpoints, except ``GET /_sandbox/health``; they
are neither counted in the statistics nor subject to injected faults, and stay out of the
OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from fincome_sandbox.config import ResetRequest
from fincome_sandbox.dependencies import StateDep, require_api_key

router = APIRouter(prefix="/_sandbox", tags=["sandbox"], include_in_schema=False)
guarded = APIRouter(dependencies=[Depends(require_api_key)])


@router.get("/health")
async def health() -> dict[str, str]:
    """Answer ``{"status": "ok"}`` once the server accepts requests (no key needed)."""
    return {"status": "ok"}


@guarded.get("/stats")
async def stats(state: StateDep) -> dict[str, Any]:
    """Return the request statistics since the last reset."""
    return state.stats.snapshot()


@guarded.post("/stats/reset")
async def reset_stats(state: StateDep) -> dict[str, Any]:
    """Zero the statistics (the store and fault options are kept)."""
    state.stats.reset()
    return state.stats.snapshot()


@guarded.post("/reset")
async def reset(state: StateDep, body: ResetRequest | None = None) -> dict[str, Any]:
    """Clear the store (unless ``clear_store`` is false) and the statistics; set fault options.

    Options left out of the body go back to their values at start; the answer is the options now
    in force.
    """
    body = body or ResetRequest()
    state.configure(body.apply_to(state.start_options))
    if body.clear_store:
        state.store.clear()
    state.stats.reset()
    return state.faults.options.model_dump()


@guarded.get("/options")
async def options(state: StateDep) -> dict[str, Any]:
    """Return the fault options in force."""
    return state.faults.options.model_dump()


@guarded.get("/dump")
async def dump(state: StateDep) -> dict[str, Any]:
    """Return every record per resource, keyed and ordered by id, as ``GET`` answers them."""
    return state.store.dump()


router.include_router(guarded)
