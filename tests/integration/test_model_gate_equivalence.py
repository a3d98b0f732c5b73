"""The contract models' gate refuses nothing the mapping accepted: the same decisions without it.

The extraction skips ``model_gate`` (the mapping applies every rule of the models to its ERP
column); this runs the validation with and without the gate over the defect corpus and a
seeded dirty month (every defect kind, hostile-but-valid text) read through the real SQL, and
compares every decision: kind, payload, problems (reason code, field, message, blocked_by).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fincome_airflow.contract import RESOURCES
from fincome_airflow.engines import erp_engine
from fincome_airflow.extract.queries import stream_rows
from fincome_airflow.extract.scope import LoadScope
from fincome_airflow.month import BillingMonth
from fincome_airflow.validation.pipeline import LoadValidator

pytestmark = pytest.mark.integration

fincome_erp = pytest.importorskip("fincome_erp")


def decisions(engine: Any, month: str, today: dt.date, validator: LoadValidator) -> list[tuple]:
    """Every decision of ``validator`` over the month read through the real SQL."""
    billing = BillingMonth.parse(month)
    scope = LoadScope.for_month(billing.start, billing.end, None)
    out: list[tuple] = []
    with engine.connect() as conn:
        for resource in RESOURCES:
            rows = stream_rows(conn, resource, scope.params_for(resource))
            for d in getattr(validator, resource)(rows):
                out.append((d.resource, d.record_id, d.kind, d.payload, d.problems))
    return out


def no_ledger(resource: str, ids: object) -> set[str]:
    return set()


def _same_with_and_without_gate(engine: Any, month: str, today: dt.date) -> int:
    gated = decisions(
        engine, month, today, LoadValidator(today=today, ledger_lookup=no_ledger, model_gate=True)
    )
    assert decisions(engine, month, today, LoadValidator(today=today, ledger_lookup=no_ledger)) == (
        gated
    )
    return sum(1 for d in gated if d[2] == "stage")


def test_gate_changes_no_decision_of_a_generated_dirty_month(tmp_path) -> None:
    from fincome_erp import GeneratorConfig, populate
    from fincome_erp.months import Month

    config = GeneratorConfig.build(
        Month(2026, 10), invoices_per_month=1500, dirty_share=0.2, edge_share=0.05
    )
    engine = erp_engine(f"sqlite:///{tmp_path}/erp.db")
    populate(engine, config)
    today = dt.datetime.combine(config.as_of, dt.time()).date()
    assert _same_with_and_without_gate(engine, "2026-10", today) > 2500
    engine.dispose()


def test_gate_changes_no_decision_of_the_defect_corpus(tmp_path) -> None:
    from test_extract_corpus import CASES, NOW, VALID, merge

    from fincome_erp.rows import create_erp, load

    engine = erp_engine(f"sqlite:///{tmp_path}/erp.db")
    create_erp(engine)
    load(engine, merge(VALID, *(c[1] for c in CASES)))
    assert _same_with_and_without_gate(engine, "2024-01", NOW.date()) >= 1
    engine.dispose()
