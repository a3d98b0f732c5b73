"""The operations page's run rows: an intraday sync never passes for a monthly close."""

from __future__ import annotations

from fincome_airflow.ui.views import run_view, with_supersession


def row(run_id: str, status: str, kind: str) -> dict:
    dag = "fincome_intraday_sync" if kind == "intraday" else "fincome_monthly_load"
    return {"run_key": f"{dag}/{run_id}", "month": "2026-10", "status": status, "kind": kind}


def statuses(*rows: dict) -> list[tuple[str, str]]:
    return [(v.kind, v.status) for v in with_supersession([run_view(r) for r in rows])]


def test_a_failed_monthly_run_stays_failed_when_only_a_sync_loaded_after_it():
    assert statuses(row("m1", "failed", "monthly"), row("s1", "done", "intraday")) == [
        ("monthly", "failed"),
        ("intraday", "done"),
    ]


def test_a_failed_run_of_either_kind_is_superseded_by_a_later_monthly_load():
    found = statuses(
        row("m1", "failed", "monthly"),
        row("s1", "failed", "intraday"),
        row("m2", "done", "monthly"),
    )
    assert found == [("monthly", "superseded"), ("intraday", "superseded"), ("monthly", "done")]


def test_a_failed_sync_is_superseded_by_a_later_sync_and_rows_without_a_kind_are_monthly():
    found = statuses(row("s1", "failed", "intraday"), row("s2", "done", "intraday"))
    assert found == [("intraday", "superseded"), ("intraday", "done")]
    legacy = {k: v for k, v in row("m0", "done", "monthly").items() if k != "kind"}
    assert run_view(legacy).to_json()["kind"] == "monthly"
