"""How the staged month cuts into load chunks at a realistic rate (the DAG's mapped loads).

The planning tasks run on the month the extract staged: chunks per step, records per chunk and
the seconds one chunk sends at 50 req/s with two chunks sharing the budget, beside the 2 h
``execution_timeout``; and the time the planning itself takes, beside the extract's.
"""

from __future__ import annotations

import time
from typing import Any, Final

from fincome_airflow.contract import DELETION_STEPS, RESOURCES
from fincome_airflow.load.chunks import ChunkSizing, plan_chunks
from fincome_airflow.state.store import StateStore
from fincome_dev.bench.table import Figure, Report

#: A realistic production connection: 50 req/s, the DAG's default timeout and parallel chunks.
SIZING: Final = ChunkSizing(rate=50, timeout_s=7200, parallel=2)


def measure(state_url: str, run_key: str) -> dict[str, Any]:
    """Plan every step of ``run_key`` (staged, nothing sent yet) as the DAG does."""
    store = StateStore.from_url(state_url)
    plan = {"run_key": run_key, "send": True, "resources": list(RESOURCES)}
    steps: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        for step in (*RESOURCES, *DELETION_STEPS):
            chunks = plan_chunks(store, plan, step, SIZING)
            steps[step] = {
                "chunks": len(chunks),
                "records": sum(c["records"] for c in chunks),
                "largest": max(c["records"] for c in chunks),
            }
    finally:
        store.engine.dispose()
    return {"plan_s": time.perf_counter() - started, "steps": steps}


def figure(report: Report, state_url: str, run_key: str, extract_s: float) -> None:
    m = measure(state_url, run_key)
    invoices = m["steps"]["invoices"]
    chunk_s = max(SIZING.seconds(s["largest"]) for s in m["steps"].values())
    counts = ", ".join(f"{k} {v['chunks']}" for k, v in m["steps"].items())
    report.add(
        Figure(
            key="chunking",
            label=f"load chunks at {SIZING.rate:.0f} req/s shared by {SIZING.parallel}, "
            f"{SIZING.timeout_s / 3600:.0f} h timeout ({counts})",
            value=f"{invoices['chunks']} invoice chunks of <= {invoices['largest']:,}; "
            f"longest chunk {chunk_s / 60:.0f} min; planned in {m['plan_s']:.1f} s",
            baseline=f"one task: {invoices['records'] / SIZING.rate / 3600:.1f} h of invoices; "
            f"extract {extract_s:.0f} s",
            ratio=chunk_s / SIZING.timeout_s,
            target="chunk <= 0.5x timeout, planning <= 0.2x extract",
            met=chunk_s <= SIZING.timeout_s / 2 and m["plan_s"] <= 0.2 * extract_s,
            data=m,
        )
    )
