"""Chunks of a staged month against a real state database (SQLite, PostgreSQL) and the sandbox:
they cover every record once, keep customer trees whole, and a chunk's retry resends nothing."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from support.connections import fincome_conn_json
from support.staging import stage_records

from fincome_airflow.contract import DELETIONS
from fincome_airflow.hooks.fincome import FincomeHook
from fincome_airflow.load.chunks import ChunkSizing, key_range, plan_chunks
from fincome_airflow.load.send_loops import load_resource
from fincome_airflow.state import schema
from fincome_airflow.state.ledger import Ledger
from fincome_airflow.state.store import StateStore

RUN = "manual__2026-10"
PLAN = {
    "run_key": RUN,
    "month": "2026-10",
    "send": True,
    "resources": ["customers", "subscriptions", "invoices"],
    "full_resync": False,
    "reconcile_only": False,
}
#: 10 records a chunk (the minimum): 1 req/s for 20 s, half of it.
SIZING = ChunkSizing(rate=1, timeout_s=20, parallel=1)
log = logging.getLogger(__name__)


@pytest.fixture
def store(state_db_url) -> StateStore:
    store = StateStore.from_url(state_db_url)
    store.ensure_schema()
    return store


def customers() -> list[tuple[str, dict]]:
    """30 customers: groups of a root and 0-3 members (``root_parent_id``), ids interleaved so
    that members sort far from their root."""
    records = []
    for n in range(10):
        root = f"C{n:02d}"
        records.append((root, {"id": root, "name": root}))
        for m in range(n % 4):
            member = f"M{m}{n:02d}"
            records.append((member, {"id": member, "name": member, "root_parent_id": root}))
    return records


def chunk_ids(store: StateStore, resource: str, chunks: list[dict]) -> list[set[str]]:
    return [
        {r.record_id for r in Ledger(store, RUN, resource, key_range(c)).iter_to_send()}
        for c in chunks
    ]


def test_chunks_cover_every_record_once_and_hold_whole_customer_trees(store):
    staged = customers()
    stage_records(store, "customers", staged, run_key=RUN)
    chunks = plan_chunks(store, PLAN, "customers", SIZING)
    assert len(chunks) >= 2
    assert [c["label"] for c in chunks] == [
        f"customers {i}/{len(chunks)}" for i in range(1, len(chunks) + 1)
    ]
    parts = chunk_ids(store, "customers", chunks)
    assert sum(len(p) for p in parts) == len(staged) == sum(c["records"] for c in chunks)
    assert set().union(*parts) == {record_id for record_id, _ in staged}
    for record_id, payload in staged:
        if root := payload.get("root_parent_id"):
            (part,) = [p for p in parts if record_id in p]
            assert root in part, (record_id, root)


def test_a_hierarchy_deeper_than_root_and_members_is_not_cut(store):
    staged = [*customers(), ("G1", {"id": "G1", "name": "g", "root_parent_id": "M003"})]
    stage_records(store, "customers", staged, run_key=RUN)
    chunks = plan_chunks(store, PLAN, "customers", SIZING)
    assert [(c["after"], c["upto"], c["records"]) for c in chunks] == [(None, None, len(staged))]


def test_a_dry_run_or_a_step_not_selected_is_one_whole_chunk(store):
    stage_records(store, "customers", customers(), run_key=RUN)
    dry = plan_chunks(store, {**PLAN, "send": False}, "customers", SIZING)
    unselected = plan_chunks(store, {**PLAN, "resources": ["invoices"]}, "customers", SIZING)
    for chunks in (dry, unselected):
        assert [(c["after"], c["upto"]) for c in chunks] == [(None, None)]


def test_deletions_are_cut_among_the_records_fincome_holds(store):
    invoices = [(f"I{n:03d}", {"id": f"I{n:03d}"}) for n in range(30)]
    confirmed = [
        {"resource": "invoices", "record_id": i, "payload_hash": "h", "deleted": False,
         "run_key": "earlier", "confirmed_at": dt.datetime.now(dt.UTC)}
        for i, _ in invoices[:25]
    ]  # fmt: skip
    store.insert_rows(schema.ledger, confirmed)
    stage_records(store, "invoices", invoices, run_key=RUN, action="delete")
    chunks = plan_chunks(store, PLAN, DELETIONS, SIZING)
    assert [c["records"] for c in chunks] == [10, 10, 5]
    assert chunks[0]["label"] == "deletions 1/3"


def connect(monkeypatch, sandbox) -> None:
    settings = {"requests_per_second": 500, "max_concurrency": 4}
    conn = fincome_conn_json(sandbox.api_key, settings, host=sandbox.base_url)
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", conn)


def test_a_chunk_sends_only_its_records_and_its_retry_sends_nothing(store, sandbox, monkeypatch):
    connect(monkeypatch, sandbox)
    stage_records(store, "customers", customers(), run_key=RUN)
    chunks = plan_chunks(store, PLAN, "customers", SIZING)
    parts = chunk_ids(store, "customers", chunks)
    hook = FincomeHook()

    def load_chunk(index: int) -> dict:
        ledger = Ledger(store, RUN, "customers", key_range(chunks[index]))
        return load_resource(hook, ledger, log=log)

    first = load_chunk(0)
    assert set(sandbox.dump()["customers"]) == parts[0]
    assert first["created"] == len(parts[0])
    retry = load_chunk(0)
    assert (retry["to_send"], retry["unchanged"]) == (0, len(parts[0]))
    second = load_chunk(1)
    assert second["created"] == len(parts[1])
    assert set(sandbox.dump()["customers"]) == parts[0] | parts[1]
    posts = sum(sandbox.stats()["requests"]["POST /customers"].values())
    assert posts == len(parts[0]) + len(parts[1])
