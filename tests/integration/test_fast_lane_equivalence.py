"""The mapping's fast lane changes no decision: a month on PostgreSQL with and without it.

PostgreSQL gives the types the fast lane maps (``transform/fast.py``); a seeded dirty month
(every defect kind, hostile-but-valid text) and the defect corpus are read through the real SQL
and validated with the fast lane and with the reference mapping alone; every decision (kind,
payload, problems with reason code, field, message, blocked_by) must be the same, and the fast
lane must have mapped most records.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from test_model_gate_equivalence import decisions, no_ledger

from fincome_airflow.engines import erp_engine
from fincome_airflow.validation.pipeline import LoadValidator

pytestmark = pytest.mark.integration

fincome_erp = pytest.importorskip("fincome_erp")


def _same_with_and_without_fast_lane(engine: Any, month: str, today: dt.date) -> Counter:
    """Compare both; return how many records the fast lane mapped and how many it left."""
    reference = decisions(
        engine, month, today, LoadValidator(today=today, ledger_lookup=no_ledger, fast_lane=False)
    )
    fast = LoadValidator(today=today, ledger_lookup=no_ledger)
    used: Counter = Counter()
    for resource, lane in list(fast.fast.items()):
        fast.fast[resource] = _counted(lane, used)
    assert decisions(engine, month, today, fast) == reference
    return used


def _counted(lane: Any, used: Counter) -> Any:
    def counted(*args: Any) -> Any:
        out = lane(*args)
        used["fast" if out is not None else "reference"] += 1
        return out

    return counted


def test_fast_lane_changes_no_decision_of_a_generated_dirty_month(create_pg_database) -> None:
    from fincome_erp import GeneratorConfig, populate
    from fincome_erp.months import Month

    config = GeneratorConfig.build(
        Month(2026, 10), invoices_per_month=1500, dirty_share=0.2, edge_share=0.05
    )
    engine = erp_engine(create_pg_database("erp"))
    populate(engine, config)
    used = _same_with_and_without_fast_lane(engine, "2026-10", config.as_of.date())
    assert used["fast"] > 3 * used["reference"] > 0
    engine.dispose()


def test_fast_lane_changes_no_decision_of_the_defect_corpus(create_pg_database) -> None:
    from test_extract_corpus import CASES, NOW, VALID, merge

    from fincome_erp.rows import create_erp, load

    engine = erp_engine(create_pg_database("erp"))
    create_erp(engine)
    load(engine, merge(VALID, *(c[1] for c in CASES if c[6])))
    used = _same_with_and_without_fast_lane(engine, "2024-01", NOW.date())
    assert used["fast"] > 0 and used["reference"] > 0
    engine.dispose()
