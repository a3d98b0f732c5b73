import json

import pytest
import requests

from fincome_airflow.hooks.connection_test import explain_failure
from fincome_airflow.ui.port_zero import without_port_zero

BASE = "https://api.example.test/product"


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code, response.reason = status, "Reason"
    return response


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(_response(401), "Fincome refused the API key (401)", id="bad-key"),
        pytest.param(_response(403), "Fincome refused the API key (403)", id="forbidden"),
        pytest.param(_response(404), f"No Fincome API at {BASE} (404", id="bad-url"),
        pytest.param(_response(503), "Fincome answered 503 Reason", id="server-error"),
        pytest.param(
            requests.ConnectionError("[Errno 111] Connection refused"),
            "Cannot reach api.example.test (connection refused)",
            id="refused",
        ),
        pytest.param(
            requests.ConnectionError("NameResolutionError: failed to resolve"),
            "Cannot reach api.example.test (unknown host)",
            id="unknown-host",
        ),
        pytest.param(requests.ReadTimeout("timed out"), "did not answer in time", id="timeout"),
        pytest.param(requests.exceptions.InvalidURL("x"), "is not a URL", id="not-a-url"),
    ],
)
def test_explain_failure_names_the_key_the_url_or_the_network(answer, expected):
    assert expected in explain_failure(BASE, answer)


def test_port_zero_is_dropped_from_a_fincome_connection_test():
    body = json.dumps({"conn_type": "fincome", "connection_id": "x", "port": 0}).encode()
    assert json.loads(without_port_zero(body)) == {"conn_type": "fincome", "connection_id": "x"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"conn_type": "http", "port": 0}, id="other-type"),
        pytest.param({"conn_type": "fincome", "port": 8443}, id="real-port"),
        pytest.param({"conn_type": "fincome"}, id="no-port"),
    ],
)
def test_port_zero_leaves_every_other_body_as_it_is(body):
    raw = json.dumps(body).encode()
    assert without_port_zero(raw) == raw


def test_port_zero_leaves_a_body_that_is_not_json_as_it_is():
    assert without_port_zero(b"not json") == b"not json"
