"""Classify Fincome answers: what a status code or a transport error means for the caller.

Mapping as data (after Airbyte's ``DEFAULT_ERROR_MAPPING``), a small :class:`AnswerClass`
vocabulary and one pure :func:`classify` returning a :class:`Verdict`; the hook acts on the
verdict and never decides by itself.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal

import requests

from fincome_airflow import contract

OutcomeKind = Literal["created", "updated", "deleted", "absent", "rejected", "failed"]


class AnswerClass(enum.Enum):
    """The class an answer falls in, which says what the caller does with it."""

    SUCCESS = "success"
    ABSENT = "absent"  # 404 on a read or a delete: the record is not there
    REJECT = "reject"  # the record is refused (422 and other 4xx): never retried
    CONFIG_ERROR = "config_error"  # 401/403, unusable URL: stop the task, no retry at all
    RATE_LIMITED = "rate_limited"  # 429: wait Retry-After, pause the shared budget, retry
    RETRY = "retry"  # 5xx, 408, connection errors, timeouts: back off and retry


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict on one answer. ``message`` may quote the server and must be scrubbed."""

    answer_class: AnswerClass
    message: str
    http_status: int | None = None
    kind: OutcomeKind | None = None
    retry_after: float | None = None


#: Status codes and transport exceptions -> (answer class, user message). Exceptions match by MRO.
ERROR_MAPPING: Final[Mapping[int | type[BaseException], tuple[AnswerClass, str]]] = {
    400: (AnswerClass.REJECT, "bad request"),
    401: (
        AnswerClass.CONFIG_ERROR,
        "the API key was refused (401): check the connection's password",
    ),
    403: (AnswerClass.CONFIG_ERROR, "the API key lacks permission (403)"),
    404: (AnswerClass.REJECT, "not found"),
    405: (AnswerClass.CONFIG_ERROR, "method not allowed (405): check the connection's base URL"),
    408: (AnswerClass.RETRY, "request timeout (408)"),
    409: (AnswerClass.REJECT, "conflict"),
    413: (AnswerClass.REJECT, "payload too large"),
    contract.STATUS_UNPROCESSABLE: (AnswerClass.REJECT, "validation error"),
    contract.STATUS_RATE_LIMITED: (AnswerClass.RATE_LIMITED, "rate limited (429)"),
    requests.exceptions.InvalidURL: (AnswerClass.CONFIG_ERROR, "invalid base URL"),
    requests.exceptions.MissingSchema: (AnswerClass.CONFIG_ERROR, "base URL misses http(s)://"),
    requests.exceptions.InvalidSchema: (
        AnswerClass.CONFIG_ERROR,
        "base URL has an unusable scheme",
    ),
    requests.exceptions.Timeout: (AnswerClass.RETRY, "timed out"),
    requests.exceptions.ConnectionError: (AnswerClass.RETRY, "connection error"),
    requests.exceptions.ChunkedEncodingError: (AnswerClass.RETRY, "connection dropped mid-answer"),
    requests.exceptions.RequestException: (AnswerClass.RETRY, "transport error"),
}

#: Successful answers per HTTP method (contract: 201 created / 200 updated on upsert).
SUCCESS_KINDS: Final[Mapping[tuple[str, int], OutcomeKind | None]] = {
    ("POST", contract.STATUS_CREATED): "created",
    ("POST", contract.STATUS_UPDATED): "updated",
    ("POST", 202): "updated",
    ("DELETE", contract.STATUS_DELETED): "deleted",
    ("DELETE", 200): "deleted",
    ("DELETE", 202): "deleted",
}

#: Methods for which 404 means "absent" rather than a refused request.
ABSENT_ON_404: Final = frozenset({"GET", "DELETE"})
MAX_REASON_LENGTH: Final = 300


def classify(answer: requests.Response | BaseException, method: str = "GET") -> Verdict:
    """Decide what an answer (or the exception raised instead of one) means; never raises."""
    if isinstance(answer, BaseException):
        return _classify_exception(answer)
    status = answer.status_code
    method = method.upper()
    if 200 <= status < 300:
        return Verdict(AnswerClass.SUCCESS, "ok", status, SUCCESS_KINDS.get((method, status)))
    if status == 404 and method in ABSENT_ON_404:
        return Verdict(AnswerClass.ABSENT, "absent", status, "absent")
    answer_class, message = ERROR_MAPPING.get(status, _fallback(status))
    if status == contract.STATUS_UNPROCESSABLE:
        message = reason_from_detail(_json_or_none(answer)) or message
    kind: OutcomeKind | None = "rejected" if answer_class is AnswerClass.REJECT else None
    retry_after = None
    if answer_class is AnswerClass.RATE_LIMITED:
        retry_after = parse_retry_after(answer.headers.get(contract.RETRY_AFTER_HEADER))
    return Verdict(answer_class, f"{status}: {message}", status, kind, retry_after)


def _fallback(status: int) -> tuple[AnswerClass, str]:
    if status >= 500:
        return AnswerClass.RETRY, f"server error ({status})"
    if 400 <= status < 500:
        return AnswerClass.REJECT, f"refused ({status})"
    return AnswerClass.RETRY, f"unexpected answer ({status})"


def _classify_exception(exc: BaseException) -> Verdict:
    for cls in type(exc).__mro__:
        if cls in ERROR_MAPPING:
            answer_class, message = ERROR_MAPPING[cls]
            return Verdict(answer_class, f"{message}: {type(exc).__name__}")
    return Verdict(AnswerClass.RETRY, f"unexpected error: {type(exc).__name__}")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def reason_from_detail(body: Any) -> str | None:
    """Turn a FastAPI-style ``{"detail": [...]}`` into ``"field: msg; field: msg"``.

    Only ``loc`` and ``msg`` are kept: ``input`` and ``ctx`` may echo what was sent.
    """
    if not isinstance(body, Mapping):
        return None
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail[:MAX_REASON_LENGTH]
    if not isinstance(detail, list):
        return None
    parts = []
    for item in detail:
        if not isinstance(item, Mapping):
            continue
        loc = [str(p) for p in item.get("loc") or [] if p != "body"]
        field = ".".join(loc) or "body"
        parts.append(f"{field}: {item.get('msg', 'invalid')}")
    return "; ".join(parts)[:MAX_REASON_LENGTH] or None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as dt

    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
