"""A table-driven corpus of ERP defects, each expected to give its reason code and field.

Every case is one small customer/contract/invoice trio with one defect, all loaded into the
same ERP and extracted once through the real SQL (SQLite, and PostgreSQL for the cases its
column types can hold). Nothing in it may crash the extraction.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text

from fincome_airflow.engines import erp_engine
from fincome_airflow.reasons import REASON_CODES
from fincome_airflow.stage.hashing import canonical_json
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.state.store import StateStore
from fincome_erp.rows import DEFAULT_CATALOG, create_erp, load

pytestmark = pytest.mark.integration

JAN1, JAN5, JAN31 = dt.date(2024, 1, 1), dt.date(2024, 1, 5), dt.date(2024, 1, 31)
NOW = dt.datetime(2024, 2, 20, 12, tzinfo=dt.UTC)
RECENT = dt.datetime(2024, 2, 15, 9, 30)


def trio(tag: str, *, customer=None, contract=None, invoice=None, lines=None) -> dict[str, list]:
    """A valid customer, contract and January invoice, with the given columns overridden."""
    cust = {"cust_no": f"C-{tag}", **(customer or {})}
    con = {"contract_no": f"K-{tag}", "cust_no": cust["cust_no"], **(contract or {})}
    inv = {
        "invoice_no": f"I-{tag}",
        "cust_no": cust["cust_no"],
        "contract_no": con["contract_no"],
        "invoice_date": JAN5,
        "due_date": JAN31,
        "total_net": "100.00",
        **(invoice or {}),
    }
    base_lines = [
        {"line_no": 1, "net_amount": "80.00", "service_from": JAN1, "service_to": JAN31},
        {"line_no": 2, "net_amount": "20.00", "line_kind": "ONE_OFF"},
    ]
    for n, override in (lines or {}).items():
        base_lines[n - 1] = {**base_lines[n - 1], **override}
    for line in base_lines:
        line["invoice_no"] = inv["invoice_no"]
    return {"customers": [cust], "contracts": [con], "invoices": [inv], "invoice_lines": base_lines}


def credit(tag: str, invoice: str, *, lines: list[dict] | None = None, **columns) -> dict:
    """A credit note of 20.00 issued on January 31st crediting invoice ``I-<invoice>`` of
    customer ``C-<invoice>``, with the given columns and lines."""
    note = {
        "credit_note_no": f"CN-{tag}",
        "invoice_no": f"I-{invoice}",
        "cust_no": f"C-{invoice}",
        "issue_date": JAN31,
        "total_net": "20.00",
        **columns,
    }
    rows = [{"credit_note_no": note["credit_note_no"], **line} for line in lines or []]
    return {"credit_notes": [note], "credit_note_lines": rows}


def plan(code: str, **columns) -> dict[str, list]:
    """A monthly plan of product PRO, with the given columns."""
    return {"plans": [{"plan_code": code, **columns}]}


def merge(*parts: dict[str, list]) -> dict[str, list]:
    out: dict[str, list] = {}
    for part in parts:
        for table, rows in part.items():
            out.setdefault(table, []).extend(rows)
    return out


Case = tuple[str, dict, str, str, str, str | None, bool, str]
# (tag, ERP rows, resource, record id, reason code, field, PostgreSQL can hold it, outcome)
CORE_CASES: list[Case] = [
    (
        "blank-name",
        trio("d01", customer={"company_name": " "}),
        "customers",
        "C-d01",
        "missing_value",
        "company_name",
        True,
        "rejected",
    ),
    (
        "unknown-country",
        trio("d02", customer={"country_code": "XX"}),
        "customers",
        "C-d02",
        "unknown_country",
        "country_code",
        True,
        "rejected",
    ),
    (
        "own-parent",
        trio("d03", customer={"parent_cust_no": "C-d03"}),
        "customers",
        "C-d03",
        "own_parent",
        "parent_cust_no",
        True,
        "rejected",
    ),
    (
        "parent-missing",
        trio("d04", customer={"parent_cust_no": "NOPE"}),
        "customers",
        "C-d04",
        "reference_not_found",
        "parent_cust_no",
        True,
        "rejected",
    ),
    (
        "parent-cycle",
        merge(
            trio("d05", customer={"parent_cust_no": "C-d05b"}),
            {"customers": [{"cust_no": "C-d05b", "parent_cust_no": "C-d05"}]},
        ),
        "customers",
        "C-d05",
        "parent_cycle",
        "parent_cust_no",
        True,
        "rejected",
    ),
    (
        "name-too-long",
        trio("d06", customer={"company_name": "A" * 1200}),
        "customers",
        "C-d06",
        "text_too_long",
        "company_name",
        False,
        "rejected",
    ),
    (
        "control-char-in-name",
        trio("d07", customer={"company_name": "ACME\x07"}),
        "customers",
        "C-d07",
        "invalid_text",
        "company_name",
        True,
        "rejected",
    ),
    (
        "unknown-contract-status",
        trio("d08", contract={"status": "FROZEN"}),
        "subscriptions",
        "K-d08",
        "unknown_status",
        "status",
        True,
        "rejected",
    ),
    (
        "terminated-without-date",
        trio("d09", contract={"status": "TERMINATED"}),
        "subscriptions",
        "K-d09",
        "missing_termination_date",
        "terminated_on",
        True,
        "rejected",
    ),
    (
        "contract-ends-before-start",
        trio("d10", contract={"end_date": dt.date(2022, 1, 1)}),
        "subscriptions",
        "K-d10",
        "end_before_start",
        "end_date",
        True,
        "rejected",
    ),
    (
        "terminated-before-start",
        trio("d11", contract={"status": "TERMINATED", "terminated_on": dt.date(2022, 6, 1)}),
        "subscriptions",
        "K-d11",
        "canceled_before_start",
        "terminated_on",
        True,
        "rejected",
    ),
    (
        "contract-unknown-currency",
        trio("d12", contract={"currency": "EUX"}),
        "subscriptions",
        "K-d12",
        "unknown_currency",
        "currency",
        True,
        "rejected",
    ),
    (
        "negative-monthly-fee",
        trio("d13", contract={"monthly_fee": "-5.00"}),
        "subscriptions",
        "K-d13",
        "negative_amount",
        "monthly_fee",
        True,
        "rejected",
    ),
    (
        "contract-customer-missing",
        trio("d14", contract={"cust_no": "GHOST"}),
        "subscriptions",
        "K-d14",
        "reference_not_found",
        "cust_no",
        True,
        "rejected",
    ),
    (
        "contract-bad-start-date",
        trio("d15", contract={"start_date": "2023-02-30"}),
        "subscriptions",
        "K-d15",
        "invalid_date",
        "start_date",
        False,
        "rejected",
    ),
    (
        "invoice-unknown-currency",
        trio("d16", invoice={"currency": "eur"}),
        "invoices",
        "I-d16",
        "unknown_currency",
        "currency",
        True,
        "rejected",
    ),
    (
        "lines-do-not-add-up",
        trio("d17", invoice={"total_net": "101.00"}),
        "invoices",
        "I-d17",
        "lines_do_not_add_up",
        "total_net",
        True,
        "rejected",
    ),
    (
        "due-before-issue",
        trio("d18", invoice={"due_date": dt.date(2024, 1, 1)}),
        "invoices",
        "I-d18",
        "due_before_issue",
        "due_date",
        True,
        "rejected",
    ),
    (
        "issue-date-in-future",
        trio(
            "d19",
            invoice={"invoice_date": dt.date(2024, 3, 1), "due_date": None, "updated_at": RECENT},
        ),
        "invoices",
        "I-d19",
        "issue_date_in_future",
        "invoice_date",
        True,
        "rejected",
    ),
    (
        "negative-line",
        trio("d20", invoice={"total_net": "60.00"}, lines={2: {"net_amount": "-20.00"}}),
        "invoices",
        "I-d20",
        "negative_amount",
        "lines[2].net_amount",
        True,
        "rejected",
    ),
    (
        "three-decimals",
        trio("d21", lines={2: {"net_amount": "20.005"}}),
        "invoices",
        "I-d21",
        "invalid_amount",
        "lines[2].net_amount",
        False,
        "rejected",
    ),
    (
        "unknown-invoice-status",
        trio("d22", invoice={"doc_status": "VOID"}),
        "invoices",
        "I-d22",
        "unknown_status",
        "doc_status",
        True,
        "rejected",
    ),
    (
        "unknown-line-kind",
        trio("d23", lines={2: {"line_kind": "USAGE"}}),
        "invoices",
        "I-d23",
        "unknown_line_kind",
        "lines[2].line_kind",
        True,
        "rejected",
    ),
    (
        "recurring-without-period",
        trio("d24", lines={1: {"service_from": None}}),
        "invoices",
        "I-d24",
        "missing_period",
        "lines[1].service_from",
        True,
        "rejected",
    ),
    (
        "period-reversed",
        trio("d25", lines={1: {"service_to": dt.date(2023, 12, 1)}}),
        "invoices",
        "I-d25",
        "period_end_before_start",
        "lines[1].service_to",
        True,
        "rejected",
    ),
    (
        "zero-quantity",
        trio("d26", lines={1: {"quantity": "0"}}),
        "invoices",
        "I-d26",
        "invalid_quantity",
        "lines[1].quantity",
        True,
        "rejected",
    ),
    (
        "invoice-without-contract",
        trio("d27", invoice={"contract_no": None}),
        "invoices",
        "I-d27",
        "missing_subscription",
        "contract_no",
        True,
        "rejected",
    ),
    (
        "invoice-contract-missing",
        trio("d28", invoice={"contract_no": "K-GONE"}),
        "invoices",
        "I-d28",
        "reference_not_found",
        "contract_no",
        True,
        "rejected",
    ),
    (
        "contract-of-another-customer",
        trio("d29", invoice={"contract_no": "K-d01ok"}),
        "invoices",
        "I-d29",
        "subscription_customer_mismatch",
        "contract_no",
        True,
        "rejected",
    ),
    (
        "currency-differs-from-contract",
        trio("d30", invoice={"currency": "USD"}),
        "invoices",
        "I-d30",
        "currency_mismatch",
        "currency",
        True,
        "rejected",
    ),
    (
        "due-date-year-2999",
        trio("d31", invoice={"due_date": dt.date(2999, 1, 1)}),
        "invoices",
        "I-d31",
        "date_out_of_range",
        "due_date",
        True,
        "rejected",
    ),
    (
        "garbage-invoice-date",
        trio("d32", invoice={"invoice_date": "05/01/2024", "updated_at": RECENT}),
        "invoices",
        "I-d32",
        "invalid_date",
        "invoice_date",
        False,
        "rejected",
    ),
    (
        "garbage-total",
        trio("d33", invoice={"total_net": "abc"}),
        "invoices",
        "I-d33",
        "invalid_amount",
        "total_net",
        False,
        "rejected",
    ),
    (
        "invoice-under-refused-customer",
        trio("d34", customer={"country_code": "ZZ"}),
        "invoices",
        "I-d34",
        "parent_rejected",
        "contract_no",
        True,
        "blocked",
    ),
    (
        "contract-under-refused-customer",
        trio("d35", customer={"company_name": ""}),
        "subscriptions",
        "K-d35",
        "parent_rejected",
        "cust_no",
        True,
        "blocked",
    ),
    (
        "child-of-refused-customer",
        merge(
            trio("d36", customer={"parent_cust_no": "C-d36p"}),
            {"customers": [{"cust_no": "C-d36p", "country_code": "QQ"}]},
        ),
        "customers",
        "C-d36",
        "parent_rejected",
        "parent_cust_no",
        True,
        "blocked",
    ),
    (
        "id-with-control-char",
        trio(
            "d37",
            customer={"cust_no": "C-d37\x01"},
            contract={"cust_no": "C-d37\x01"},
            invoice={"cust_no": "C-d37\x01"},
        ),
        "customers",
        "C-d37\x01",
        "invalid_identifier",
        "cust_no",
        True,
        "rejected",
    ),
]
#: The defects of Fincome's billing model: products, plans, a contract's plan, credit notes.
BILLING_CASES: list[Case] = [
    (
        "product-blank-name",
        {"products": [{"product_code": "PR-d40", "product_name": " ", "updated_at": RECENT}]},
        "products",
        "PR-d40",
        "missing_value",
        "product_name",
        True,
        "rejected",
    ),
    (
        "plan-of-refused-product",
        merge(
            {"products": [{"product_code": "PR-d41", "product_name": ""}]},
            plan("P-d41", product_code="PR-d41"),
            trio("d41", contract={"plan_code": "P-d41"}),
        ),
        "plans",
        "P-d41",
        "parent_rejected",
        "product_code",
        True,
        "blocked",
    ),
    (
        "plan-unknown-product",
        merge(plan("P-d42", product_code="PR-NONE"), trio("d42", contract={"plan_code": "P-d42"})),
        "plans",
        "P-d42",
        "reference_not_found",
        "product_code",
        True,
        "rejected",
    ),
    (
        "plan-unknown-billing-period",
        merge(plan("P-d43", billing_period="WEEK"), trio("d43", contract={"plan_code": "P-d43"})),
        "plans",
        "P-d43",
        "unknown_billing_period",
        "billing_period",
        True,
        "rejected",
    ),
    (
        "contract-of-refused-plan",
        merge(plan("P-d44", currency="EU"), trio("d44", contract={"plan_code": "P-d44"})),
        "subscriptions",
        "K-d44",
        "parent_rejected",
        "plan_code",
        True,
        "blocked",
    ),
    (
        "contract-unknown-plan",
        trio("d45", contract={"plan_code": "P-RETIRED"}),
        "subscriptions",
        "K-d45",
        "reference_not_found",
        "plan_code",
        True,
        "rejected",
    ),
    (
        "credit-over-the-invoice",
        merge(trio("d50"), credit("d50", "d50", total_net="100.01")),
        "credit_notes",
        "CN-d50",
        "over_credit",
        "total_net",
        True,
        "rejected",
    ),
    (
        "credit-in-another-currency",
        merge(trio("d51"), credit("d51", "d51", currency="USD")),
        "credit_notes",
        "CN-d51",
        "currency_mismatch",
        "currency",
        True,
        "rejected",
    ),
    (
        "credit-of-unknown-invoice",
        credit("d52", "d01ok", invoice_no="I-GONE"),
        "credit_notes",
        "CN-d52",
        "reference_not_found",
        "invoice_no",
        True,
        "rejected",
    ),
    (
        "credit-of-refused-invoice",
        merge(trio("d53", invoice={"total_net": "101.00"}), credit("d53", "d53")),
        "credit_notes",
        "CN-d53",
        "parent_rejected",
        "invoice_no",
        True,
        "blocked",
    ),
    (
        "credit-before-the-invoice",
        merge(trio("d54"), credit("d54", "d54", issue_date=JAN1)),
        "credit_notes",
        "CN-d54",
        "credit_before_invoice",
        "issue_date",
        True,
        "rejected",
    ),
    (
        "credit-lines-do-not-add-up",
        merge(
            trio("d55"),
            credit("d55", "d55", total_net="30.00", lines=[{"line_no": 1, "net_amount": "20.00"}]),
        ),
        "credit_notes",
        "CN-d55",
        "lines_do_not_add_up",
        "total_net",
        True,
        "rejected",
    ),
    (
        "credit-of-zero",
        merge(trio("d56"), credit("d56", "d56", total_net="0.00")),
        "credit_notes",
        "CN-d56",
        "zero_amount",
        "total_net",
        True,
        "rejected",
    ),
    (
        "credit-of-another-customers-invoice",
        merge(trio("d57"), credit("d57", "d57", cust_no="C-d01ok")),
        "credit_notes",
        "CN-d57",
        "invoice_customer_mismatch",
        "invoice_no",
        True,
        "rejected",
    ),
    (
        "second-credit-past-the-invoice",
        merge(
            trio("d59"),
            credit("d59a", "d59", total_net="60.00", issue_date=dt.date(2024, 1, 20)),
            credit("d59b", "d59", total_net="50.00"),
        ),
        "credit_notes",
        "CN-d59b",
        "over_credit",
        "total_net",
        True,
        "rejected",
    ),
    (
        "credit-period-reversed",
        merge(
            trio("d58"),
            credit(
                "d58",
                "d58",
                lines=[
                    {
                        "line_no": 1,
                        "net_amount": "20.00",
                        "service_from": JAN31,
                        "service_to": JAN5,
                    }
                ],
            ),
        ),
        "credit_notes",
        "CN-d58",
        "period_end_before_start",
        "lines[1].service_to",
        True,
        "rejected",
    ),
]
CASES = CORE_CASES + BILLING_CASES
VALID = merge(
    trio("d01ok"),
    DEFAULT_CATALOG,
    credit("d01ok", "d01ok", lines=[{"line_no": 1, "invoice_line_no": 2, "net_amount": "20.00"}]),
)


def _load_and_extract(
    erp_url: str, state_url: str, pg: bool, cases: list[Case] = CASES
) -> StateStore:
    """Load ``cases`` and the valid records into a new ERP, extract January 2024 from it."""
    engine = erp_engine(erp_url)
    create_erp(engine)
    cases = [c for c in cases if c[6] or not pg]
    load(engine, merge(VALID, *(c[1] for c in cases)))
    store = StateStore.from_url(state_url)
    report = extract_and_stage(engine, store, "corpus", "2024-01", now=NOW)
    assert report.counts["invoices"].valid >= 1
    engine.dispose()
    return store


def _rejects(store: StateStore) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(text("SELECT * FROM fincome_rejects WHERE run_key='corpus'")):
            out.setdefault((row.resource, row.record_id), []).append(dict(row._mapping))
    return out


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory) -> StateStore:
    d = tmp_path_factory.mktemp("corpus")
    return _load_and_extract(f"sqlite:///{d}/erp.db", f"sqlite:///{d}/state.db", pg=False)


@pytest.fixture(scope="module")
def sqlite_rejects(sqlite_store) -> dict:
    return _rejects(sqlite_store)


@pytest.fixture(scope="module")
def pg_rejects(create_pg_database) -> dict:
    store = _load_and_extract(create_pg_database("erp"), create_pg_database("state"), pg=True)
    return _rejects(store)


def _check(rejects: dict, resource: str, record_id: str, code: str, field, outcome) -> None:
    got = rejects.get((resource, record_id))
    assert got, f"{resource}/{record_id} was not refused"
    assert (code, field, outcome) in {(r["reason_code"], r["field"], r["outcome"]) for r in got}
    for r in got:
        assert r["reason_code"] in REASON_CODES
        assert r["message"] and "Error" not in r["message"] and "pydantic" not in r["message"]
        if r["outcome"] == "blocked":
            assert r["blocked_by"]


def test_corpus_has_at_least_25_distinct_defects() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 25
    assert len({c[4] for c in CASES}) >= 25


@pytest.mark.parametrize(
    ("resource", "record_id", "code", "field", "outcome"),
    [pytest.param(*c[2:6], c[7], id=c[0]) for c in CASES],
)
def test_defect_gives_its_reason_code_on_sqlite(
    sqlite_rejects, resource, record_id, code, field, outcome
) -> None:
    _check(sqlite_rejects, resource, record_id, code, field, outcome)


@pytest.mark.parametrize("backend", ["pg", "mariadb"])
@pytest.mark.parametrize(
    ("resource", "record_id", "code", "field", "outcome"),
    [pytest.param(*c[2:6], c[7], id=c[0]) for c in CASES if c[6]],
)
def test_defect_gives_its_reason_code_on_postgresql_and_mariadb(
    backend, resource, record_id, code, field, outcome, request
) -> None:
    rejects = request.getfixturevalue(f"{backend}_rejects")
    _check(rejects, resource, record_id, code, field, outcome)


def test_valid_trio_is_not_refused(sqlite_rejects) -> None:
    assert not [k for k in sqlite_rejects if k[1].endswith("d01ok")]


def test_the_credit_note_within_the_invoice_is_kept_when_a_later_one_goes_past_it(
    sqlite_rejects,
) -> None:
    assert ("credit_notes", "CN-d59a") not in sqlite_rejects
    assert ("credit_notes", "CN-d59b") in sqlite_rejects


def test_valid_product_plan_and_credit_note_are_staged_as_the_mapping_says(sqlite_store) -> None:
    with sqlite_store.engine.connect() as conn:
        staged = {
            (r.resource, r.record_id): json.loads(r.payload)
            for r in conn.execute(
                text(
                    "SELECT resource, record_id, payload FROM fincome_staged "
                    "WHERE run_key = 'corpus' AND resource IN ('products', 'plans', 'credit_notes')"
                )
            )
        }
    # staged payloads are canonical: amounts compare as numbers ("100.00" is 100)
    assert staged[("products", "PRO")] == canonical({"id": "PRO", "name": "Pro"})
    assert staged[("plans", "PRO")] == canonical(
        {
            "id": "PRO",
            "name": "Pro plan",
            "product_id": "PRO",
            "interval": "month",
            "amount": "100.00",
            "currency": "EUR",
        }
    )
    assert staged[("credit_notes", "CN-d01ok")] == canonical(
        {
            "id": "CN-d01ok",
            "number": "CN-d01ok",
            "customer_id": "C-d01ok",
            "invoice_id": "I-d01ok",
            "status": "open",
            "issue_date": "2024-01-31",
            "currency": "EUR",
            "net_amount": "20.00",
            "tax_amount": "0.00",
            "lines": [
                {
                    "id": "1",
                    "invoice_line_id": "2",
                    "description": "Credit",
                    "net_amount": "20.00",
                    "custom_properties": {},
                }
            ],
        }
    )


def canonical(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with empty custom properties, as staging writes it."""
    return json.loads(canonical_json({**payload, "custom_properties": {}}))


@pytest.fixture(scope="module")
def mariadb_rejects(create_mysql_database, tmp_path_factory) -> dict:
    state = tmp_path_factory.mktemp("corpus") / "state.db"
    store = _load_and_extract(create_mysql_database("erp"), f"sqlite:///{state}", pg=True)
    return _rejects(store)


def test_mariadb_refuses_exactly_what_postgresql_refuses(pg_rejects, mariadb_rejects) -> None:
    def refusals(rejects: dict) -> dict:
        keep = ("reason_code", "field", "outcome", "message", "blocked_by")
        return {k: sorted(tuple(str(r[c]) for c in keep) for r in v) for k, v in rejects.items()}

    assert refusals(mariadb_rejects) == refusals(pg_rejects)
