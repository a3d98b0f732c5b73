"""The connection list's *Test* button on ``fincome`` connections, in real Chromium.

Airflow 3.3.2's button posts an empty port as 0, which the API refuses as "Bad Request"; the
plugin's middleware takes port 0 as none (``fincome_airflow/ui/port_zero.py``). Each way a test
fails gets a sentence naming the key, the URL or the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.browser import chromium, new_page, require_chromium, screenshot

from fincome_dev.airflow_env import AirflowRuntime, free_port

pytestmark = pytest.mark.timeout(600)

WRONG_KEY = "wrong-key-5f3a9c"


@pytest.fixture(scope="module")
def connections(airflow: AirflowRuntime, sandbox_session) -> Iterator[dict[str, str]]:
    require_chromium()
    hosts = {
        "fincome_ui_ok": (sandbox_session.base_url, sandbox_session.api_key),
        "fincome_ui_bad_key": (sandbox_session.base_url, WRONG_KEY),
        "fincome_ui_bad_url": (f"{sandbox_session.base_url}/nowhere", sandbox_session.api_key),
        "fincome_ui_down": (f"http://127.0.0.1:{free_port()}", sandbox_session.api_key),
    }
    for conn_id, (host, key) in hosts.items():
        airflow.cli(
            "connections", "add", conn_id, "--conn-type", "fincome", "--conn-host", host,
            "--conn-password", key,
        )  # fmt: skip
    airflow.start("api-server", env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"})
    try:
        airflow.wait_for_api()
        yield {conn_id: host for conn_id, (host, _) in hosts.items()}
    finally:
        airflow.stop("api-server")
        for conn_id in hosts:
            airflow.cli("connections", "delete", conn_id, check=False)


@pytest.fixture(scope="module")
def browser(connections) -> Iterator[Any]:
    """One Chromium for the module's tests, each on a page of a context of its own."""
    with chromium() as launched:
        yield launched


def _test_button(airflow: AirflowRuntime, browser: Any, conn_id: str) -> tuple[str, dict]:
    """Click the row's *Test Connection*; return the toast's text and the API's answer."""
    with new_page(browser) as page:
        page.goto(f"{airflow.api_url}/connections")
        row = page.locator("tr", has_text=conn_id)
        with page.expect_response("**/api/v2/connections/test") as answer:
            row.get_by_label("Test Connection").click()
        toast = page.get_by_role("status").last
        toast.wait_for()
        text = page.locator("[data-scope=toast]").last.inner_text()
        screenshot(page, f"connection-test-{conn_id}")
        return text, answer.value.json()


def test_test_button_succeeds_on_a_good_connection(airflow, browser, sandbox_session):
    text, answer = _test_button(airflow, browser, "fincome_ui_ok")
    assert answer == {
        "status": True,
        "message": "Connection successfully tested: authenticated read of /customers",
    }
    assert "successfully tested" in text and sandbox_session.api_key not in text


@pytest.mark.parametrize(
    ("conn_id", "expected"),
    [
        pytest.param("fincome_ui_bad_key", "Fincome refused the API key (401)", id="bad-key"),
        pytest.param("fincome_ui_bad_url", "No Fincome API at http://", id="bad-url"),
        pytest.param("fincome_ui_down", "(connection refused): check the Base URL", id="down"),
    ],
)
def test_test_button_names_what_is_wrong(airflow, browser, conn_id, expected):
    text, answer = _test_button(airflow, browser, conn_id)
    assert answer["status"] is False and expected in answer["message"], answer
    assert expected in text and WRONG_KEY not in text
