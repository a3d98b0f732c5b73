"""The baselines of the load: a naive client and a bare concurrent client.

Both send the very payloads staged for the load (prepared bytes), to the same sandbox:

* :func:`naive` — one request at a time, a new connection each, as a loop of ``HttpOperator``
  calls would (``requests.post`` builds a session and a connection per call);
* :func:`bare_concurrent` — ``concurrency`` threads, each with its own keep-alive session, no
  budget, no retry, no bookkeeping: the raw capacity of the sandbox for this client machine.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import requests
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fincome_airflow import contract

#: A phase is sent completely before the next starts (parents before children).
Phase = list[tuple[str, bytes]]


@dataclass
class ClientRun:
    requests: int
    seconds: float
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def phases(engine: Engine, run_key: str) -> list[tuple[str, Phase]]:
    """The staged payloads of ``run_key`` in load order: root customers, child customers,
    subscriptions, invoices."""
    query = text(
        "SELECT record_id, payload FROM fincome_staged WHERE run_key = :k AND resource = :r "
        "AND action = 'upsert' ORDER BY record_id"
    )
    out: list[tuple[str, Phase]] = []
    with engine.connect() as conn:
        for resource in contract.RESOURCES:
            result = conn.execute(query, {"k": run_key, "r": resource})
            rows = [(r[0], r[1].encode()) for r in result]
            if resource == "customers":
                roots = [r for r in rows if b'"root_parent_id"' not in r[1]]
                children = [r for r in rows if b'"root_parent_id"' in r[1]]
                out += [("customers", roots), ("customers", children)]
            else:
                out.append((resource, rows))
    return out


def _flat(plan: Sequence[tuple[str, Phase]], limit: int) -> Iterator[tuple[str, bytes]]:
    sent = 0
    for resource, rows in plan:
        for _, body in rows:
            if sent >= limit:
                return
            sent += 1
            yield resource, body


def naive(base_url: str, api_key: str, plan: Sequence[tuple[str, Phase]], limit: int) -> ClientRun:
    """Send the first ``limit`` payloads one by one, a new connection for each."""
    statuses: Counter[str] = Counter()
    headers = {contract.DEFAULT_API_KEY_HEADER: api_key, "Content-Type": "application/json"}
    started = time.perf_counter()
    count = 0
    for resource, body in _flat(plan, limit):
        url = base_url + contract.resource_path(resource)  # type: ignore[arg-type]
        response = requests.post(url, data=body, headers=headers, timeout=30)
        statuses[str(response.status_code)] += 1
        count += 1
    return ClientRun(count, time.perf_counter() - started, dict(statuses))


def bare_concurrent(
    base_url: str, api_key: str, plan: Sequence[tuple[str, Phase]], concurrency: int
) -> ClientRun:
    """Send every payload with ``concurrency`` keep-alive threads, phase after phase."""
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    headers = {contract.DEFAULT_API_KEY_HEADER: api_key, "Content-Type": "application/json"}
    sessions = [requests.Session() for _ in range(concurrency)]
    count = 0
    started = time.perf_counter()
    for resource, rows in plan:
        url = base_url + contract.resource_path(resource)  # type: ignore[arg-type]
        source = iter(rows)

        def worker(
            session: requests.Session, source: Iterator[tuple[str, bytes]] = source, url: str = url
        ) -> None:
            nonlocal count
            local: Counter[str] = Counter()
            while True:
                with lock:
                    item = next(source, None)
                if item is None:
                    break
                answer = session.post(url, data=item[1], headers=headers, timeout=30)
                local[str(answer.status_code)] += 1
            with lock:
                statuses.update(local)
                count += sum(local.values())

        threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    seconds = time.perf_counter() - started
    for s in sessions:
        s.close()
    return ClientRun(count, seconds, dict(statuses))
