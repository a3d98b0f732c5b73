"""The sandbox's products, plans and credit notes over real HTTP (a subprocess sandbox)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
from support.sample_records import INVOICE

from fincome_airflow import contract

pytestmark = pytest.mark.integration

CUSTOMER = {"id": "cus_1", "name": "Acme"}
OTHER_CUSTOMER = {"id": "cus_2", "name": "Globex"}
PRODUCT = {"id": "prod_pro", "name": "Pro", "custom_properties": {"family": "core"}}
PLAN = {
    "id": "plan_pro_m",
    "name": "Pro monthly",
    "product_id": "prod_pro",
    "interval": "month",
    "amount": "29.00",
    "currency": "EUR",
}
SUBSCRIPTION = {
    "id": "sub_1",
    "customer_id": "cus_1",
    "plan_id": "plan_pro_m",
    "status": "active",
    "start_date": "2024-01-01",
    "currency": "EUR",
}
CREDIT_NOTE = {
    "id": "cn_1",
    "number": "CN-2024-001",
    "customer_id": "cus_1",
    "invoice_id": "inv_1",
    "issue_date": "2024-02-10",
    "status": "refunded",
    "currency": "EUR",
    "net_amount": "60.00",
    "tax_amount": "12.00",
    "lines": [
        {
            "id": "c1",
            "invoice_line_id": "l1",
            "description": "10 days of service",
            "net_amount": "10.00",
            "period_start": "2024-01-22",
            "period_end": "2024-02-01",
        },
        {"id": "c2", "invoice_line_id": "l2", "net_amount": "50.00"},
    ],
}


@pytest.fixture
def api(sandbox) -> requests.Session:
    """A keep-alive session on the session's (emptied) sandbox, authenticated."""
    session = requests.Session()
    session.headers[contract.DEFAULT_API_KEY_HEADER] = sandbox.api_key
    session.base_url = sandbox.base_url
    yield session
    session.close()


def call(api: requests.Session, method: str, path: str, **kwargs: Any) -> requests.Response:
    return api.request(method, f"{api.base_url}{path}", timeout=10, **kwargs)


def post(api: requests.Session, resource: str, body: dict[str, Any]) -> requests.Response:
    return call(api, "POST", f"/{resource}", json=body)


def changed(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with fields changed."""
    return {**copy.deepcopy(body), **changes}


def seed(api: requests.Session) -> None:
    """Store the customer, product, plan, subscription and invoice that ``CREDIT_NOTE`` needs."""
    for resource, body in [
        ("customers", CUSTOMER),
        ("customers", OTHER_CUSTOMER),
        ("products", PRODUCT),
        ("plans", PLAN),
        ("subscriptions", SUBSCRIPTION),
        ("invoices", INVOICE),
    ]:
        assert post(api, resource, body).status_code == 201, (resource, body)


def errors(response: requests.Response) -> list[tuple[tuple, str]]:
    """The 422 body as ``(loc, type)`` pairs."""
    assert response.status_code == 422, response.text
    return [(tuple(item["loc"]), item["type"]) for item in response.json()["detail"]]


# --- upsert, read, list, delete ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        pytest.param("products", PRODUCT, id="product"),
        pytest.param("plans", PLAN, id="plan"),
        pytest.param("credit_notes", CREDIT_NOTE, id="credit note"),
    ],
)
def test_billing_resources_upsert_201_then_200_read_and_delete_by_id(api, sandbox, resource, body):
    seed(api)
    call(api, "DELETE", contract.resource_path(resource, body["id"]))

    first, second = post(api, resource, body), post(api, resource, body)
    updated = post(api, resource, changed(body, name="Renamed") if "name" in body else body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert updated.status_code == 200
    assert call(api, "GET", contract.resource_path(resource, body["id"])).json()["id"] == body["id"]
    assert list(sandbox.dump()[resource]) == [body["id"]]
    assert call(api, "DELETE", contract.resource_path(resource, body["id"])).status_code == 204
    assert call(api, "GET", contract.resource_path(resource, body["id"])).status_code == 404
    assert call(api, "DELETE", contract.resource_path(resource, body["id"])).status_code == 404


def test_credit_note_is_stored_with_its_amounts_as_strings(api):
    seed(api)

    stored = post(api, "credit_notes", CREDIT_NOTE).json()

    assert stored["net_amount"] == "60.00" and stored["tax_amount"] == "12.00"
    assert [line["invoice_line_id"] for line in stored["lines"]] == ["l1", "l2"]
    assert stored["lines"][0]["period_end"] == "2024-02-01"


def test_plans_list_by_id_with_limit_and_starting_after(api):
    seed(api)
    for code in ("plan_a", "plan_c", "plan_b"):
        assert post(api, "plans", changed(PLAN, id=code)).status_code == 201

    first = call(api, "GET", "/plans", params={"limit": 2}).json()
    rest = call(api, "GET", "/plans", params={"limit": 2, "starting_after": "plan_b"}).json()

    assert [p["id"] for p in first["data"]] == ["plan_a", "plan_b"] and first["has_more"]
    assert [p["id"] for p in rest["data"]] == ["plan_c", "plan_pro_m"] and not rest["has_more"]


def test_credit_notes_list_by_issue_date_like_invoices(api):
    seed(api)
    for number, day in (
        ("cn_jan", "2024-01-31"),
        ("cn_feb", "2024-02-29"),
        ("cn_mar", "2024-03-01"),
    ):
        body = changed(CREDIT_NOTE, id=number, issue_date=day, net_amount="10.00", lines=None)
        assert post(api, "credit_notes", body).status_code == 201

    february = call(
        api,
        "GET",
        "/credit_notes",
        params={contract.ISSUE_DATE_FROM_PARAM: "2024-02-01", "issue_date_lt": "2024-03-01"},
    ).json()

    assert [c["id"] for c in february["data"]] == ["cn_feb"]
    assert february["has_more"] is False


# --- references and rules -----------------------------------------------------------------------


def test_plan_of_an_unknown_product_answers_422_reference_not_found(api):
    response = post(api, "plans", changed(PLAN, product_id="prod_missing"))

    assert errors(response) == [(("body", "product_id"), "reference_not_found")]


def test_plan_with_an_unknown_interval_answers_422_on_interval(api):
    seed(api)

    response = post(api, "plans", changed(PLAN, interval="week"))

    assert [loc for loc, _type in errors(response)] == [("body", "interval")]


def test_subscription_plan_id_is_not_checked_by_default(api):
    post(api, "customers", CUSTOMER)

    response = post(api, "subscriptions", changed(SUBSCRIPTION, plan_id="PRO-M"))

    assert response.status_code == 201


def test_subscription_of_an_unknown_plan_answers_422_when_plans_are_required(api, sandbox):
    assert sandbox.reset(require_plans=True)["require_plans"] is True
    seed(api)

    unknown = post(api, "subscriptions", changed(SUBSCRIPTION, id="sub_2", plan_id="PRO-M"))
    known = post(api, "subscriptions", changed(SUBSCRIPTION, id="sub_3"))
    without = post(api, "subscriptions", changed(SUBSCRIPTION, id="sub_4", plan_id=None))

    assert errors(unknown) == [(("body", "plan_id"), "reference_not_found")]
    assert (known.status_code, without.status_code) == (201, 201)


def test_sandbox_started_with_require_plans_checks_plan_ids(sandbox_factory):
    strict = sandbox_factory(require_plans=True)
    headers = {contract.DEFAULT_API_KEY_HEADER: strict.api_key}
    url = strict.base_url
    assert requests.post(f"{url}/customers", json=CUSTOMER, headers=headers, timeout=10).ok

    response = requests.post(f"{url}/subscriptions", json=SUBSCRIPTION, headers=headers, timeout=10)

    assert errors(response) == [(("body", "plan_id"), "reference_not_found")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"invoice_id": "inv_missing"},
            [(("body", "invoice_id"), "reference_not_found")],
            id="unknown invoice",
        ),
        pytest.param(
            {"customer_id": "cus_missing"},
            [
                (("body", "customer_id"), "reference_not_found"),
                (("body", "invoice_id"), "reference_mismatch"),
            ],
            id="unknown customer",
        ),
        pytest.param(
            {"customer_id": "cus_2"},
            [(("body", "invoice_id"), "reference_mismatch")],
            id="invoice of another customer",
        ),
        pytest.param(
            {"currency": "USD"},
            [(("body", "currency"), "currency_mismatch")],
            id="currency other than the invoice's",
        ),
        pytest.param(
            {"issue_date": "2024-01-30"},
            [(("body", "issue_date"), "credit_before_invoice")],
            id="issued before the invoice",
        ),
        pytest.param(
            {"net_amount": "160.00", "lines": None},
            [(("body", "net_amount"), "over_credit")],
            id="more than the invoice",
        ),
        pytest.param(
            {"lines": [{"id": "c1", "invoice_line_id": "l9", "net_amount": "60.00"}]},
            [(("body", "lines", 0, "invoice_line_id"), "reference_not_found")],
            id="line not on the invoice",
        ),
    ],
)
def test_credit_note_against_its_invoice_answers_422_naming_the_field(api, changes, expected):
    seed(api)

    response = post(api, "credit_notes", changed(CREDIT_NOTE, **changes))

    assert errors(response) == expected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"net_amount": "61.00"}, "lines_do_not_add_up", id="lines do not add up"),
        pytest.param({"net_amount": "0", "lines": None}, "zero_amount", id="zero credit"),
        pytest.param({"net_amount": "-5.00", "lines": None}, "negative_amount", id="negative"),
        pytest.param({"status": "void"}, "literal_error", id="unknown status"),
    ],
)
def test_credit_note_breaking_a_rule_of_its_own_answers_422_with_the_reason(api, changes, reason):
    seed(api)

    response = post(api, "credit_notes", changed(CREDIT_NOTE, **changes))

    assert reason in {kind for _loc, kind in errors(response)}


def test_credit_notes_of_one_invoice_never_add_up_to_more_than_it(api):
    seed(api)
    first = changed(CREDIT_NOTE, lines=None, net_amount="100.00")
    assert post(api, "credit_notes", first).status_code == 201
    second = changed(first, id="cn_2", net_amount="50.00")
    assert post(api, "credit_notes", second).status_code == 201

    over = post(api, "credit_notes", changed(first, id="cn_3", net_amount="0.01"))
    resent = post(api, "credit_notes", changed(first, net_amount="99.99"))

    assert errors(over) == [(("body", "net_amount"), "over_credit")]
    assert resent.status_code == 200  # replacing cn_1 counts its new amount only


def test_deleting_a_credited_invoice_answers_409_until_its_credit_notes_are_deleted(api, sandbox):
    seed(api)
    assert post(api, "credit_notes", CREDIT_NOTE).status_code == 201

    refused = call(api, "DELETE", "/invoices/inv_1")
    assert call(api, "DELETE", "/credit_notes/cn_1").status_code == 204
    deleted = call(api, "DELETE", "/invoices/inv_1")

    assert refused.status_code == contract.STATUS_CONFLICT
    assert "credit note" in refused.json()["detail"]
    assert deleted.status_code == 204
    assert sandbox.dump()["invoices"] == {}


def test_credit_notes_survive_a_restart_with_their_invoice_link(sandbox_factory, tmp_path):
    kept = sandbox_factory(db=str(tmp_path / "sandbox.db"))
    session = requests.Session()
    session.headers[contract.DEFAULT_API_KEY_HEADER] = kept.api_key
    session.base_url = kept.base_url
    seed(session)
    assert post(session, "credit_notes", CREDIT_NOTE).status_code == 201

    kept.restart()
    session.base_url = kept.base_url

    assert call(session, "DELETE", "/invoices/inv_1").status_code == contract.STATUS_CONFLICT
    assert call(session, "GET", "/credit_notes/cn_1").json()["invoice_id"] == "inv_1"
    session.close()
