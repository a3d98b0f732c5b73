"""Server time of the operations page on a long history (36 months, a month of 100,000 rejects).

The app runs in process (ASGI, no network), Airflow's auth replaced by a pass-through: the
figure is the page's own work (state database queries and rendering). Baseline: the bare SQL
the month page cannot do without (the count and one page of the run's rejects).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import func, select, text

from fincome_airflow.engines import make_engine
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore
from fincome_dev.bench.history import months_back, seed_history
from fincome_dev.bench.table import Figure, Report

MONTHS: Final = 36
TARGET_S: Final = 1.0
REPEAT: Final = 5


def _median(call: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(state_url: str, month: str, rejects: int) -> dict[str, Any]:
    """Seed the history, then time the pages (medians of :data:`REPEAT` requests)."""
    from fastapi.testclient import TestClient

    from fincome_airflow.ui import access
    from fincome_airflow.ui.app import create_app
    from fincome_airflow.ui.deps import get_engine

    store = StateStore.from_url(state_url)
    store.ensure_schema()
    started = time.perf_counter()
    seeded = seed_history(store, months_back(month, MONTHS), rejects=rejects)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    seed_s = time.perf_counter() - started
    run_key = seeded[-1].run_keys[-1]
    engine = make_engine(state_url)
    app = create_app()
    app.dependency_overrides.update(
        {
            access.can_read: lambda: None,
            access.may_trigger: lambda: True,
            get_engine: lambda: engine,
        }
    )
    last_page = max((rejects + 49) // 50, 1)
    try:
        with TestClient(app) as client:

            def get(path: str) -> None:
                response = client.get(path)
                response.raise_for_status()

            get("/")  # warm: templates compiled, pool filled
            months_s = _median(lambda: get("/"))
            first_s = _median(lambda: get(f"/months/{month}"))
            last_s = _median(lambda: get(f"/months/{month}?page={last_page}"))
            filtered_s = _median(lambda: get(f"/months/{month}?reason=unknown_country&id=INV"))
            started = time.perf_counter()
            csv_bytes = len(client.get(f"/months/{month}/rejects.csv").content)
            csv_s = time.perf_counter() - started
        r = schema.rejects

        def bare() -> None:
            with engine.connect() as conn:
                conn.execute(select(func.count()).where(r.c.run_key == run_key)).scalar_one()
                page = select(r).where(r.c.run_key == run_key).order_by(r.c.resource, r.c.record_id)
                conn.execute(page.limit(50)).all()

        bare_s = _median(bare)
    finally:
        engine.dispose()
        store.engine.dispose()
    return {
        "months": MONTHS,
        "rejects": rejects,
        "seed_s": round(seed_s, 2),
        "months_page_s": months_s,
        "month_first_page_s": first_s,
        "month_last_page_s": last_s,
        "month_filtered_s": filtered_s,
        "month_page_s": max(first_s, last_s, filtered_s),
        "csv_s": csv_s,
        "csv_bytes": csv_bytes,
        "bare_sql_s": bare_s,
    }


def figure(report: Report, state_url: str, month: str, rejects: int) -> None:
    m = measure(state_url, month, rejects)
    slowest = max(m["months_page_s"], m["month_page_s"])
    report.add(
        Figure(
            key="ops_page",
            label=f"operations page server time: months page ({MONTHS} months), month page "
            f"({rejects:,} rejects; first, last and filtered page, the slowest)",
            value=f"months {m['months_page_s'] * 1000:.0f} ms, "
            f"month {m['month_page_s'] * 1000:.0f} ms",
            baseline=f"bare SQL count + first page of rejects {m['bare_sql_s'] * 1000:.0f} ms",
            ratio=m["month_page_s"] / m["bare_sql_s"] if m["bare_sql_s"] else None,
            target=f"<= {TARGET_S:.0f} s each",
            met=slowest <= TARGET_S,
            note=f"medians of {REPEAT}; CSV of all rejects {m['csv_s']:.1f} s",
            data=m,
        )
    )
