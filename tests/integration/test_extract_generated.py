"""The validation over a month of the generator's ERP: every planted defect gets its reason."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from fincome_airflow.engines import erp_engine
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.state.store import StateStore
from fincome_erp.dirty import BILLING_DIRTY_KINDS

fincome_erp = pytest.importorskip("fincome_erp")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from fincome_erp import ALL_DIRTY_KINDS, GeneratorConfig, populate
    from fincome_erp.months import Month

    d = tmp_path_factory.mktemp("generated")
    config = GeneratorConfig.build(Month(2026, 10), invoices_per_month=3000)
    engine = erp_engine(f"sqlite:///{d}/erp.db")
    manifest = populate(engine, config)
    store = StateStore.from_url(f"sqlite:///{d}/state.db")
    now = dt.datetime.combine(config.as_of, dt.time(), tzinfo=dt.UTC)
    report = extract_and_stage(engine, store, "gen", "2026-10", now=now)
    with store.engine.connect() as conn:
        rejects: dict[tuple[str, str], list] = {}
        for r in conn.execute(text("SELECT * FROM fincome_rejects WHERE run_key='gen'")):
            rejects.setdefault((r.resource, r.record_id), []).append(r)
        staged = set(
            conn.execute(text("SELECT resource, record_id FROM fincome_staged")).tuples().all()
        )
    engine.dispose()
    return manifest, ALL_DIRTY_KINDS, rejects, staged, report


def test_every_planted_defect_gets_its_reason_code_and_field(generated) -> None:
    manifest, kinds, rejects, staged, report = generated
    checked = 0
    kinds_checked: set[str] = set()
    for name, entries in manifest.dirty.items():
        kind = kinds[name]
        for entry in entries:
            key = (entry["resource"], entry["id"])
            # the month's invoices and credit notes are in the load's scope, whatever their kind
            in_month = entry["resource"] in ("invoices", "credit_notes") and (
                entry.get("month", "2026-10") == "2026-10"
            )
            if kind.outcome == "blocked":
                assert key not in staged, (name, key)
                got = rejects.get(key, [])
                assert got or not in_month, (name, key)
                assert all(
                    r.outcome == "blocked" and r.blocked_by == entry["blocked_by"] for r in got
                ), (name, key, [(r.reason_code, r.blocked_by) for r in got])
                checked += bool(got)
                kinds_checked.update([name] if got else [])
                continue
            if kind.outcome != "rejected":
                assert key not in rejects or all(r.outcome == "blocked" for r in rejects[key]), (
                    name,
                    key,
                )
                continue
            assert key not in staged, (name, key)
            if entry["resource"] == "invoices" and not in_month:
                continue
            got = rejects.get(key)
            if got is None:  # a standalone record outside this load's scope
                assert not in_month, (name, key)
                continue
            assert any(
                (r.reason_code == kind.reason and (r.field or "").endswith(kind.field))
                or r.reason_code in kind.consequences  # follows from the defect, own field
                for r in got
            ), (name, key, [(r.reason_code, r.field) for r in got])
            checked += 1
            kinds_checked.add(name)
    assert checked >= 390, checked
    # every kind of the billing model whose records the month's load reads (a contract of an
    # unknown plan is an old contract outside every month's scope: the corpus covers it)
    billing = set(BILLING_DIRTY_KINDS) - {"contract_unknown_plan"}
    assert billing <= kinds_checked, billing - kinds_checked
    assert report.counts["invoices"].valid > 0
