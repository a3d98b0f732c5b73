"""FincomeLoadOperator / FincomeDeleteOperator: execute() on a SQLite state DB in tmp_path."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import select
from support.clock import FakeClock
from support.connections import FINCOME_BASE, fincome_conn_json, sqlite_conn_json
from support.staging import stage_records

from fincome_airflow.exceptions import FincomeConfigError, FincomeLoadIncomplete
from fincome_airflow.hooks.fincome import FincomeHook
from fincome_airflow.operators import FincomeDeleteOperator, FincomeLoadOperator
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore

BASE = FINCOME_BASE
API_KEY = "sk_live_OPERATOR_SECRET_42"
RUN = "manual__2026-03-01"


@pytest.fixture
def state_url(tmp_path, monkeypatch) -> str:
    path = tmp_path / "state.db"
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(path))
    monkeypatch.setenv(
        "AIRFLOW_CONN_FINCOME_API",
        fincome_conn_json(API_KEY, {"max_concurrency": 4, "retry_budget": 5}),
    )
    return f"sqlite:///{path}"


@pytest.fixture
def store(state_url) -> StateStore:
    store = StateStore.from_url(state_url)
    store.ensure_schema()
    return store


def stage(
    store: StateStore, resource: str, records: dict[str, dict], *, run_key=RUN, action="upsert"
):
    stage_records(store, resource, records.items(), run_key=run_key, action=action)


def customers(n: int, version: int = 1) -> dict[str, dict]:
    return {f"c{i:04d}": {"id": f"c{i:04d}", "name": f"Customer {i} v{version}"} for i in range(n)}


def load_op(**kwargs) -> FincomeLoadOperator:
    kwargs.setdefault("resource", "customers")
    kwargs.setdefault("run_key", RUN)
    op = FincomeLoadOperator(task_id="load_customers", progress_interval=0, **kwargs)
    clock = FakeClock()
    op.__dict__["hook"] = FincomeHook(sleep=clock.sleep, clock=clock, rng=lambda: 0.5)
    return op


def rows(store: StateStore, table) -> list[dict]:
    with store.begin() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


# -- load -----------------------------------------------------------------------------------------


def test_load_sends_new_records_and_records_ledger_and_outcomes(store, requests_mock):
    stage(store, "customers", customers(25))
    requests_mock.post(f"{BASE}/customers", status_code=201)

    audit = load_op(month="2026-02").execute({})

    assert audit == {
        "resource": "customers",
        "run_key": RUN,
        "dry_run": False,
        "staged": 25,
        "to_send": 25,
        "unchanged": 0,
        "created": 25,
        "updated": 0,
        "rejected": 0,
        "failed": 0,
        "duration_s": audit["duration_s"],
        "requests": 25,
        "retries": 0,
        "rate_limited": 0,
        "month": "2026-02",
    }
    assert len(rows(store, schema.ledger)) == 25
    assert {r["outcome"] for r in rows(store, schema.outcomes)} == {"created"}
    json.dumps(audit)  # a plain JSON XCom


def test_load_sends_only_what_changed_since_the_ledger(store, requests_mock):
    stage(store, "customers", customers(10))
    requests_mock.post(f"{BASE}/customers", status_code=201)
    load_op().execute({})
    changed = customers(10)
    changed["c0003"]["name"] = "Renamed"
    stage(store, "customers", changed, run_key="run2")
    requests_mock.reset_mock()
    requests_mock.post(f"{BASE}/customers", status_code=200)

    audit = load_op(run_key="run2").execute({})

    assert (audit["to_send"], audit["updated"], audit["unchanged"]) == (1, 1, 9)
    assert requests_mock.call_count == 1
    assert requests_mock.last_request.json()["name"] == "Renamed"


def test_load_full_resync_sends_everything_but_a_retry_does_not_resend(store, requests_mock):
    stage(store, "customers", customers(5))
    requests_mock.post(f"{BASE}/customers", status_code=201)
    load_op().execute({})
    stage(store, "customers", customers(5), run_key="resync")
    requests_mock.reset_mock()

    first = load_op(run_key="resync", full_resync=True).execute({})
    again = load_op(run_key="resync", full_resync=True).execute({})

    assert first["to_send"] == 5
    assert again["to_send"] == 0
    assert requests_mock.call_count == 5


def test_load_crash_then_retry_never_resends_what_was_confirmed(store, requests_mock):
    stage(store, "customers", customers(60))
    calls = 0
    lock = threading.Lock()

    def answer(request, context):
        nonlocal calls
        with lock:
            calls += 1
            context.status_code = 201 if calls <= 30 else 401
        return ""

    requests_mock.post(f"{BASE}/customers", text=answer)
    with pytest.raises(FincomeConfigError):
        load_op().execute({})
    confirmed = {r["record_id"] for r in rows(store, schema.ledger)}
    assert 0 < len(confirmed) <= 30

    requests_mock.reset_mock()
    requests_mock.post(f"{BASE}/customers", status_code=201)
    audit = load_op().execute({})

    sent = {r.json()["id"] for r in requests_mock.request_history}
    assert sent.isdisjoint(confirmed)
    assert len(sent) == audit["created"] == 60 - len(confirmed)
    assert len(rows(store, schema.ledger)) == 60


def test_load_rejected_records_are_recorded_and_pending_but_do_not_fail_the_task(
    store, requests_mock
):
    stage(store, "customers", customers(3))

    def answer(request, context):
        if request.json()["id"] == "c0001":
            context.status_code = 422
            return {"detail": [{"loc": ["body", "country"], "msg": "unknown country"}]}
        context.status_code = 201
        return {}

    requests_mock.post(f"{BASE}/customers", json=answer)

    audit = load_op().execute({})

    assert (audit["created"], audit["rejected"]) == (2, 1)
    outcome = next(r for r in rows(store, schema.outcomes) if r["record_id"] == "c0001")
    assert (outcome["outcome"], outcome["http_status"]) == ("rejected", 422)
    assert outcome["reason"] == "422: country: unknown country"
    assert [r["record_id"] for r in rows(store, schema.pending)] == ["c0001"]
    assert "c0001" not in {r["record_id"] for r in rows(store, schema.ledger)}


def test_load_failed_after_retries_fails_the_task_after_recording(store, requests_mock):
    stage(store, "customers", customers(4))

    def answer(request, context):
        context.status_code = 503 if request.json()["id"] == "c0002" else 201
        return ""

    requests_mock.post(f"{BASE}/customers", text=answer)

    with pytest.raises(FincomeLoadIncomplete, match="1 of 4"):
        load_op().execute({})

    outcomes = {r["record_id"]: r["outcome"] for r in rows(store, schema.outcomes)}
    assert outcomes["c0002"] == "failed"
    assert len(rows(store, schema.ledger)) == 3


def test_load_failed_can_be_reported_without_failing(store, requests_mock):
    stage(store, "customers", customers(2))
    requests_mock.post(f"{BASE}/customers", status_code=500)

    audit = load_op(fail_on_failed=False).execute({})

    assert audit["failed"] == 2
    assert audit["retries"] > 0


def test_load_dry_run_counts_without_sending(store, requests_mock):
    stage(store, "customers", customers(3))
    requests_mock.post(f"{BASE}/customers", status_code=201)
    load_op().execute({})
    changed = customers(5)
    changed["c0000"]["name"] = "Changed"
    stage(store, "customers", changed, run_key="dry")
    requests_mock.reset_mock()

    audit = load_op(run_key="dry", dry_run=True).execute({})

    assert (audit["would_create"], audit["would_update"], audit["unchanged"]) == (2, 1, 2)
    assert requests_mock.call_count == 0


def test_load_only_reads_its_own_run_and_resource(store, requests_mock):
    stage(store, "customers", customers(2))
    stage(store, "customers", customers(7), run_key="other")
    stage(store, "subscriptions", {"s1": {"id": "s1"}})
    requests_mock.post(f"{BASE}/customers", status_code=201)

    audit = load_op().execute({})

    assert audit["to_send"] == 2


def test_load_logs_progress_and_a_summary(store, requests_mock, capsys, caplog):
    stage(store, "customers", customers(5))
    requests_mock.post(f"{BASE}/customers", status_code=201)

    with caplog.at_level("INFO"):
        load_op().execute({})

    logged = capsys.readouterr().out + caplog.text
    assert "customers: 5/5 (100.0%)" in logged
    assert "ETA" in logged
    assert "customers: finished in" in logged
    assert "created 5" in logged


def test_operator_template_fields_and_no_io_in_init(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_FINCOME_API", raising=False)
    op = FincomeLoadOperator(task_id="t", resource="invoices", run_key="{{ run_id }}")

    assert set(op.template_fields) >= {"fincome_conn_id", "state_conn_id", "run_key", "month"}
    assert op.fincome_conn_id == "fincome_api"
    assert op.state_conn_id == "fincome_state"


def test_operator_refuses_unknown_resource(store):
    with pytest.raises(ValueError, match="resource"):
        load_op(resource="payments").execute({})


# -- delete ---------------------------------------------------------------------------------------


def test_delete_only_what_the_ledger_shows_sent_and_404_counts_as_gone(store, requests_mock):
    stage(store, "invoices", {"i1": {"id": "i1"}, "i2": {"id": "i2"}})
    requests_mock.post(f"{BASE}/invoices", status_code=201)
    load_op(resource="invoices").execute({})
    stage(store, "invoices", {"i1": {}, "i2": {}, "i3": {}}, run_key="del", action="delete")
    requests_mock.delete(f"{BASE}/invoices/i1", status_code=204)
    requests_mock.delete(f"{BASE}/invoices/i2", status_code=404)

    op = FincomeDeleteOperator(task_id="d", resource="invoices", run_key="del")
    op.__dict__["hook"] = FincomeHook(sleep=lambda s: None)
    audit = op.execute({})

    assert (audit["deleted"], audit["absent"], audit["never_sent"]) == (1, 1, 1)
    ledger = {r["record_id"]: r["deleted"] for r in rows(store, schema.ledger)}
    assert ledger == {"i1": True, "i2": True}
    again = FincomeDeleteOperator(task_id="d", resource="invoices", run_key="del").execute({})
    assert again["to_delete"] == 0


def test_deleted_record_staged_again_is_sent_as_new(store, requests_mock):
    stage(store, "customers", customers(1))
    requests_mock.post(f"{BASE}/customers", status_code=201)
    load_op().execute({})
    stage(store, "customers", {"c0000": {}}, run_key="del", action="delete")
    requests_mock.delete(f"{BASE}/customers/c0000", status_code=204)
    FincomeDeleteOperator(task_id="d", resource="customers", run_key="del").execute({})
    stage(store, "customers", customers(1), run_key="back")

    plan = load_op(run_key="back", dry_run=True).execute({})

    assert plan["would_create"] == 1


def test_retry_budget_is_kept_below_the_execution_timeout(store, requests_mock):
    import datetime as dt

    stage(store, "customers", customers(1))
    requests_mock.post(f"{BASE}/customers", status_code=503)
    op = load_op(execution_timeout=dt.timedelta(seconds=4), fail_on_failed=False)

    audit = op.execute({})

    assert op.hook._policy.budget == 2.0  # the connection said 5 s
    assert audit["failed"] == 1


def test_disabled_operator_sends_nothing_and_succeeds(store, requests_mock):
    stage(store, "customers", customers(3))

    audit = load_op(enabled=False, month="2026-02").execute({})

    assert audit == {"resource": "customers", "run_key": RUN, "skipped": True, "month": "2026-02"}
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("rendered", "expected"),
    [
        pytest.param("True", 3, id="string-true-is-a-dry-run"),
        pytest.param("False", 0, id="string-false-sends"),
    ],
)
def test_templated_flags_rendered_as_strings_are_parsed(store, requests_mock, rendered, expected):
    stage(store, "customers", customers(3))
    requests_mock.post(f"{BASE}/customers", status_code=201)

    audit = load_op(dry_run=rendered, full_resync="false").execute({})

    assert audit.get("would_create", 0) == expected
    assert requests_mock.call_count == 3 - expected


def test_a_chunk_sends_only_its_range_and_leaves_the_month_locked_for_its_run(store, requests_mock):
    from fincome_airflow.state.locks import MonthLockedError, acquire, release

    stage(store, "customers", customers(10))
    requests_mock.post(f"{BASE}/customers", status_code=201)
    chunk = {"label": "customers 1/2", "after": None, "upto": "c0003", "records": 4}

    audit = load_op(month="2026-02", chunk=chunk).execute({})

    assert (audit["chunk"], audit["staged"], audit["created"]) == ("customers 1/2", 4, 4)
    sent = sorted(json.loads(r.body)["id"] for r in requests_mock.request_history)
    assert sent == ["c0000", "c0001", "c0002", "c0003"]
    with pytest.raises(MonthLockedError):
        acquire(store, "2026-02", "another-run", lease=dt.timedelta(hours=1))
    release(store, "2026-02", RUN)  # what the run's audit does
    acquire(store, "2026-02", "another-run", lease=dt.timedelta(hours=1))
