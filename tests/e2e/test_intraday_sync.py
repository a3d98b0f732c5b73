"""``fincome_intraday_sync`` end to end: ``airflow dags test`` against the sandbox over real HTTP,
beside the monthly load of the same ERP, state database and sandbox.

The demo ERP (every defect kind, October 2026) is loaded once by the monthly DAG; changes made
in the ERP afterwards must reach Fincome through the intraday sync alone, and the monthly run
that follows must find nothing left to send.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from support.dag_runs import LENIENT, MONTH, MonthlyLoad, ok, writes
from support.erp import fill_demo_erp
from support.erp_truth import (
    RESOURCES,
    Records,
    assert_holds,
    erp_timestamp,
    expected_fincome,
    month_scope,
    read_erp,
    refused_ids,
    update_erp,
)

from fincome_airflow.state.locks import acquire, release
from fincome_airflow.state.store import StateStore

pytestmark = pytest.mark.timeout(600)

#: A sync on the 1st of November: the open month is November, October has just ended.
CLOSE_DAY = "2026-11-01T00:30:00+00:00"


def set_status(erp_url: str, invoice_no: str, status: str, at: dt.datetime) -> None:
    changed = update_erp(
        erp_url,
        "UPDATE {erp}invoices SET doc_status = :status, updated_at = :at WHERE invoice_no = :no",
        status=status,
        at=erp_timestamp(at),
        no=invoice_no,
    )
    assert changed == 1


def loaded_month(erp_url: str, state_url: str, sandbox: Any, bind: Callable[..., MonthlyLoad]):
    """The demo ERP loaded once by the monthly DAG: (the load, ERP, refused ids, Fincome)."""
    refused = refused_ids(fill_demo_erp(erp_url))
    load = bind(erp_url, state_url, sandbox)
    ok(load.run(MONTH, **LENIENT))
    erp = read_erp(erp_url)
    return load, erp, refused, expected_fincome(erp, month_scope(erp, MONTH), refused)


def issued(erp: Any, expected: Records, count: int) -> list[str]:
    """``count`` invoices of the month that Fincome holds as issued, without credit notes."""
    credited = {note["invoice_id"] for note in expected["credit_notes"].values()}
    found = [
        no
        for no in sorted(expected["invoices"])
        if erp.invoices[no]["doc_status"] == "ISSUED" and no not in credited
    ]
    assert len(found) >= count
    return found[:count]


def test_erp_changes_reach_fincome_through_the_intraday_sync_alone(
    databases, sandbox, monthly_load: Callable[..., MonthlyLoad]
):
    erp_url, state_url = databases
    load, erp, refused, expected = loaded_month(erp_url, state_url, sandbox, monthly_load)
    monthly_watermark = StateStore.from_url(state_url).last_watermark()
    paid, cancelled = issued(erp, expected, 2)
    draft = next(no for no, inv in erp.invoices.items() if inv["doc_status"] == "DRAFT")
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    set_status(erp_url, paid, "PAID", at)
    set_status(erp_url, cancelled, "CANCELLED", at)
    set_status(erp_url, draft, "DRAFT", at)  # edited, still a draft: never sent

    # The sync sends the payment and deletes the cancelled invoice, nothing else.
    sandbox.reset_stats()
    sync = ok(load.sync())
    assert writes(sandbox) == {"POST /invoices": 1, "DELETE /invoices/{record_id}": 1}
    dump = sandbox.dump()
    assert dump["invoices"][paid]["status"] == "paid"
    assert cancelled not in dump["invoices"]
    assert draft not in dump["invoices"]
    assert_holds(sandbox, expected_fincome(read_erp(erp_url), month_scope(erp, MONTH), refused))
    assert (sync.status, sync.summary["kind"]) == ("done", "intraday")
    assert sync.counts("updated") == {**dict.fromkeys(RESOURCES, 0), "invoices": 1}
    assert sync.counts("deleted") == {**dict.fromkeys(RESOURCES, 0), "invoices": 1}
    assert sync.counts("created") == dict.fromkeys(RESOURCES, 0)
    assert all(counts["balanced"] for counts in sync.resources.values())
    # It read the changed rows (and the refused ones still pending), not the month.
    assert sync.counts("extracted")["invoices"] < len(expected["invoices"]) / 2
    assert sync.summary["reconciliation"] is None
    # Its watermark is its own: the monthly load's stays where the monthly run left it.
    assert StateStore.from_url(state_url).last_watermark() == monthly_watermark

    # A second sync finds nothing new; the monthly run afterwards sends nothing either, and
    # reconciles the month the sync changed.
    sandbox.reset_stats()
    assert ok(load.sync()).status == "done"
    assert writes(sandbox) == {}
    monthly = ok(load.run(MONTH, **LENIENT))
    assert writes(sandbox) == {}
    assert monthly.summary["kind"] == "monthly"
    assert monthly.summary["reconciliation"]["verdict"] == "reconciled"


def test_the_reject_gate_stops_an_intraday_sync_before_any_send(
    tmp_path, sandbox, monthly_load: Callable[..., MonthlyLoad]
):
    """The refusals the monthly run already reported (the demo's defects, still pending) do not
    count: unchanged, the sync does not read them again. New ones do, run after run, until the
    ERP is fixed or the ratio raised."""
    erp_url, state_url = f"sqlite:///{tmp_path / 'erp.sqlite'}", f"sqlite:///{tmp_path / 's.db'}"
    load, erp, _refused, expected = loaded_month(erp_url, state_url, sandbox, monthly_load)
    broken = issued(erp, expected, 5)
    assert len(broken) == update_erp(
        erp_url,
        "UPDATE {erp}invoices SET currency = 'ZZZ', updated_at = :at WHERE invoice_no IN "
        f"({', '.join(repr(no) for no in broken)})",
        at=erp_timestamp(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)),
    )
    sandbox.reset_stats()
    for _ in range(2):
        gated = load.sync()  # the default max_reject_ratio, 5%
        assert gated.returncode != 0, gated.tail()
        assert "nothing was sent" in gated.log, gated.tail()
        assert re.search(r"\b5 of \d+ records refused", gated.log), gated.tail()
        assert gated.status == "failed"
        assert writes(sandbox) == {}
    assert gated.summary["top_reject_reasons"][0][0] == "unknown_currency"


def test_an_intraday_sync_waits_while_a_monthly_run_of_its_month_sends(
    tmp_path, sandbox, monthly_load: Callable[..., MonthlyLoad]
):
    """The month lock: held by a monthly run, the sync's loads fail (after their retries)
    sending nothing; once released, the next sync sends the change."""
    erp_url, state_url = f"sqlite:///{tmp_path / 'erp.sqlite'}", f"sqlite:///{tmp_path / 's.db'}"
    load, erp, _refused, expected = loaded_month(erp_url, state_url, sandbox, monthly_load)
    (paid,) = issued(erp, expected, 1)
    set_status(erp_url, paid, "PAID", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    store = StateStore.from_url(state_url)
    holder = "fincome_monthly_load/manual__sending"
    acquire(store, MONTH, holder, lease=dt.timedelta(hours=1))
    load.env["FINCOME_RETRY_DELAY_SECONDS"] = "0"
    sandbox.reset_stats()

    blocked = load.sync()
    assert blocked.returncode != 0
    assert f"being sent by another run ({holder}" in blocked.log, blocked.tail()
    assert blocked.status == "failed"
    assert writes(sandbox) == {}

    release(store, MONTH, holder)
    assert ok(load.sync()).status == "done"
    assert writes(sandbox) == {"POST /invoices": 1}


def send_spans(state_url: str) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """Per run key, the first and last time Fincome answered one of its sends."""
    engine = create_engine(state_url)
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, "fincome_outcomes"):
                return {}
            rows = conn.execute(
                text("SELECT run_key, MIN(at), MAX(at) FROM fincome_outcomes GROUP BY run_key")
            ).all()
    finally:
        engine.dispose()
    return {key: (_utc(first), _utc(last)) for key, first, last in rows}


def _utc(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def test_a_sync_and_the_close_of_the_month_that_just_ended_never_interleave_their_sends(
    tmp_path, sandbox, monthly_load: Callable[..., MonthlyLoad]
):
    """On the 1st: the close of October is sending when the sync of November starts, with a
    payment on an October invoice to send. The sync locks October too (the month before its
    own, and its invoice's): its loads wait until the close's audit released it, then send."""
    erp_url, state_url = f"sqlite:///{tmp_path / 'erp.sqlite'}", f"sqlite:///{tmp_path / 's.db'}"
    refused = refused_ids(fill_demo_erp(erp_url))
    erp = read_erp(erp_url)
    expected = expected_fincome(erp, month_scope(erp, MONTH), refused)
    (paid,) = issued(erp, expected, 1)
    load = monthly_load(erp_url, state_url, sandbox)
    # The close sends for a minute or so; a refused load retries after 20 s, 40 s, 80 s.
    load.api_settings = {"requests_per_second": 8}
    load.env["FINCOME_RETRY_DELAY_SECONDS"] = "20"
    with ThreadPoolExecutor(max_workers=2) as pool:
        close = pool.submit(load.run, MONTH, **LENIENT)
        load.airflow.wait_for(
            lambda: send_spans(state_url) or close.done(), timeout=180, what="the close sending"
        )
        set_status(erp_url, paid, "PAID", dt.datetime.now(dt.UTC))  # after the close read it
        sync = pool.submit(load.sync, CLOSE_DAY, max_reject_ratio=0.5)
        close_run, sync_run = ok(close.result()), ok(sync.result())
    assert "being sent by another run (fincome_monthly_load/" in sync_run.log, sync_run.tail()
    spans = send_spans(state_url)
    assert spans[sync_run.run_key][0] > spans[close_run.run_key][1], spans
    assert sync_run.counts("updated")["invoices"] == 1
    assert sandbox.dump()["invoices"][paid]["status"] == "paid"
