"""FincomeHook against requests-mock, connections from AIRFLOW_CONN_* environment variables."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
import requests_mock as rm
from support.clock import FakeClock
from support.connections import FINCOME_BASE, fincome_conn_json

from fincome_airflow.exceptions import FincomeConfigError, FincomeRequestError
from fincome_airflow.hooks.fincome import FincomeHook
from fincome_airflow.hooks.send_result import SendResult
from fincome_airflow.hooks.settings import FincomeSettings

BASE = FINCOME_BASE
API_KEY = "sk_live_TOPSECRET_1234"


def conn_json(extra: dict | None = None, **fields) -> str:
    return fincome_conn_json(API_KEY, {"max_concurrency": 4, **(extra or {})}, **fields)


@pytest.fixture
def fincome_conn(monkeypatch):
    """Set ``AIRFLOW_CONN_FINCOME_API``; call again to change extras."""

    def _set(extra: dict | None = None, **fields) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn_json(extra, **fields))

    _set()
    return _set


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


@pytest.fixture
def sleeps(clock) -> list[float]:
    """Retry waits only (budget waits are recorded too, but never happen at 10k req/s)."""
    return clock.sleeps


def make_hook(clock: FakeClock, **kwargs) -> FincomeHook:
    return FincomeHook(sleep=clock.sleep, clock=clock, rng=lambda: 0.5, **kwargs)


@pytest.fixture
def hook(fincome_conn, clock) -> FincomeHook:
    return make_hook(clock)


# -- identity and connection -------------------------------------------------------------------


def test_hook_identity_attributes():
    assert FincomeHook.conn_name_attr == "fincome_conn_id"
    assert FincomeHook.default_conn_name == "fincome_api"
    assert FincomeHook.conn_type == "fincome"
    assert FincomeHook.hook_name == "Fincome"


def test_hook_constructor_does_no_io(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_FINCOME_API", raising=False)
    hook = FincomeHook(fincome_conn_id="does_not_exist")

    assert hook.fincome_conn_id == "does_not_exist"


def test_get_conn_reuses_one_session(hook):
    assert hook.get_conn() is hook.get_conn()


def test_get_conn_sends_api_key_header_and_never_the_settings_as_headers(hook, requests_mock):
    requests_mock.get(f"{BASE}/customers/c1", json={"id": "c1"})

    hook.get("customers", "c1")

    headers = requests_mock.last_request.headers
    assert headers["X-API-KEY"] == API_KEY
    for key in ("key_header", "requests_per_second", "max_concurrency", "timeout"):
        assert key not in headers
    assert "retry_budget" not in headers
    assert "Authorization" not in headers


@pytest.mark.parametrize("key", ["key_header", "api_key_header"], ids=["key_header", "legacy"])
def test_get_conn_uses_custom_header_name(fincome_conn, requests_mock, key):
    fincome_conn({key: "Authorization-Key"})
    requests_mock.get(f"{BASE}/customers/c1", json={"id": "c1"})

    FincomeHook().get("customers", "c1")

    assert requests_mock.last_request.headers["Authorization-Key"] == API_KEY
    assert "X-API-KEY" not in requests_mock.last_request.headers
    assert key not in requests_mock.last_request.headers


def test_get_conn_ignores_login_for_auth(fincome_conn, requests_mock):
    fincome_conn(login="someone")
    requests_mock.get(f"{BASE}/customers/c1", json={"id": "c1"})

    FincomeHook().get("customers", "c1")

    assert "Authorization" not in requests_mock.last_request.headers


def test_get_conn_mounts_a_pool_sized_to_the_concurrency(fincome_conn):
    fincome_conn({"max_concurrency": 17})

    adapter = FincomeHook().get_conn().get_adapter(f"{BASE}/customers")

    assert adapter._pool_maxsize == 17


def test_every_request_has_the_connection_timeout(fincome_conn, requests_mock):
    fincome_conn({"timeout": 4.5})
    requests_mock.get(f"{BASE}/customers/c1", json={"id": "c1"})

    FincomeHook().get("customers", "c1")

    assert requests_mock.last_request.timeout == 4.5


def test_host_defaults_to_fincome_production(fincome_conn, requests_mock):
    fincome_conn(host=None)
    requests_mock.get("https://api2.fincome.co/product/customers/c1", json={"id": "c1"})

    assert FincomeHook().get("customers", "c1") == {"id": "c1"}


def test_missing_api_key_is_a_configuration_error(fincome_conn):
    fincome_conn(password=None)

    with pytest.raises(FincomeConfigError, match="no API key"):
        FincomeHook().get_conn()


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"max_concurrency": 0}, id="concurrency-zero"),
        pytest.param({"requests_per_second": "fast"}, id="rate-not-a-number"),
        pytest.param({"timeout": 0}, id="timeout-zero"),
    ],
)
def test_bad_extras_are_a_configuration_error(fincome_conn, extra):
    fincome_conn(extra)

    with pytest.raises(FincomeConfigError):
        FincomeHook().get_conn()


def test_settings_defaults_come_from_the_connection_form():
    settings = FincomeSettings.from_extra({})

    assert settings.key_header == "X-API-KEY"
    assert settings.max_concurrency == 8
    assert settings.retry_budget == 300


# -- upsert, classification and retries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        pytest.param(201, "created", id="201-created"),
        pytest.param(200, "updated", id="200-updated"),
    ],
)
def test_upsert_reports_created_and_updated_separately(hook, requests_mock, status, kind):
    requests_mock.post(f"{BASE}/customers", status_code=status)

    outcome = hook.upsert("customers", {"id": "c1", "name": "Acme"})

    assert outcome == SendResult("customers", "c1", kind, status, None, 1, 0, 0)
    assert requests_mock.last_request.json() == {"id": "c1", "name": "Acme"}


def test_upsert_sends_json_text_as_is(hook, requests_mock):
    requests_mock.post(f"{BASE}/invoices", status_code=201)

    outcome = hook.upsert("invoices", '{"id":"i1","net_amount":"10.00"}', record_id="i1")

    assert outcome.kind == "created"
    assert requests_mock.last_request.body == b'{"id":"i1","net_amount":"10.00"}'
    assert requests_mock.last_request.headers["Content-Type"] == "application/json"


def test_upsert_422_is_rejected_with_reason_and_not_retried(hook, requests_mock, sleeps):
    body = {"detail": [{"loc": ["body", "customer_id"], "msg": "customer not found"}]}
    requests_mock.post(f"{BASE}/invoices", status_code=422, json=body)

    outcome = hook.upsert("invoices", {"id": "i1"})

    assert outcome.kind == "rejected"
    assert outcome.reason == "422: customer_id: customer not found"
    assert requests_mock.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_upsert_auth_failure_raises_without_any_retry(hook, requests_mock, sleeps, status):
    from airflow.sdk.exceptions import AirflowFailException

    requests_mock.post(f"{BASE}/customers", status_code=status)

    with pytest.raises(FincomeConfigError) as excinfo:
        hook.upsert("customers", {"id": "c1"})

    assert isinstance(excinfo.value, AirflowFailException)
    assert requests_mock.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status_code": 503}, id="503"),
        pytest.param({"status_code": 500}, id="500"),
        pytest.param({"exc": requests.ConnectionError("reset by peer")}, id="connection-reset"),
        pytest.param({"exc": requests.ReadTimeout("read timed out")}, id="read-timeout"),
        pytest.param({"exc": requests.exceptions.ChunkedEncodingError()}, id="dropped-mid-body"),
    ],
)
def test_upsert_retries_transient_failures_with_backoff(hook, requests_mock, sleeps, failure):
    requests_mock.post(f"{BASE}/customers", [failure, failure, {"status_code": 201}])

    outcome = hook.upsert("customers", {"id": "c1"})

    assert outcome.kind == "created"
    assert (outcome.attempts, outcome.retries) == (3, 2)
    assert sleeps == [0.375, 0.75]  # equal jitter with rng=0.5: 3/4 of 0.5 s, then of 1 s
    assert hook.retries == 2
    assert hook.requests_made == 3


def test_upsert_429_waits_retry_after_and_pauses_the_shared_budget(hook, requests_mock, sleeps):
    requests_mock.post(
        f"{BASE}/customers",
        [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"status_code": 200}],
    )

    outcome = hook.upsert("customers", {"id": "c1"})

    assert outcome.kind == "updated"
    assert outcome.rate_limited == 1
    # The retry waits 7 s; the shared budget was paused for the same 7 s, so no other wait.
    assert sum(sleeps) == pytest.approx(7.0)
    assert sleeps[0] == 7.0
    assert hook.rate_limited == 1
    assert hook._budget._paused_until == pytest.approx(1007.0)


def test_upsert_429_retry_after_is_capped(hook, requests_mock, sleeps):
    requests_mock.post(
        f"{BASE}/customers",
        [{"status_code": 429, "headers": {"Retry-After": "3600"}}, {"status_code": 201}],
    )

    hook.upsert("customers", {"id": "c1"})

    assert sleeps[0] == 60.0


def test_upsert_fails_after_retries_when_the_budget_is_spent(
    fincome_conn, requests_mock, clock, sleeps
):
    fincome_conn({"retry_budget": 5})
    requests_mock.post(f"{BASE}/customers", status_code=503)

    outcome = make_hook(clock).upsert("customers", {"id": "c1"})

    assert outcome.kind == "failed"
    assert outcome.reason.startswith(f"failed after {outcome.attempts} attempts: 503")
    assert sum(sleeps) < 5
    assert outcome.retries == len(sleeps) == outcome.attempts - 1


def test_upsert_gives_up_at_once_when_retry_after_exceeds_the_budget(
    fincome_conn, requests_mock, clock, sleeps
):
    fincome_conn({"retry_budget": 10})
    requests_mock.post(f"{BASE}/customers", status_code=429, headers={"Retry-After": "30"})

    outcome = make_hook(clock).upsert("customers", {"id": "c1"})

    assert (outcome.kind, outcome.attempts, outcome.rate_limited) == ("failed", 1, 1)
    assert sleeps == []


# -- get, delete, list ----------------------------------------------------------------------------


def test_get_returns_none_when_absent(hook, requests_mock):
    requests_mock.get(f"{BASE}/customers/c%2F1", status_code=404)

    assert hook.get("customers", "c/1") is None


def test_get_raises_after_retries(fincome_conn, requests_mock, clock):
    fincome_conn({"retry_budget": 1})
    requests_mock.get(f"{BASE}/customers/c1", status_code=500)

    with pytest.raises(FincomeRequestError, match="500"):
        make_hook(clock).get("customers", "c1")


@pytest.mark.parametrize(
    ("status", "kind"),
    [pytest.param(204, "deleted", id="204-deleted"), pytest.param(404, "absent", id="404-absent")],
)
def test_delete(hook, requests_mock, status, kind):
    requests_mock.delete(f"{BASE}/invoices/i1", status_code=status)

    assert hook.delete("invoices", "i1").kind == kind


def test_list_walks_pagination_with_starting_after(hook, requests_mock):
    requests_mock.get(
        f"{BASE}/invoices",
        [
            {"json": {"data": [{"id": "a"}, {"id": "b"}], "has_more": True}},
            {"json": {"data": [{"id": "c"}], "has_more": False}},
        ],
    )

    rows = list(hook.list("invoices", limit=2, issue_date_gte="2026-01-01"))

    assert [r["id"] for r in rows] == ["a", "b", "c"]
    first, second = requests_mock.request_history
    assert first.qs == {"limit": ["2"], "issue_date_gte": ["2026-01-01"]}
    assert second.qs == {"limit": ["2"], "issue_date_gte": ["2026-01-01"], "starting_after": ["b"]}


def test_list_is_lazy(hook, requests_mock):
    requests_mock.get(f"{BASE}/customers", json={"data": [{"id": "a"}], "has_more": True})

    first = next(hook.list("customers"))

    assert first == {"id": "a"}
    assert requests_mock.call_count == 1


# -- streaming ------------------------------------------------------------------------------------


def test_upsert_many_yields_one_outcome_per_record(hook, requests_mock):
    def answer(request, context):
        context.status_code = 422 if request.json()["id"] == "r7" else 201
        return {"detail": [{"loc": ["body", "name"], "msg": "bad"}]}

    requests_mock.post(f"{BASE}/customers", json=answer)

    outcomes = list(hook.upsert_many("customers", ((f"r{i}", {"id": f"r{i}"}) for i in range(50))))

    assert sorted(o.record_id for o in outcomes) == sorted(f"r{i}" for i in range(50))
    kinds = {o.record_id: o.kind for o in outcomes}
    assert kinds["r7"] == "rejected"
    assert list(kinds.values()).count("created") == 49


def test_upsert_many_never_materializes_the_iterable(fincome_conn, requests_mock):
    fincome_conn({"max_concurrency": 2})
    requests_mock.post(f"{BASE}/customers", status_code=201)
    pulled = 0

    def endless() -> Iterator[tuple[str, dict]]:
        nonlocal pulled
        while True:
            pulled += 1
            yield str(pulled), {"id": str(pulled)}

    stream = FincomeHook(window=4).upsert_many("customers", endless())
    first = [next(stream) for _ in range(10)]
    stream.close()

    assert len(first) == 10
    assert pulled <= 10 + 4 + 1


def test_upsert_many_raises_config_error_and_stops(hook, requests_mock):
    requests_mock.post(f"{BASE}/customers", status_code=401)

    with pytest.raises(FincomeConfigError):
        list(hook.upsert_many("customers", ((str(i), {"id": str(i)}) for i in range(1000))))

    assert requests_mock.call_count < 1000


def test_upsert_many_shares_one_session_across_threads(hook, requests_mock):
    threads = set()

    def answer(request, context):
        threads.add(threading.current_thread().name)
        context.status_code = 201
        return ""

    requests_mock.post(f"{BASE}/customers", text=answer)
    session = hook.get_conn()

    list(hook.upsert_many("customers", ((str(i), {"id": str(i)}) for i in range(40))))

    assert hook.get_conn() is session
    assert len(threads) > 1


def test_delete_many(hook, requests_mock):
    requests_mock.delete(rm.ANY, status_code=204)

    outcomes = list(hook.delete_many("invoices", iter(["a", "b", "c"])))

    assert sorted((o.record_id, o.kind) for o in outcomes) == [
        ("a", "deleted"),
        ("b", "deleted"),
        ("c", "deleted"),
    ]


# -- test_connection ------------------------------------------------------------------------------


def test_test_connection_makes_an_authenticated_read(hook, requests_mock):
    requests_mock.get(f"{BASE}/customers", json={"data": [], "has_more": False})

    ok, message = hook.test_connection()

    assert ok is True
    assert "authenticated read" in message
    assert requests_mock.last_request.qs == {"limit": ["1"]}
    assert requests_mock.last_request.headers["X-API-KEY"] == API_KEY


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param({"status_code": 401}, "401", id="bad-key"),
        pytest.param({"status_code": 503}, "503", id="server-down"),
        pytest.param({"exc": requests.ConnectionError("refused")}, "Cannot reach", id="down"),
    ],
)
def test_test_connection_reports_failure_without_retrying(hook, requests_mock, answer, expected):
    requests_mock.get(f"{BASE}/customers", **answer)

    ok, message = hook.test_connection()

    assert ok is False
    assert expected in message
    assert requests_mock.call_count == 1
