"""Handler bodies shared by the resource routers: upsert, read, delete, list, 422 errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import HTTPException, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from fincome_airflow import contract
from fincome_sandbox.schemas import PAGE_MODELS, RECORD_MODELS, Message
from fincome_sandbox.store import Record, RecordStore

#: Answers every contract endpoint may give, for the OpenAPI document.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Message, "description": "Missing or wrong API key"},
    contract.STATUS_RATE_LIMITED: {
        "model": Message,
        "description": f"Rate limited; retry after `{contract.RETRY_AFTER_HEADER}` seconds",
    },
    503: {"model": Message, "description": "Transient server error"},
}


def upsert_responses(resource: str) -> dict[int | str, dict[str, Any]]:
    """Return the documented answers of ``POST /{resource}``."""
    record = RECORD_MODELS[resource]
    return {
        contract.STATUS_CREATED: {"model": record, "description": "Created"},
        contract.STATUS_UPDATED: {"model": record, "description": "Updated (same id)"},
    }


def read_responses(resource: str) -> dict[int | str, dict[str, Any]]:
    """Return the documented answers of ``GET /{resource}/{id}``."""
    return {200: {"model": RECORD_MODELS[resource]}, 404: {"model": Message}}


def list_responses(resource: str) -> dict[int | str, dict[str, Any]]:
    """Return the documented answers of ``GET /{resource}``."""
    return {200: {"model": PAGE_MODELS[resource]}}


DELETE_RESPONSES: dict[int | str, dict[str, Any]] = {
    contract.STATUS_DELETED: {"description": "Deleted"},
    404: {"model": Message},
}


def json_response(content: Any, status_code: int) -> Response:
    """Return a JSON answer built without FastAPI's response-model machinery (cheap)."""
    body = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content=body, status_code=status_code, media_type="application/json")


def reference_error(
    field: str, message: str, value: Any, kind: str = "reference_not_found"
) -> dict[str, Any]:
    """Return one 422 ``detail`` item about a reference field of the body."""
    return {"loc": ("body", field), "msg": message, "type": kind, "input": value}


def raise_if_errors(errors: list[dict[str, Any]]) -> None:
    """Answer 422 with FastAPI's ``{"detail": [...]}`` when ``errors`` is not empty."""
    if errors:
        raise RequestValidationError(errors)


def raise_validation_error(exc: ValidationError) -> None:
    """Answer 422 for a pydantic error found after FastAPI's own body validation."""
    raise RequestValidationError(
        [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_context=False)
        ]
    )


def upsert(store: RecordStore, resource: str, body: BaseModel) -> Response:
    """Store a validated body; answer 201 when created, 200 when updated."""
    record, created = store.upsert(resource, body.model_dump(mode="json"))
    status = contract.STATUS_CREATED if created else contract.STATUS_UPDATED
    return json_response(record, status)


def find(store: RecordStore, resource: str, record_id: str) -> Record:
    """Return a stored record, or answer 404."""
    record = store.get(resource, record_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"{resource.removesuffix('s')} not found")
    return record


def read(store: RecordStore, resource: str, record_id: str) -> Response:
    """Answer one record (200) or 404."""
    return json_response(find(store, resource, record_id), 200)


def remove(store: RecordStore, resource: str, record_id: str) -> Response:
    """Delete one record (204) or answer 404."""
    if not store.delete(resource, record_id):
        raise HTTPException(status_code=404, detail=f"{resource.removesuffix('s')} not found")
    return Response(status_code=contract.STATUS_DELETED)


def list_page(
    store: RecordStore,
    resource: str,
    limit: int,
    starting_after: str | None,
    keep: Callable[[Record], bool] | None = None,
) -> Response:
    """Answer one page ``{"data": [...], "has_more": bool}``, ordered by id."""
    data, has_more = store.page(resource, limit, starting_after, keep)
    return json_response({"data": data, "has_more": has_more}, 200)


RecordId = Annotated[str, Path(description="The record's id (URL-encoded)")]
LimitQuery = Annotated[
    int,
    Query(alias=contract.LIST_LIMIT_PARAM, ge=1, le=contract.LIST_MAX_LIMIT),
]
CursorQuery = Annotated[
    str | None,
    Query(alias=contract.LIST_CURSOR_PARAM, description="Answer the records after this id"),
]
