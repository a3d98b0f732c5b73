"""The operations app over HTTP (FastAPI TestClient) on a real SQLite state database.

Airflow's auth is replaced by overrides here; the real auth manager (401, 403) is exercised
against a running api-server in ``tests/e2e/test_ui_browser.py``.
"""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from fincome_airflow.state.store import StateStore
from fincome_airflow.ui import access
from fincome_airflow.ui.app import create_app
from fincome_airflow.ui.deps import get_engine
from fincome_airflow.ui.routes.rerun import airflow_transport
from fincome_dev.bench.history import months_back, seed_history

MONTHS = months_back("2026-10", 30)
REJECTS = 260


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> StateStore:
    store = StateStore.from_url(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'state.sqlite'}")
    store.ensure_schema()
    seed_history(store, MONTHS, rejects=REJECTS)
    return store


@pytest.fixture
def calls() -> list[httpx.Request]:
    return []


@pytest.fixture
def client(store, calls):
    app = create_app()

    def airflow_api(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.headers["authorization"] != "Bearer user-token":
            return httpx.Response(403, json={"detail": "Forbidden"})
        return httpx.Response(200, json={"dag_run_id": json.loads(request.content)["dag_run_id"]})

    app.dependency_overrides.update(
        {
            access.can_read: lambda: None,
            access.can_trigger: lambda: None,
            access.may_trigger: lambda: True,
            get_engine: lambda: store.engine,
            airflow_transport: lambda: httpx.MockTransport(airflow_api),
        }
    )
    with TestClient(app, base_url="http://airflow.test") as client:
        yield client


def test_months_api_lists_one_row_per_month_latest_first(client):
    months = client.get("/api/months").json()["months"]
    assert [m["month"] for m in months] == list(reversed(MONTHS))
    october = months[0]
    assert october["runs"] == 3
    assert october["latest_run"]["status"] == "done"
    assert october["latest_run"]["run_id"] == "manual__2026-10_load"
    assert october["latest_run"]["counts"]["rejected"] == REJECTS
    assert october["latest_run"]["net_amount_fincome"] == {"CHF": "100000.50"}
    assert october["latest_run"]["duration_s"] == 200


def test_months_api_gives_each_runs_credit_notes_and_net_revenue_per_currency(client):
    october = client.get("/api/months").json()["months"][0]["latest_run"]
    # Seeded: 1,000 invoices, 260 refused, CHF 100,000.50; 50 credit notes of CHF 50.25.
    assert october["credit_notes_fincome"] == {"count": 50, "net_amount": {"CHF": "2512.50"}}
    assert october["net_revenue_fincome"] == {"CHF": "97488.00"}
    totals = october["reconciliation_totals"]["credit_notes"]["CHF"]
    assert totals == {"expected": "2512.50", "held": "2512.50", "difference": "0.00"}


def test_month_page_shows_the_runs_revenue_gross_credited_and_net_per_currency(client):
    page = client.get("/months/2026-10").text
    revenue = page[
        page.index('<table id="revenue">') : page.index("</table>", page.index('id="revenue"'))
    ]
    assert "credit notes (50)" in revenue
    row = revenue[revenue.index('data-currency="CHF"') :]
    assert row.index("CHF 100,000.50") < row.index("CHF 2,512.50") < row.index("CHF 97,488.00")
    assert '<table id="totals">' in page and "credit_notes" in page


def test_month_api_marks_the_failed_run_superseded_by_the_later_load(client):
    runs = client.get("/api/months/2026-10").json()["runs"]
    assert [r["status"] for r in runs] == ["superseded", "dry run", "done"]


def test_months_page_shows_october_links_to_its_airflow_run_and_draws_charts(client):
    page = client.get("/").text
    assert 'data-month="2026-10"' in page
    assert "dags/fincome_monthly_load/runs/manual__2026-10_load" in page
    assert page.count("<svg") == 4
    assert "CHF 100,000.50" in page


def test_month_page_pages_the_rejects_fifty_at_a_time(client):
    first = client.get("/api/months/2026-10").json()["rejects"]
    last = client.get("/api/months/2026-10", params={"page": 6}).json()["rejects"]
    assert first["total"] == REJECTS and len(first["items"]) == 50
    assert len(last["items"]) == REJECTS - 5 * 50
    assert {r["record_id"] for r in first["items"]}.isdisjoint(
        r["record_id"] for r in last["items"]
    )


def test_month_rejects_filter_by_resource_reason_and_id_prefix(client):
    params = {"resource": "invoices", "reason": "unknown_country"}
    items = client.get("/api/months/2026-10", params=params).json()["rejects"]["items"]
    assert items and all(
        (r["resource"], r["reason_code"]) == ("invoices", "unknown_country") for r in items
    )
    found = client.get("/api/months/2026-10", params={"id": "INV-000004"}).json()["rejects"]
    assert [r["record_id"] for r in found["items"]] == ["INV-0000041", "INV-0000044", "INV-0000047"]


def test_blocked_records_name_the_record_blocking_them(client):
    items = client.get("/api/months/2026-10", params={"outcome": "blocked"}).json()["rejects"]
    assert items["total"] == REJECTS // 5
    assert all(r["blocked_by"].startswith("customers/CUS-") for r in items["items"])


def test_rejects_csv_downloads_every_filtered_row_with_a_bom(client):
    response = client.get("/months/2026-10/rejects.csv", params={"outcome": "rejected"})
    assert response.headers["content-disposition"].endswith('_2026-10_manual__2026-10_load.csv"')
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["resource", "id", "outcome", "reason_code", "field", "message", "blocked_by"]
    assert len(rows) - 1 == REJECTS - REJECTS // 5
    assert {row[2] for row in rows[1:]} == {"rejected"}


def test_differences_csv_downloads_every_difference_largest_amount_first(client):
    response = client.get("/months/2026-10/differences.csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="fincome_diff')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["resource", "record_id", "kind"]
    assert [row[1] for row in rows[1:]] == ["INV-0000042", "CUS-0000007"]


def test_month_page_lists_differences_largest_amount_first(client):
    page = client.get("/months/2026-10").text
    assert page.index("INV-0000042") < page.index("CUS-0000007")
    assert "CHF 120.50" in page


def test_an_unknown_month_is_404_and_a_malformed_one_422(client):
    assert client.get("/months/2019-01").status_code == 404
    assert client.get("/api/months/2026-13").status_code == 422


def _rerun(client, token: str, **kwargs):
    return client.post(
        "/months/2026-10/rerun", cookies={"_token": token}, follow_redirects=False, **kwargs
    )


def test_rerun_triggers_through_airflow_api_with_the_users_token(client, calls):
    response = _rerun(client, "user-token", data={"dry_run": "true"})
    assert response.status_code == 303
    body = json.loads(calls[-1].content)
    assert str(calls[-1].url).endswith("/api/v2/dags/fincome_monthly_load/dagRuns")
    assert body["conf"] == {"month": "2026-10", "dry_run": True, "full_resync": False}
    assert body["dag_run_id"].startswith("manual__2026-10_dry-run_")
    assert "2026-10" in body["note"]
    assert response.headers["location"] == f"/months/2026-10?triggered={body['dag_run_id']}"
    page = client.get(response.headers["location"]).text
    assert f"dags/fincome_monthly_load/runs/{body['dag_run_id']}" in page


def test_rerun_passes_on_airflows_refusal_when_the_user_may_not_trigger(client):
    response = _rerun(client, "someone-else")
    assert response.status_code == 403
    assert "Airflow refused" in response.json()["detail"]


def test_rerun_from_another_site_is_refused(client, calls):
    response = _rerun(client, "user-token", headers={"origin": "http://evil.test"})
    assert response.status_code == 403 and not calls


def test_pages_escape_what_the_erp_holds(client, store):
    from fincome_airflow.state.rejects import record_rejects

    run_key = "fincome_monthly_load/manual__2026-10_load"
    with store.begin() as conn:
        record_rejects(
            conn,
            [{"run_key": run_key, "resource": "customers", "record_id": "<script>x</script>",
              "seq": 0, "outcome": "rejected", "reason_code": "invalid_text", "field": "name",
              "message": "<img src=x onerror=alert(1)>", "blocked_by": None}],
        )  # fmt: skip
    page = client.get("/months/2026-10", params={"reason": "invalid_text"}).text
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page


def test_an_empty_state_database_shows_no_months_and_creates_nothing(tmp_path):
    from sqlalchemy import inspect

    from fincome_airflow.engines import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    app = create_app()
    app.dependency_overrides.update({access.can_read: lambda: None, get_engine: lambda: engine})
    with TestClient(app) as client:
        assert client.get("/api/months").json()["months"] == []
        assert "No run in the state database yet" in client.get("/").text
        assert client.get("/api/months/2026-10").status_code == 404
    assert inspect(engine).get_table_names() == []
