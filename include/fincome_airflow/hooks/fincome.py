"""The Fincome hook: the connection, its session and settings, the contract's endpoints.

One request retried is :mod:`.retrying`, its final answer made a record's result is
:mod:`.send_result`, the concurrent fan-out is :mod:`.stream`, the counters :mod:`.counters`.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from fincome_airflow import contract
from fincome_airflow.exceptions import FincomeRequestError
from fincome_airflow.hooks.answers import AnswerClass
from fincome_airflow.hooks.budget import Budget, Clock, RetryPolicy, Sleep, open_budget
from fincome_airflow.hooks.connection_test import explain_failure
from fincome_airflow.hooks.counters import RequestCounters
from fincome_airflow.hooks.redact import Redactor
from fincome_airflow.hooks.retrying import Answer, FinalAnswer, send_until_final
from fincome_airflow.hooks.send_result import SendResult, send_result
from fincome_airflow.hooks.settings import SETTING_KEYS, FincomeSettings, connection_settings
from fincome_airflow.hooks.stream import stream_results
from fincome_airflow.provider_info import CONN_TYPE, DEFAULT_CONN_ID

if TYPE_CHECKING:
    from fincome_airflow.models import FincomeModel


class FincomeHook(HttpHook):
    """Talk to the Fincome API through a ``fincome`` connection.

    Host is the base URL, password the API key; the extras ``key_header``,
    ``requests_per_second``, ``max_concurrency``, ``timeout``, ``retry_budget`` and
    ``budget_store`` configure the hook and are never sent as headers (other extras keep
    HttpHook's meaning). With a ``budget_store`` every hook on every worker draws from one
    budget per base URL; without, each hook has the whole budget. HttpHook's generic ``run()``
    is inherited as it is; the endpoint methods below are the hook's API.

    :param fincome_conn_id: the connection id.
    :param sleep: replaces waiting between retries (tests pass a no-op or a fake clock's sleep).
    :param clock: monotonic clock for the budgets.
    :param rng: jitter source, ``() -> [0, 1)``.
    :param window: records in flight in :meth:`upsert_many` (default twice the concurrency).
    """

    conn_name_attr = "fincome_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Fincome"
    default_host = contract.DEFAULT_BASE_URL

    def __init__(
        self,
        fincome_conn_id: str = default_conn_name,
        *,
        sleep: Sleep | None = None,
        clock: Clock = time.monotonic,
        rng: Callable[[], float] = random.random,
        window: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(method="GET", http_conn_id=fincome_conn_id, **kwargs)
        self.fincome_conn_id = fincome_conn_id
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._window = window
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._settings: FincomeSettings | None = None
        self._budget: Budget | None = None
        self._policy: RetryPolicy | None = None
        self.redact = Redactor()
        self._counters = RequestCounters()

    # -- connection ---------------------------------------------------------------------------

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """Return the hook's session, built once and reused by every request and thread."""
        if headers or extra_options:
            return self._build_session(headers, extra_options)
        with self._lock:
            if self._session is None:
                self._session = self._build_session()
            return self._session

    @property
    def settings(self) -> FincomeSettings:
        self.get_conn()
        assert self._settings is not None
        return self._settings

    def _build_session(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        connection = self.get_connection(self.fincome_conn_id)
        api_key = connection.password
        self.redact = Redactor(api_key)
        settings = connection_settings(self.fincome_conn_id, connection)
        session = super().get_conn(headers, extra_options)
        if self.adapter is None:
            adapter = TCPKeepAliveAdapter(pool_connections=1, pool_maxsize=settings.max_concurrency)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        session.headers[settings.key_header] = api_key
        session.headers["Accept"] = "application/json"
        if self._settings is None:
            self._budget = open_budget(
                settings.budget_store,
                self.base_url,
                settings.requests_per_second,
                settings.max_concurrency,
                timeout=settings.timeout,
                clock=self._clock,
                sleep=self._sleep or time.sleep,
            )
            self._settings = settings
            self._policy = RetryPolicy(budget=settings.retry_budget, rng=self._rng)
        return session

    def _configure_session_from_extra(
        self, session: requests.Session, connection: Any, extra_options: dict[str, Any]
    ) -> requests.Session:
        session = super()._configure_session_from_extra(session, connection, extra_options)
        for key in SETTING_KEYS:
            session.headers.pop(key, None)
        return session

    def _extract_auth(self, connection: Any) -> Any | None:
        # The API key header authenticates; never send the password as basic auth.
        return self.auth_type() if self._auth_type else None

    def limit_retry_budget(self, seconds: float) -> float:
        """Lower the per-record retry budget to at most ``seconds``; return the budget in force.

        Operators call it with a share of their ``execution_timeout``, so that a record's retries
        always end before Airflow kills the task.
        """
        self.get_conn()
        assert self._policy is not None
        if seconds < self._policy.budget:
            self._policy = dataclasses.replace(self._policy, budget=seconds)
        return self._policy.budget

    # -- counters -----------------------------------------------------------------------------

    @property
    def requests_made(self) -> int:
        return self._counters["requests"]

    @property
    def retries(self) -> int:
        return self._counters["retries"]

    @property
    def rate_limited(self) -> int:
        return self._counters["rate_limited"]

    def stats(self) -> dict[str, int]:
        """Requests made, retries and 429s since the hook was built."""
        return self._counters.snapshot()

    # -- one request --------------------------------------------------------------------------

    def _send_once(
        self, method: str, url: str, params: Mapping[str, Any] | None, body: bytes | None
    ) -> Answer:
        session = self.get_conn()
        assert self._budget is not None and self._settings is not None
        headers = {"Content-Type": "application/json"} if body is not None else None
        # Prepared before the slot is taken (what ``session.request`` does), so that the start
        # the budget records is as close as it can be to the moment the request leaves.
        try:
            prepared = session.prepare_request(
                requests.Request(method, url, params=params, data=body, headers=headers)
            )
            options = session.merge_environment_settings(prepared.url, {}, None, None, None)
        except requests.RequestException as e:
            return e
        with self._budget.slot():
            self._counters.add("requests")
            try:
                return session.send(prepared, timeout=self._settings.timeout, **options)
            except requests.RequestException as e:
                return e

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        stop: threading.Event | None = None,
    ) -> FinalAnswer:
        """Send until the answer is final (:func:`.retrying.send_until_final`).

        :raise FincomeConfigError: on 401/403 or an unusable base URL (no retry at all).
        """
        self.get_conn()
        assert self._policy is not None and self._budget is not None
        url = self.url_from_endpoint(path)
        return send_until_final(
            lambda: self._send_once(method, url, params, body),
            method,
            f"Fincome {method} {path}",
            policy=self._policy,
            budget=self._budget,
            counters=self._counters,
            clock=self._clock,
            sleep=self._sleep,
            stop=stop,
            redact=self.redact,
            log=self.log,
        )

    # -- the contract's endpoints -------------------------------------------------------------

    def upsert(
        self,
        resource: contract.Resource,
        payload: Mapping[str, Any] | FincomeModel | str | bytes,
        *,
        record_id: str | None = None,
        stop: threading.Event | None = None,
    ) -> SendResult:
        """Create or replace one record (``POST /{resource}``): created, updated, rejected or
        failed after retries.

        :raise FincomeConfigError: when the key is refused.
        """
        body, record_id = _encode(payload, record_id)
        final = self._call("POST", contract.resource_path(resource), body=body, stop=stop)
        return send_result(resource, record_id, final, self.redact)

    def delete(
        self, resource: contract.Resource, record_id: str, *, stop: threading.Event | None = None
    ) -> SendResult:
        """Delete one record: deleted, absent (404: already gone), rejected or failed."""
        final = self._call("DELETE", contract.resource_path(resource, record_id), stop=stop)
        return send_result(resource, record_id, final, self.redact)

    def get(self, resource: contract.Resource, record_id: str) -> dict[str, Any] | None:
        """Read one record, or ``None`` when Fincome does not have it (404).

        :raise FincomeRequestError: when the read fails after its retries.
        """
        final = self._call("GET", contract.resource_path(resource, record_id))
        if final.verdict.answer_class is AnswerClass.ABSENT:
            return None
        return self._json(final, f"GET {resource}/{record_id}")

    def list(
        self, resource: contract.Resource, *, limit: int = contract.LIST_MAX_LIMIT, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Yield every record of a resource, walking the ``starting_after`` pagination.

        :param filters: query parameters, e.g. ``issue_date_gte`` / ``issue_date_lt`` on invoices.
        """
        params: dict[str, Any] = {**filters, contract.LIST_LIMIT_PARAM: limit}
        while True:
            page = self._json(
                self._call("GET", contract.resource_path(resource), params=params),
                f"GET {resource}",
            )
            data = page.get("data") or []
            yield from data
            if not page.get("has_more") or not data:
                return
            params[contract.LIST_CURSOR_PARAM] = data[-1]["id"]

    def _json(self, final: FinalAnswer, what: str) -> Any:
        if final.verdict.answer_class is not AnswerClass.SUCCESS or final.response is None:
            raise FincomeRequestError(self.redact(f"{what}: {final.verdict.message}"))
        try:
            return final.response.json()
        except ValueError as e:
            raise FincomeRequestError(f"{what}: the answer is not JSON") from e

    # -- streaming, concurrent ----------------------------------------------------------------

    def upsert_many(
        self,
        resource: contract.Resource,
        records: Iterable[tuple[str, Mapping[str, Any] | FincomeModel | str | bytes]],
    ) -> Iterator[SendResult]:
        """Send ``(id, payload)`` records concurrently; yield each result as soon as known.

        Records are pulled from ``records`` in the caller's thread, only as fast as a bounded
        window frees up, so a million-record iterable is never held in memory. Results come
        in completion order. A refused key raises :class:`FincomeConfigError` at once.
        """

        def task(record: tuple[str, Any], stop: threading.Event) -> Callable[[], SendResult]:
            return lambda: self.upsert(resource, record[1], record_id=record[0], stop=stop)

        return self._stream(records, task)

    def delete_many(
        self, resource: contract.Resource, record_ids: Iterable[str]
    ) -> Iterator[SendResult]:
        """Delete records concurrently; yield each result as soon as known."""

        def task(record_id: str, stop: threading.Event) -> Callable[[], SendResult]:
            return lambda: self.delete(resource, record_id, stop=stop)

        return self._stream(record_ids, task)

    def _stream(
        self,
        items: Iterable[Any],
        make_task: Callable[[Any, threading.Event], Callable[[], SendResult]],
    ) -> Iterator[SendResult]:
        settings = self.settings
        # With a shared budget, a thread also spends time asking the store for its slot: more
        # threads than slots keep every slot busy (the store bounds the requests in flight).
        threads = settings.max_concurrency * (2 if settings.budget_store else 1)
        return stream_results(
            items, make_task, concurrency=threads, window=self._window or 2 * threads
        )

    def test_connection(self) -> tuple[bool, str]:
        """Make one authenticated read (``GET /customers?limit=1``), no retry; on failure, say
        whether the key, the URL or the network is at fault (the *Test* button shows it)."""
        try:
            self.get_conn()
            url = self.url_from_endpoint(contract.resource_path("customers"))
            answer = self._send_once("GET", url, {contract.LIST_LIMIT_PARAM: 1}, None)
        except Exception as e:
            return False, self.redact(str(e))
        if isinstance(answer, requests.Response) and answer.ok:
            return True, "Connection successfully tested: authenticated read of /customers"
        return False, self.redact(explain_failure(self.base_url, answer))


def _encode(
    payload: Mapping[str, Any] | FincomeModel | str | bytes, record_id: str | None
) -> tuple[bytes, str]:
    """JSON body and record id of a payload (a mapping, a model or JSON text sent as is)."""
    if isinstance(payload, bytes | str):
        body = payload.encode() if isinstance(payload, str) else payload
        return body, record_id or str(json.loads(body).get("id", ""))
    data = payload.to_payload() if hasattr(payload, "to_payload") else dict(payload)
    return json.dumps(data, separators=(",", ":")).encode(), record_id or str(data.get("id", ""))
