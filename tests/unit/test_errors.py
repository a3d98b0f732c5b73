"""classify(): every answer of the contract, and the reason extracted from a 422."""

from __future__ import annotations

import pytest
import requests

from fincome_airflow.errors import (
    Action,
    classify,
    parse_retry_after,
    reason_from_detail,
)


def make_response(status: int, *, json_body=None, headers=None, text=None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    if json_body is not None:
        import json

        response._content = json.dumps(json_body).encode()
    else:
        response._content = (text or "").encode()
    return response


@pytest.mark.parametrize(
    ("status", "method", "action", "kind"),
    [
        pytest.param(201, "POST", Action.SUCCESS, "created", id="201-post-created"),
        pytest.param(200, "POST", Action.SUCCESS, "updated", id="200-post-updated"),
        pytest.param(204, "DELETE", Action.SUCCESS, "deleted", id="204-delete-deleted"),
        pytest.param(200, "GET", Action.SUCCESS, None, id="200-get-found"),
        pytest.param(404, "GET", Action.ABSENT, "absent", id="404-get-absent"),
        pytest.param(404, "DELETE", Action.ABSENT, "absent", id="404-delete-absent"),
        pytest.param(404, "POST", Action.REJECT, "rejected", id="404-post-rejected"),
        pytest.param(422, "POST", Action.REJECT, "rejected", id="422-rejected"),
        pytest.param(400, "POST", Action.REJECT, "rejected", id="400-rejected"),
        pytest.param(401, "POST", Action.CONFIG_ERROR, None, id="401-config"),
        pytest.param(403, "GET", Action.CONFIG_ERROR, None, id="403-config"),
        pytest.param(429, "POST", Action.RATE_LIMITED, None, id="429-rate-limited"),
        pytest.param(408, "POST", Action.RETRY, None, id="408-retry"),
        pytest.param(500, "POST", Action.RETRY, None, id="500-retry"),
        pytest.param(502, "GET", Action.RETRY, None, id="502-retry"),
        pytest.param(503, "DELETE", Action.RETRY, None, id="503-retry"),
        pytest.param(599, "POST", Action.RETRY, None, id="unknown-5xx-retry"),
        pytest.param(418, "POST", Action.REJECT, "rejected", id="unknown-4xx-rejected"),
    ],
)
def test_classify_maps_status(status, method, action, kind):
    resolution = classify(make_response(status), method)

    assert resolution.action is action
    assert resolution.kind == kind
    assert resolution.http_status == status


@pytest.mark.parametrize(
    ("exc", "action"),
    [
        pytest.param(requests.ConnectTimeout(), Action.RETRY, id="connect-timeout"),
        pytest.param(requests.ReadTimeout(), Action.RETRY, id="read-timeout"),
        pytest.param(requests.ConnectionError(), Action.RETRY, id="connection-error"),
        pytest.param(requests.exceptions.ChunkedEncodingError(), Action.RETRY, id="dropped"),
        pytest.param(requests.exceptions.MissingSchema(), Action.CONFIG_ERROR, id="no-scheme"),
        pytest.param(requests.exceptions.InvalidURL(), Action.CONFIG_ERROR, id="bad-url"),
        pytest.param(requests.RequestException(), Action.RETRY, id="other-transport"),
        pytest.param(RuntimeError(), Action.RETRY, id="unexpected"),
    ],
)
def test_classify_maps_exceptions(exc, action):
    resolution = classify(exc, "POST")

    assert resolution.action is action
    assert resolution.http_status is None


def test_classify_422_reason_keeps_field_and_msg_but_not_the_echoed_input():
    body = {
        "detail": [
            {
                "loc": ["body", "subscription_id"],
                "msg": "subscription not found",
                "type": "reference_not_found",
                "input": "SECRET-INPUT",
            },
            {"loc": ["body", "lines", 0, "net_amount"], "msg": "field required"},
        ]
    }

    resolution = classify(make_response(422, json_body=body), "POST")

    assert resolution.message == (
        "422: subscription_id: subscription not found; lines.0.net_amount: field required"
    )
    assert "SECRET-INPUT" not in resolution.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"detail": "Not a JSON object"}, "Not a JSON object", id="string-detail"),
        pytest.param({"detail": []}, None, id="empty-list"),
        pytest.param({"other": 1}, None, id="no-detail"),
        pytest.param(["x"], None, id="not-a-mapping"),
        pytest.param({"detail": [{"loc": ["body"], "msg": "bad"}]}, "body: bad", id="body-loc"),
    ],
)
def test_reason_from_detail(body, expected):
    assert reason_from_detail(body) == expected


def test_classify_422_without_json_body_uses_generic_reason():
    resolution = classify(make_response(422, text="<html>oops</html>"), "POST")

    assert resolution.message == "422: validation error"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("3", 3.0, id="seconds"),
        pytest.param("1.5", 1.5, id="fractional"),
        pytest.param("-4", 0.0, id="negative-clamped"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="past-http-date"),
        pytest.param("soon", None, id="garbage"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_classify_429_carries_retry_after():
    resolution = classify(make_response(429, headers={"Retry-After": "7"}), "POST")

    assert resolution.retry_after == 7.0
