"""Contract tests of the Fincome sandbox over real HTTP against a subprocess."""

from __future__ import annotations

import http.client
import json
import random
from pathlib import Path
from typing import Any

import pytest
import requests
from support.sample_records import INVOICE

import fincome_sandbox.main
from fincome_airflow import contract

HEADER = contract.DEFAULT_API_KEY_HEADER
OPENAPI_FILE = Path(fincome_sandbox.main.__file__).with_name("openapi.json")

CUSTOMER = {"id": "cus_1", "name": "Acme", "country": "FR", "custom_properties": {"tier": "gold"}}
SUBSCRIPTION = {
    "id": "sub_1",
    "customer_id": "cus_1",
    "status": "active",
    "start_date": "2024-01-01",
    "currency": "EUR",
    "monthly_value": "100.00",
}
BODY_BY_RESOURCE = {"customers": CUSTOMER, "subscriptions": SUBSCRIPTION, "invoices": INVOICE}


@pytest.fixture
def api(sandbox) -> requests.Session:
    """A keep-alive session on the session's sandbox, authenticated, with ``base_url`` set."""
    session = requests.Session()
    session.headers[HEADER] = sandbox.api_key
    session.base_url = sandbox.base_url
    yield session
    session.close()


def call(api: requests.Session, method: str, path: str, **kwargs: Any) -> requests.Response:
    return api.request(method, f"{api.base_url}{path}", timeout=10, **kwargs)


def seed_references(api: requests.Session) -> None:
    """Create ``cus_1`` and ``sub_1`` (the references of ``INVOICE``)."""
    assert call(api, "POST", "/customers", json=CUSTOMER).status_code == 201
    assert call(api, "POST", "/subscriptions", json=SUBSCRIPTION).status_code == 201


def with_changes(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Return a copy of ``body`` with fields changed; ``...`` removes a field."""
    result = json.loads(json.dumps(body))
    for key, value in changes.items():
        if value is ...:
            result.pop(key, None)
        else:
            result[key] = value
    return result


# --- upsert, read, delete -----------------------------------------------------------------


@pytest.mark.parametrize("resource", list(BODY_BY_RESOURCE))
def test_upsert_answers_201_then_200_and_stores_once_when_sent_twice(api, sandbox, resource):
    seed_references(api)
    body = BODY_BY_RESOURCE[resource]
    call(api, "DELETE", f"/{resource}/{body['id']}")

    first = call(api, "POST", f"/{resource}", json=body)
    second = call(api, "POST", f"/{resource}", json=body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert first.json()["id"] == body["id"]
    assert {"created_at", "updated_at"} <= first.json().keys()
    assert list(sandbox.dump()[resource]) == [body["id"]]


def test_upsert_replaces_the_record_and_keeps_created_at_when_the_id_exists(api):
    created = call(api, "POST", "/customers", json=CUSTOMER).json()
    updated = call(api, "POST", "/customers", json=with_changes(CUSTOMER, name="Acme SA"))

    assert updated.status_code == 200
    assert updated.json()["name"] == "Acme SA"
    assert updated.json()["created_at"] == created["created_at"]
    assert call(api, "GET", "/customers/cus_1").json()["name"] == "Acme SA"


def test_upsert_answers_the_stored_record_with_amounts_as_strings(api):
    seed_references(api)
    body = with_changes(INVOICE, net_amount=150, lines=...)

    stored = call(api, "POST", "/invoices", json=body).json()

    assert stored["net_amount"] == "150"
    assert stored["issue_date"] == "2024-01-31"


@pytest.mark.parametrize("resource", list(BODY_BY_RESOURCE))
def test_get_answers_200_then_404_after_delete(api, resource):
    seed_references(api)
    body = BODY_BY_RESOURCE[resource]
    call(api, "POST", f"/{resource}", json=body)

    got = call(api, "GET", f"/{resource}/{body['id']}")
    deleted = call(api, "DELETE", f"/{resource}/{body['id']}")
    gone = call(api, "GET", f"/{resource}/{body['id']}")
    deleted_again = call(api, "DELETE", f"/{resource}/{body['id']}")

    assert got.status_code == 200
    assert {k: got.json()[k] for k in body} == {
        k: v if k != "lines" else got.json()["lines"] for k, v in body.items()
    }
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert gone.status_code == 404
    assert gone.json() == {"detail": f"{resource[:-1]} not found"}
    assert deleted_again.status_code == 404


def test_get_finds_an_id_with_a_slash_and_a_space_when_url_encoded(api):
    call(api, "POST", "/customers", json=with_changes(CUSTOMER, id="a/b c"))

    got = call(api, "GET", contract.resource_path("customers", "a/b c"))

    assert got.status_code == 200
    assert got.json()["id"] == "a/b c"


def test_patch_customer_answers_202_and_changes_only_the_fields_sent(api):
    call(api, "POST", "/customers", json=CUSTOMER)

    patched = call(api, "PATCH", "/customers/cus_1", json={"email": "billing@acme.test"})

    assert patched.status_code == 202
    assert patched.json()["email"] == "billing@acme.test"
    assert patched.json()["name"] == "Acme"
    assert call(api, "PATCH", "/customers/nope", json={"name": "x"}).status_code == 404
    assert call(api, "PATCH", "/customers/cus_1", json={"country": "fr"}).status_code == 422


# --- validation rules of the models ---------------------------------------------------------

LINE_SUB = INVOICE["lines"][0]
LINE_ONE_OFF = INVOICE["lines"][1]


def case(case_id: str, resource: str, loc: str, **changes: Any) -> Any:
    """Return one table row: ``resource``'s valid body with ``changes``, the expected ``loc``.

    ``loc`` is dotted below ``body`` (``"lines.0.id"``); ``""`` is a whole-body (model) rule.
    """
    path = tuple(int(part) if part.isdigit() else part for part in loc.split(".") if part)
    body = with_changes(BODY_BY_RESOURCE[resource], **changes)
    return pytest.param(resource, body, ("body", *path), id=case_id)


def lines(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return list(items)


LINE_SUB = INVOICE["lines"][0]
LINE_ONE_OFF = INVOICE["lines"][1]

VALIDATION_CASES = [
    case("customer-id-missing", "customers", "id", id=...),
    case("customer-id-empty", "customers", "id", id=""),
    case("customer-id-too-long", "customers", "id", id="x" * 256),
    case("customer-id-control-char", "customers", "id", id="a\nb"),
    case("customer-id-not-a-string", "customers", "id", id=12),
    case("customer-name-missing", "customers", "name", name=...),
    case("customer-name-empty", "customers", "name", name=""),
    case("customer-name-over-1000-chars", "customers", "name", name="n" * 1001),
    case("customer-country-lower-case", "customers", "country", country="fr"),
    case("customer-country-unknown", "customers", "country", country="XX"),
    case("customer-country-alpha-3", "customers", "country", country="FRA"),
    case("customer-email-control-char", "customers", "email", email="a\x00b"),
    case("customer-properties-not-object", "customers", "custom_properties", custom_properties=[]),
    case("customer-unknown-field", "customers", "vat", vat="FR1"),
    case("customer-own-parent", "customers", "", root_parent_id="cus_1"),
    case("subscription-customer-missing", "subscriptions", "customer_id", customer_id=...),
    case("subscription-status-unknown", "subscriptions", "status", status="expired"),
    case("subscription-status-missing", "subscriptions", "status", status=...),
    case("subscription-start-missing", "subscriptions", "start_date", start_date=...),
    case("subscription-start-not-a-date", "subscriptions", "start_date", start_date="2024-13-01"),
    case("subscription-start-not-iso", "subscriptions", "start_date", start_date="01/02/2024"),
    case("subscription-start-before-1970", "subscriptions", "start_date", start_date="1969-12-31"),
    case("subscription-end-year-9999", "subscriptions", "end_date", end_date="9999-12-31"),
    case("subscription-end-before-start", "subscriptions", "", end_date="2023-12-31"),
    case("subscription-canceled-without-date", "subscriptions", "", status="canceled"),
    case(
        "subscription-canceled-before-start",
        "subscriptions",
        "",
        status="canceled",
        canceled_at="2023-06-01",
    ),
    case("subscription-currency-lower-case", "subscriptions", "currency", currency="eur"),
    case("subscription-currency-unknown", "subscriptions", "currency", currency="ABC"),
    case("subscription-currency-missing", "subscriptions", "currency", currency=...),
    case("subscription-value-negative", "subscriptions", "monthly_value", monthly_value="-1.00"),
    case("subscription-value-3-decimals", "subscriptions", "monthly_value", monthly_value="1.234"),
    case(
        "subscription-value-15-digits",
        "subscriptions",
        "monthly_value",
        monthly_value="1234567890123.45",
    ),
    case("subscription-value-nan", "subscriptions", "monthly_value", monthly_value="NaN"),
    case("subscription-value-not-a-number", "subscriptions", "monthly_value", monthly_value="ten"),
    case("invoice-issue-date-missing", "invoices", "issue_date", issue_date=...),
    case("invoice-subscription-missing", "invoices", "subscription_id", subscription_id=...),
    case("invoice-status-unknown", "invoices", "status", status="void"),
    case("invoice-net-missing", "invoices", "net_amount", net_amount=...),
    case("invoice-net-negative", "invoices", "net_amount", net_amount="-150.00", lines=...),
    case("invoice-tax-negative", "invoices", "tax_amount", tax_amount="-1"),
    case("invoice-due-before-issue", "invoices", "", due_date="2024-01-30"),
    case("invoice-lines-do-not-add-up", "invoices", "", net_amount="149.99"),
    case(
        "invoice-line-ids-duplicate",
        "invoices",
        "",
        lines=lines(LINE_SUB, with_changes(LINE_ONE_OFF, id="l1")),
    ),
    case("line-id-missing", "invoices", "lines.0.id", lines=lines(with_changes(LINE_SUB, id=...))),
    case(
        "line-type-unknown",
        "invoices",
        "lines.0.type",
        lines=lines(with_changes(LINE_SUB, type="recurring")),
    ),
    case(
        "line-subscription-without-period",
        "invoices",
        "lines.0",
        lines=lines(with_changes(LINE_SUB, period_end=...)),
    ),
    case(
        "line-period-empty",
        "invoices",
        "lines.0",
        lines=lines(with_changes(LINE_SUB, period_end="2024-01-01")),
    ),
    case(
        "line-period-reversed",
        "invoices",
        "lines.0",
        lines=lines(with_changes(LINE_SUB, period_end="2023-12-01")),
    ),
    case(
        "line-one-off-with-period",
        "invoices",
        "lines.1",
        lines=lines(LINE_SUB, with_changes(LINE_ONE_OFF, period_start="2024-01-01")),
    ),
    case(
        "line-quantity-zero",
        "invoices",
        "lines.0.quantity",
        lines=lines(with_changes(LINE_SUB, quantity="0")),
    ),
    case(
        "line-quantity-4-decimals",
        "invoices",
        "lines.0.quantity",
        lines=lines(with_changes(LINE_SUB, quantity="1.0001")),
    ),
    case(
        "line-net-missing",
        "invoices",
        "lines.0.net_amount",
        lines=lines(with_changes(LINE_SUB, net_amount=...)),
    ),
    case(
        "line-unknown-field",
        "invoices",
        "lines.0.discount",
        lines=lines(with_changes(LINE_SUB, discount="1")),
    ),
]


@pytest.mark.parametrize(("resource", "body", "loc"), VALIDATION_CASES)
def test_upsert_answers_422_with_the_field_in_loc_when_a_rule_is_violated(
    api, sandbox, resource, body, loc
):
    seed_references(api)
    before = sandbox.dump()

    answer = call(api, "POST", f"/{resource}", json=body)

    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert all({"loc", "msg", "type"} <= item.keys() for item in detail)
    assert any(tuple(item["loc"][: len(loc)]) == loc for item in detail), detail
    assert sandbox.dump() == before


ACCEPTED_CASES = [
    case("customer-minimal", "customers", "", email=..., country=..., custom_properties=...),
    case("customer-country-null", "customers", "", id="c2", country=None),
    case("customer-existing-parent", "customers", "", id="c3", root_parent_id="cus_1"),
    case("subscription-value-json-number", "subscriptions", "", monthly_value=99.5),
    case("subscription-canceled", "subscriptions", "", status="canceled", canceled_at="2024-06-01"),
    case("invoice-without-lines", "invoices", "", lines=...),
    case("invoice-due-on-issue-date", "invoices", "", due_date="2024-01-31", status="pending"),
    case("invoice-zero-with-no-lines", "invoices", "", net_amount="0.00", lines=[]),
]


@pytest.mark.parametrize(("resource", "body", "loc"), ACCEPTED_CASES)
def test_upsert_accepts_a_valid_body(api, resource, body, loc):
    seed_references(api)

    answer = call(api, "POST", f"/{resource}", json=body)

    assert answer.status_code in (200, 201), answer.text


def test_422_echoes_the_input_like_fastapi(api):
    answer = call(api, "POST", "/customers", json=with_changes(CUSTOMER, country="fr"))

    assert answer.json()["detail"][0]["input"] == "fr"


def test_422_when_the_body_is_not_json(api):
    answer = call(
        api, "POST", "/customers", data=b"{not json", headers={"content-type": "application/json"}
    )

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "json_invalid"


# --- reference rules --------------------------------------------------------------------------


def reference_errors(answer: requests.Response) -> list[tuple[tuple, str]]:
    assert answer.status_code == 422, answer.text
    return [(tuple(item["loc"]), item["type"]) for item in answer.json()["detail"]]


def test_customer_answers_422_when_the_parent_does_not_exist(api):
    answer = call(api, "POST", "/customers", json=with_changes(CUSTOMER, root_parent_id="ghost"))

    assert reference_errors(answer) == [(("body", "root_parent_id"), "reference_not_found")]


def test_subscription_answers_422_when_the_customer_does_not_exist(api):
    answer = call(api, "POST", "/subscriptions", json=SUBSCRIPTION)

    assert reference_errors(answer) == [(("body", "customer_id"), "reference_not_found")]
    assert answer.json()["detail"][0]["msg"] == "customer not found"


def test_invoice_answers_422_naming_both_fields_when_customer_and_subscription_are_missing(api):
    answer = call(api, "POST", "/invoices", json=INVOICE)

    assert reference_errors(answer) == [
        (("body", "customer_id"), "reference_not_found"),
        (("body", "subscription_id"), "reference_not_found"),
    ]


def test_invoice_answers_422_when_the_subscription_belongs_to_another_customer(api):
    seed_references(api)
    call(api, "POST", "/customers", json=with_changes(CUSTOMER, id="cus_2"))

    answer = call(api, "POST", "/invoices", json=with_changes(INVOICE, customer_id="cus_2"))

    assert reference_errors(answer) == [(("body", "subscription_id"), "reference_mismatch")]
    assert call(api, "GET", "/invoices/inv_1").status_code == 404


# --- lists ------------------------------------------------------------------------------------


def walk(api: requests.Session, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Return the pages of a list endpoint, following ``starting_after``."""
    pages, cursor = [], None
    while True:
        query = {**params, **({"starting_after": cursor} if cursor else {})}
        answer = call(api, "GET", path, params=query)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages.append(page["data"])
        if not page["has_more"]:
            return pages
        cursor = page["data"][-1]["id"]


def test_list_walks_250_customers_in_pages_of_100_ordered_by_id(api):
    ids = [f"cus_{n:04d}" for n in range(250)]
    for record_id in random.Random(1).sample(ids, len(ids)):
        assert call(api, "POST", "/customers", json={"id": record_id, "name": "n"}).ok

    pages = walk(api, "/customers", limit=100)

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [record["id"] for page in pages for record in page] == sorted(ids)


def test_list_defaults_to_the_contract_maximum_and_answers_an_empty_page(api):
    assert call(api, "GET", "/subscriptions").json() == {"data": [], "has_more": False}
    for n in range(contract.LIST_MAX_LIMIT + 1):
        call(api, "POST", "/customers", json={"id": f"c{n:03d}", "name": "n"})

    page = call(api, "GET", "/customers").json()

    assert (len(page["data"]), page["has_more"]) == (contract.LIST_MAX_LIMIT, True)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"limit": 0}, id="limit-zero"),
        pytest.param({"limit": contract.LIST_MAX_LIMIT + 1}, id="limit-above-max"),
        pytest.param({"limit": "ten"}, id="limit-not-a-number"),
        pytest.param({"issue_date_gte": "2024-02-30"}, id="date-from-invalid"),
        pytest.param({"issue_date_lt": "yesterday"}, id="date-to-invalid"),
    ],
)
def test_list_answers_422_when_a_query_parameter_is_invalid(api, params):
    answer = call(api, "GET", "/invoices", params=params)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][0] == "query"


def test_list_invoices_filters_on_issue_date_from_inclusive_to_exclusive(api):
    seed_references(api)
    dates = {f"inv_{n:03d}": f"2024-{1 + n % 4:02d}-{1 + n % 28:02d}" for n in range(120)}
    for record_id, issued in dates.items():
        body = with_changes(INVOICE, id=record_id, issue_date=issued, lines=...)
        assert call(api, "POST", "/invoices", json=body).status_code == 201

    pages = walk(api, "/invoices", limit=7, issue_date_gte="2024-02-01", issue_date_lt="2024-04-01")
    only_from = walk(api, "/invoices", issue_date_gte="2024-04-01")
    only_to = walk(api, "/invoices", issue_date_lt="2024-01-02")

    got = [record["id"] for page in pages for record in page]
    assert got == sorted(k for k, v in dates.items() if "2024-02-01" <= v < "2024-04-01")
    assert {r["issue_date"][:7] for page in only_from for r in page} == {"2024-04"}
    assert {r["issue_date"] for page in only_to for r in page} == {"2024-01-01"}


# --- authentication ---------------------------------------------------------------------------

CONTRACT_ENDPOINTS = [
    ("POST", "/customers"),
    ("GET", "/customers"),
    ("GET", "/customers/x"),
    ("PATCH", "/customers/x"),
    ("DELETE", "/customers/x"),
    ("POST", "/subscriptions"),
    ("GET", "/subscriptions"),
    ("GET", "/subscriptions/x"),
    ("DELETE", "/subscriptions/x"),
    ("POST", "/invoices"),
    ("GET", "/invoices"),
    ("GET", "/invoices/x"),
    ("DELETE", "/invoices/x"),
    ("GET", "/_sandbox/stats"),
    ("GET", "/_sandbox/dump"),
    ("POST", "/_sandbox/reset"),
]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-key"),
        pytest.param({HEADER: "wrong"}, id="wrong-key"),
        pytest.param({HEADER: ""}, id="empty-key"),
        pytest.param({"Authorization": "Bearer sandbox-test-key"}, id="key-in-another-header"),
    ],
)
@pytest.mark.parametrize(("method", "path"), CONTRACT_ENDPOINTS, ids=" ".join)
def test_every_endpoint_answers_401_when_the_key_is_missing_or_wrong(
    sandbox, method, path, headers
):
    answer = requests.request(
        method, f"{sandbox.base_url}{path}", headers=headers, json=CUSTOMER, timeout=10
    )

    assert answer.status_code == 401
    assert answer.json() == {"detail": "Invalid or missing API key"}


def test_health_needs_no_key(sandbox):
    assert requests.get(f"{sandbox.base_url}/_sandbox/health", timeout=10).json() == {
        "status": "ok"
    }


# --- transport and OpenAPI --------------------------------------------------------------------


def test_answers_keep_the_connection_alive_over_http_11_without_a_server_header(sandbox):
    connection = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=10)
    try:
        sockets = []
        for _ in range(3):
            connection.request("GET", "/customers", headers={HEADER: sandbox.api_key})
            answer = connection.getresponse()
            answer.read()
            sockets.append(connection.sock)
            assert answer.version == 11
            assert answer.getheader("server") is None
            assert answer.getheader("connection", "keep-alive").lower() != "close"
        assert sockets[0] is not None
        assert all(sock is sockets[0] for sock in sockets)
    finally:
        connection.close()


def test_served_openapi_matches_the_committed_document(sandbox):
    served = requests.get(f"{sandbox.base_url}/openapi.json", timeout=10).json()

    committed = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))

    assert served == committed, (
        "the served OpenAPI drifted from dev/fincome-sandbox/fincome_sandbox/openapi.json; "
        "regenerate it with `python -m fincome_sandbox --write-openapi "
        "dev/fincome-sandbox/fincome_sandbox/openapi.json`"
    )


def test_openapi_declares_the_contract_endpoints_and_the_api_key_scheme():
    document = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))

    assert document["info"]["title"] == "Fincome API (v1)"
    assert document["components"]["securitySchemes"]["APIKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": contract.DEFAULT_API_KEY_HEADER,
    }
    for resource in contract.RESOURCES:
        assert set(document["paths"][f"/{resource}"]) == {"get", "post"}
        assert {"get", "delete"} <= set(document["paths"][f"/{resource}/{{record_id}}"])
    assert not any(path.startswith("/_sandbox") for path in document["paths"])
