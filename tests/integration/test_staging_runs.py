"""Runs over time: watermark scoping, pending re-extraction, deletes, restaging, rejects CSV."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from sqlalchemy import text

from fincome_airflow.engines import erp_engine
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.stage.staging import write_rejects_csv
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore, utcnow
from fincome_airflow.state.upsert import upsert
from fincome_erp.rows import add_invoice, create_erp, load

NOW = dt.datetime(2024, 3, 10, tzinfo=dt.UTC)
OLD = dt.datetime(2023, 6, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def dbs(request, tmp_path):
    if request.param == "sqlite":
        erp_url, state_url = f"sqlite:///{tmp_path}/erp.db", f"sqlite:///{tmp_path}/state.db"
    else:
        factory = request.getfixturevalue("create_pg_database")
        erp_url, state_url = factory("erp"), factory("state")
    engine = erp_engine(erp_url)
    create_erp(engine)
    yield engine, StateStore.from_url(state_url)
    engine.dispose()


def _world() -> dict:
    erp: dict = {
        "customers": [{"cust_no": "C1"}, {"cust_no": "C2"}, {"cust_no": "OLD", "updated_at": OLD}],
        "contracts": [
            {"contract_no": "K1", "cust_no": "C1"},
            {"contract_no": "K2", "cust_no": "C2"},
        ],
    }
    line = {
        "net_amount": "100.00",
        "service_from": dt.date(2024, 1, 1),
        "service_to": dt.date(2024, 1, 31),
    }
    add_invoice(erp, "JAN-1", "C1", "K1", dt.date(2024, 1, 5), [line])
    add_invoice(erp, "JAN-2", "C2", "K2", dt.date(2024, 1, 6), [line])
    add_invoice(erp, "DEC-1", "C1", "K1", dt.date(2023, 12, 5), [line], updated_at=OLD)
    return erp


def _finish(store: StateStore, run_key: str) -> None:
    """What the load task does: Fincome confirms the staged records, the run ends done."""
    with store.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT resource, record_id, payload_hash, action FROM fincome_staged "
                "WHERE run_key = :r"
            ),
            {"r": run_key},
        ).all()
        upsert(
            conn,
            schema.ledger,
            [
                {
                    "resource": r.resource,
                    "record_id": r.record_id,
                    "payload_hash": r.payload_hash,
                    "deleted": r.action == "delete",
                    "run_key": run_key,
                    "confirmed_at": utcnow(),
                }
                for r in rows
            ],
            ["resource", "record_id"],
        )
        for r in rows:
            conn.execute(
                schema.pending.delete().where(
                    schema.pending.c.resource == r.resource,
                    schema.pending.c.record_id == r.record_id,
                )
            )
    store.set_run_status(run_key, "done")


def _staged(store: StateStore, run_key: str) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT record_id, action FROM fincome_staged WHERE run_key=:r"), {"r": run_key}
        )
        return dict(rows.all())


def _exec(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_watermark_includes_updated_records_and_leaves_old_untouched_ones(dbs) -> None:
    engine, store = dbs
    load(engine, _world())
    extract_and_stage(engine, store, "jan", "2024-01", now=NOW)
    jan = _staged(store, "jan")
    assert {"JAN-1", "JAN-2", "C1", "C2", "K1", "K2"} <= set(jan)
    assert "DEC-1" not in jan and "OLD" not in jan  # old and untouched since
    _finish(store, "jan")
    # a payment recorded in February on a December invoice reaches February's run
    _exec(
        engine,
        "UPDATE erp.invoices SET doc_status='PAID', updated_at=:t WHERE invoice_no='DEC-1'",
        t=dt.datetime(2024, 2, 20),
    )
    report = extract_and_stage(engine, store, "feb", "2024-02", now=NOW)
    feb = _staged(store, "feb")
    assert "DEC-1" in feb and "JAN-1" not in feb and "OLD" not in feb
    assert report.max_updated_at.startswith("2024-02-20")
    assert report.watermark.startswith("2024-01-01")


def test_blocked_record_is_sent_once_its_parent_is_fixed(dbs) -> None:
    engine, store = dbs
    erp = _world()
    erp["customers"][1]["country_code"] = "XX"  # C2 refused: K2 and JAN-2 blocked
    load(engine, erp)
    extract_and_stage(engine, store, "jan", "2024-01", now=NOW)
    assert "JAN-2" not in _staged(store, "jan")
    with store.engine.connect() as conn:
        pending = set(conn.execute(text("SELECT record_id FROM fincome_pending")).scalars())
    assert pending == {"C2", "K2", "JAN-2"}
    _finish(store, "jan")
    # fixed in the ERP in February: only the customer's updated_at moves
    _exec(
        engine,
        "UPDATE erp.customers SET country_code='de', updated_at=:t WHERE cust_no='C2'",
        t=dt.datetime(2024, 2, 3),
    )
    report = extract_and_stage(engine, store, "feb", "2024-02", now=NOW)
    feb = _staged(store, "feb")
    assert {"C2", "K2", "JAN-2"} <= set(feb)
    assert report.pending_reextracted == 3
    _finish(store, "feb")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fincome_pending")).scalar() == 0


def test_cancelled_invoice_is_deleted_only_if_it_was_sent(dbs) -> None:
    engine, store = dbs
    erp = _world()
    add_invoice(erp, "JAN-X", "C1", "K1", dt.date(2024, 1, 9), [], doc_status="CANCELLED")
    add_invoice(erp, "JAN-D", "C1", "K1", dt.date(2024, 1, 9), [], doc_status="DRAFT")
    load(engine, erp)
    report = extract_and_stage(engine, store, "jan", "2024-01", now=NOW)
    assert report.counts["invoices"].skipped == 2 and report.counts["invoices"].to_delete == 0
    _finish(store, "jan")
    _exec(
        engine,
        "UPDATE erp.invoices SET doc_status='CANCELLED', updated_at=:t WHERE invoice_no='JAN-1'",
        t=dt.datetime(2024, 2, 2),
    )
    report = extract_and_stage(engine, store, "feb", "2024-02", now=NOW)
    assert _staged(store, "feb").get("JAN-1") == "delete"
    assert report.counts["invoices"].to_delete == 1


def test_retried_run_restages_cleanly_and_dry_run_leaves_pending_alone(dbs, tmp_path) -> None:
    engine, store = dbs
    erp = _world()
    erp["invoices"][0]["total_net"] = "99.00"
    load(engine, erp)
    first = extract_and_stage(engine, store, "jan", "2024-01", now=NOW)
    again = extract_and_stage(engine, store, "jan", "2024-01", now=NOW)
    assert first.counts == again.counts  # (the retry also sees its own pending record)
    assert again.top_reasons == [("lines_do_not_add_up", 1)]
    assert again.net_by_currency == {"EUR": "199.00"}
    assert again.staged_net_by_currency == {"EUR": "100.00"}
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fincome_rejects")).scalar() == 1
        conn.execute(text("DELETE FROM fincome_pending"))
        conn.commit()
    extract_and_stage(engine, store, "dry", "2024-01", now=NOW, dry_run=True)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fincome_pending")).scalar() == 0
    path = tmp_path / "rejects.csv"
    assert write_rejects_csv(store, "jan", path) == 1
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert rows[0]["id"] == "JAN-1" and rows[0]["reason_code"] == "lines_do_not_add_up"
    assert rows[0]["field"] == "total_net" and "add up to" in rows[0]["message"]
