"""``make demo`` (``python -m fincome_dev.demo``): twice in a fresh AIRFLOW_HOME."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]


def demo(home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
    )
    return subprocess.run(
        [sys.executable, "-m", "fincome_dev.demo"],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _utc(stamp: str) -> datetime:
    value = datetime.fromisoformat(stamp)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def summaries(state_db: Path) -> list[dict]:
    with closing(sqlite3.connect(state_db)) as conn:
        rows = conn.execute("SELECT summary FROM fincome_runs ORDER BY created_at").fetchall()
    return [json.loads(summary) for (summary,) in rows]


def test_demo_loads_october_then_sends_nothing(tmp_path):
    home = tmp_path / ".airflow"
    before = datetime.now(UTC).replace(microsecond=0)
    first = demo(home)
    assert first.returncode == 0, first.stdout + first.stderr[-4000:]
    assert "Reference ERP: created" in first.stdout
    assert "reconciliation: reconciled" in first.stdout
    assert "POST /invoices x" in first.stdout
    assert "[info" not in first.stdout  # Airflow's log goes to the file, not the terminal
    logs = sorted((home / "logs").glob("demo-*.log"))
    assert len(logs) == 1 and "DagRun Finished" in logs[0].read_text()

    second = demo(home)
    assert second.returncode == 0, second.stdout + second.stderr[-4000:]
    assert "Sent to Fincome: nothing" in second.stdout, second.stdout
    assert "migrating" not in second.stdout
    assert "Reference ERP: created" not in second.stdout

    runs = summaries(home / "state.sqlite")
    with closing(sqlite3.connect(home / "state.sqlite")) as conn:
        # Each finished run's audit released its staged payloads.
        assert conn.execute("SELECT count(*) FROM fincome_staged").fetchone() == (0,)
    assert len(runs) == 2
    loaded, rerun = runs
    assert loaded["month"] == rerun["month"] == "2026-10"
    assert {r: c["created"] for r, c in loaded["resources"].items()} == {
        "products": 4,
        "plans": 5,
        "customers": 88,
        "subscriptions": 104,
        "invoices": 169,  # with the earlier months' invoices that October's credit notes credit
        "credit_notes": 14,
    }
    for counts in rerun["resources"].values():
        assert counts["created"] == counts["updated"] == counts["deleted"] == 0
        assert counts["unchanged"] == counts["valid"] > 0
        assert counts["balanced"]
    assert "Operations page: http://localhost:8080/fincome/" in first.stdout
    with closing(sqlite3.connect(home / "airflow.db")) as conn:
        dates = conn.execute("SELECT logical_date, start_date FROM dag_run").fetchall()
    # The runs are dated when they ran (not 2026-11-01): the UI shows their real durations.
    for logical, started in dates:
        assert before <= _utc(logical) <= _utc(started), (logical, started)
    holds = (
        "Fincome sandbox holds: 4 products, 5 plans, 88 customers, 104 subscriptions, "
        "169 invoices, 14 credit_notes"
    )
    assert holds in first.stdout and holds in second.stdout
    assert_credit_notes_held_to_the_cent(home)


def assert_credit_notes_held_to_the_cent(home: Path) -> None:
    """Fincome (the sandbox, started with ``require_plans``) holds each credit note as the ERP
    has it, per record and per currency, its invoice held too; the defective ones are refused
    with their reason and field, the one of a refused invoice blocked by that invoice."""
    held: dict[str, dict[str, dict]] = {}
    with closing(sqlite3.connect(home / "sandbox.sqlite")) as conn:
        for resource, record_id, body in conn.execute("SELECT resource, id, body FROM records"):
            held.setdefault(resource, {})[record_id] = json.loads(body)
    with closing(sqlite3.connect(home / "state.sqlite")) as conn:
        rejects = list(
            conn.execute(
                "SELECT resource, record_id, reason_code, field, blocked_by FROM fincome_rejects "
                "WHERE resource IN ('plans', 'credit_notes')"
            )
        )
    refused_notes = {record_id for resource, record_id, *_ in rejects if resource == "credit_notes"}
    # What October's first load owes Fincome: the credit notes issued in the month or changed
    # since its start, issued or refunded, of an invoice sent, and not refused.
    with closing(sqlite3.connect(home / "erp.sqlite")) as conn:
        erp = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT cn.credit_note_no, cn.invoice_no, cn.cust_no, cn.currency, cn.total_net "
                "FROM credit_notes AS cn JOIN invoices AS i ON i.invoice_no = cn.invoice_no "
                "WHERE cn.doc_status IN ('ISSUED', 'REFUNDED') "
                "AND i.doc_status NOT IN ('DRAFT', 'CANCELLED') "
                "AND ((cn.issue_date >= '2026-10-01' AND cn.issue_date < '2026-11-01') "
                "OR cn.updated_at > '2026-10-01')"
            )
            if row[0] not in refused_notes
        }
    assert set(held["credit_notes"]) == set(erp)
    held_total: dict[str, Decimal] = {}
    erp_total: dict[str, Decimal] = {}
    for cid, note in held["credit_notes"].items():
        invoice, customer, currency, net = erp[cid]
        net = Decimal(str(net)).quantize(Decimal("0.01"))
        got = (note["invoice_id"], note["customer_id"], note["currency"])
        assert got == (invoice, customer, currency) and Decimal(note["net_amount"]) == net, cid
        assert note["invoice_id"] in held["invoices"]
        held_total[currency] = held_total.get(currency, Decimal(0)) + Decimal(note["net_amount"])
        erp_total[currency] = erp_total.get(currency, Decimal(0)) + net
    assert held_total == erp_total and len(held_total) >= 2
    plans = {s.get("plan_id") for s in held["subscriptions"].values()} - {None}
    assert plans <= set(held["plans"])
    refused = {(r, reason, field, by is not None) for r, _, reason, field, by in rejects}
    assert {
        ("plans", "unknown_billing_period", "billing_period", False),
        ("credit_notes", "reference_not_found", "invoice_no", False),
        ("credit_notes", "over_credit", "total_net", False),
        ("credit_notes", "currency_mismatch", "currency", False),
        ("credit_notes", "credit_before_invoice", "issue_date", False),
        ("credit_notes", "parent_rejected", "invoice_no", True),
    } <= refused
