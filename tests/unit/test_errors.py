"""classify(): every answer of the contract, and the reason extracted from a 422."""

from __future__ import annotations

import pytest
import requests

from fincome_airflow.hooks.answers import (
    AnswerClass,
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
    ("status", "method", "answer_class", "kind"),
    [
        pytest.param(201, "POST", AnswerClass.SUCCESS, "created", id="201-post-created"),
        pytest.param(200, "POST", AnswerClass.SUCCESS, "updated", id="200-post-updated"),
        pytest.param(204, "DELETE", AnswerClass.SUCCESS, "deleted", id="204-delete-deleted"),
        pytest.param(200, "GET", AnswerClass.SUCCESS, None, id="200-get-found"),
        pytest.param(404, "GET", AnswerClass.ABSENT, "absent", id="404-get-absent"),
        pytest.param(404, "DELETE", AnswerClass.ABSENT, "absent", id="404-delete-absent"),
        pytest.param(404, "POST", AnswerClass.REJECT, "rejected", id="404-post-rejected"),
        pytest.param(422, "POST", AnswerClass.REJECT, "rejected", id="422-rejected"),
        pytest.param(400, "POST", AnswerClass.REJECT, "rejected", id="400-rejected"),
        pytest.param(401, "POST", AnswerClass.CONFIG_ERROR, None, id="401-config"),
        pytest.param(403, "GET", AnswerClass.CONFIG_ERROR, None, id="403-config"),
        pytest.param(429, "POST", AnswerClass.RATE_LIMITED, None, id="429-rate-limited"),
        pytest.param(408, "POST", AnswerClass.RETRY, None, id="408-retry"),
        pytest.param(500, "POST", AnswerClass.RETRY, None, id="500-retry"),
        pytest.param(502, "GET", AnswerClass.RETRY, None, id="502-retry"),
        pytest.param(503, "DELETE", AnswerClass.RETRY, None, id="503-retry"),
        pytest.param(599, "POST", AnswerClass.RETRY, None, id="unknown-5xx-retry"),
        pytest.param(418, "POST", AnswerClass.REJECT, "rejected", id="unknown-4xx-rejected"),
    ],
)
def test_classify_maps_status(status, method, answer_class, kind):
    verdict = classify(make_response(status), method)

    assert verdict.answer_class is answer_class
    assert verdict.kind == kind
    assert verdict.http_status == status


@pytest.mark.parametrize(
    ("exc", "answer_class"),
    [
        pytest.param(requests.ConnectTimeout(), AnswerClass.RETRY, id="connect-timeout"),
        pytest.param(requests.ReadTimeout(), AnswerClass.RETRY, id="read-timeout"),
        pytest.param(requests.ConnectionError(), AnswerClass.RETRY, id="connection-error"),
        pytest.param(requests.exceptions.ChunkedEncodingError(), AnswerClass.RETRY, id="dropped"),
        pytest.param(requests.exceptions.MissingSchema(), AnswerClass.CONFIG_ERROR, id="no-scheme"),
        pytest.param(requests.exceptions.InvalidURL(), AnswerClass.CONFIG_ERROR, id="bad-url"),
        pytest.param(requests.RequestException(), AnswerClass.RETRY, id="other-transport"),
        pytest.param(RuntimeError(), AnswerClass.RETRY, id="unexpected"),
    ],
)
def test_classify_maps_exceptions(exc, answer_class):
    verdict = classify(exc, "POST")

    assert verdict.answer_class is answer_class
    assert verdict.http_status is None


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

    verdict = classify(make_response(422, json_body=body), "POST")

    assert verdict.message == (
        "422: subscription_id: subscription not found; lines.0.net_amount: field required"
    )
    assert "SECRET-INPUT" not in verdict.message


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
    verdict = classify(make_response(422, text="<html>oops</html>"), "POST")

    assert verdict.message == "422: validation error"


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
    verdict = classify(make_response(429, headers={"Retry-After": "7"}), "POST")

    assert verdict.retry_after == 7.0
