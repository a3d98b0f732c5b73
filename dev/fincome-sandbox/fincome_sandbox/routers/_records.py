"""What the resource routers share: the router factory, the handler bodies, 422 errors.

No ``from __future__ import annotations`` here: :func:`record_router` annotates its endpoints
with the resource's model, a local variable that FastAPI could not resolve from a string.
"""

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from fincome_airflow import contract
from fincome_sandbox.config import FaultOptions
from fincome_sandbox.dependencies import StateDep, StoreDep
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


def conflict_responses() -> dict[int | str, dict[str, Any]]:
    """Return the documented answers of a ``DELETE`` that other records may hold back."""
    return {
        **DELETE_RESPONSES,
        contract.STATUS_CONFLICT: {"model": Message, "description": "Still referenced"},
    }


def json_response(content: Any, status_code: int) -> Response:
    """Return a JSON answer built without FastAPI's response-model machinery (cheap)."""
    body = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content=body, status_code=status_code, media_type="application/json")


def reference_error(
    field: str | tuple[str | int, ...],
    message: str,
    value: Any,
    kind: str = "reference_not_found",
) -> dict[str, Any]:
    """Return one 422 ``detail`` item about a (reference) field of the body."""
    loc = ("body", field) if isinstance(field, str) else ("body", *field)
    return {"loc": loc, "msg": message, "type": kind, "input": value}


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


def not_found(resource: str) -> HTTPException:
    """Return the 404 of a record of ``resource`` that is not stored."""
    return HTTPException(status_code=404, detail=f"{resource.removesuffix('s')} not found")


def find(store: RecordStore, resource: str, record_id: str) -> Record:
    """Return a stored record, or answer 404."""
    record = store.get(resource, record_id)
    if record is None:
        raise not_found(resource)
    return record


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
DateFromQuery = Annotated[
    dt.date | None,
    Query(alias=contract.ISSUE_DATE_FROM_PARAM, description="issue_date on or after"),
]
DateToQuery = Annotated[
    dt.date | None,
    Query(alias=contract.ISSUE_DATE_TO_PARAM, description="issue_date strictly before"),
]
#: ``check_references(store, body, options)`` answers 422 before a body is upserted.
CheckReferences = Callable[[RecordStore, Any, FaultOptions], None]


def add_dated_list(router: APIRouter, resource: str, doc: str) -> None:
    """Add ``GET /{resource}``: the list, filtered on ``[issue_date_gte, issue_date_lt)``."""

    @router.get(
        "", name=f"list_{resource}", description=doc, response_model=None,
        responses=list_responses(resource),
    )  # fmt: skip
    async def list_dated(
        store: StoreDep,
        limit: LimitQuery = contract.LIST_MAX_LIMIT,
        starting_after: CursorQuery = None,
        issue_date_gte: DateFromQuery = None,
        issue_date_lt: DateToQuery = None,
    ) -> Response:
        keep = None
        if issue_date_gte is not None or issue_date_lt is not None:
            low = issue_date_gte.isoformat() if issue_date_gte else None
            high = issue_date_lt.isoformat() if issue_date_lt else None

            def keep(record: Record) -> bool:
                issued = record["issue_date"]
                return (low is None or issued >= low) and (high is None or issued < high)

        return list_page(store, resource, limit, starting_after, keep)


def record_router(
    resource: str,
    model: type[BaseModel],
    *,
    item: str,
    check_references: CheckReferences,
    upsert_doc: str,
    read_doc: str,
    delete_doc: str,
    list_doc: str | None,
    check_delete: Callable[[RecordStore, str], None] | None = None,
) -> APIRouter:
    """Return the router of ``/{resource}``: upsert, list, read and delete by id.

    ``item`` names the endpoints (``upsert_{item}``, ``get_{item}``, ``delete_{item}``,
    ``list_{resource}``), hence the OpenAPI operation ids and summaries; the ``*_doc`` are their
    descriptions. ``check_references`` answers 422 (:func:`raise_if_errors`) before a body
    whose references are not stored is upserted; ``check_delete`` (if any) answers 409 before
    a record that others still reference is deleted. With ``list_doc=None`` the list endpoint
    is left to the caller (a resource whose list takes more query parameters).
    """
    router = APIRouter(prefix=f"/{resource}", tags=[resource])

    @router.post(
        "",
        name=f"upsert_{item}",
        description=upsert_doc,
        status_code=contract.STATUS_CREATED,
        response_model=None,
        responses=upsert_responses(resource),
    )
    async def upsert_record(body: model, state: StateDep) -> Response:  # type: ignore[valid-type]
        check_references(state.store, body, state.faults.options)
        record, created = state.store.upsert(resource, body.model_dump(mode="json"))
        status = contract.STATUS_CREATED if created else contract.STATUS_UPDATED
        return json_response(record, status)

    if list_doc is not None:

        @router.get(
            "",
            name=f"list_{resource}",
            description=list_doc,
            response_model=None,
            responses=list_responses(resource),
        )
        async def list_records(
            store: StoreDep,
            limit: LimitQuery = contract.LIST_MAX_LIMIT,
            starting_after: CursorQuery = None,
        ) -> Response:
            return list_page(store, resource, limit, starting_after)

    @router.get(
        "/{record_id:path}",
        name=f"get_{item}",
        description=read_doc,
        response_model=None,
        responses=read_responses(resource),
    )
    async def get_record(record_id: RecordId, store: StoreDep) -> Response:
        return json_response(find(store, resource, record_id), 200)

    @router.delete(
        "/{record_id:path}",
        name=f"delete_{item}",
        description=delete_doc,
        status_code=contract.STATUS_DELETED,
        response_model=None,
        responses=DELETE_RESPONSES if check_delete is None else conflict_responses(),
    )
    async def delete_record(record_id: RecordId, store: StoreDep) -> Response:
        if check_delete is not None and store.get(resource, record_id) is not None:
            check_delete(store, record_id)
        if not store.delete(resource, record_id):
            raise not_found(resource)
        return Response(status_code=contract.STATUS_DELETED)

    return router
