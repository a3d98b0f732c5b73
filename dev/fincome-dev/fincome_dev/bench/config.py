"""The benchmark's settings, from its command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SMOKE_INVOICES = 300
#: Lines that ``--only`` can pick, each with what it needs (``extract``: the extract line beside
#: the bare ``COPY``, and the memory line of the extract alone; ``budget``: the three budget lines,
#: after the load-throughput line that loads the references their invoices need; ``intraday``:
#: the intraday sync's extract after two monthly extracts of the same ERP).
SELECTABLE = ("extract", "budget", "dag_parse", "intraday")


@dataclass(frozen=True)
class BenchConfig:
    invoices: int
    month: str = "2026-10"
    now: str = "2026-11-01T12:00:00+00:00"
    pg_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    erp_url: str | None = None
    latency_ms: float = 20.0
    concurrency: int = 16
    load_requests: int = 20_000
    naive_requests: int = 400
    rate_limit: float = 50.0
    rate_requests: int = 1_500
    #: The cluster budget's lines: its limit (the sandbox's too), invoices each line sends.
    budget_rps: float = 100.0
    budget_concurrency: int = 8
    budget_invoices: int = 2_000
    budget_cost_rps: float = 500.0
    budget_cost_requests: int = 2_500
    #: Alternating rounds of the budget-cost line (its figure is the best of each side's).
    budget_cost_rounds: int = 2
    redis_url: str = os.environ.get("FINCOME_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    dag_parse_runs: int = 7
    #: One unmeasured DAG-parse probe first (see :func:`fincome_dev.bench.dagparse.measure`).
    dag_parse_warm: bool = True
    #: Invoices per month of the state-growth line (12 months).
    growth_invoices: int = 100_000
    #: Refused records of the month the operations page shows (its figure).
    page_rejects: int = 100_000
    out: Path = Path("out")
    smoke: bool = False
    #: Only these lines (:data:`SELECTABLE`); empty: every line.
    only: frozenset[str] = frozenset()

    @property
    def size_label(self) -> str:
        return "smoke" if self.smoke else str(self.invoices)

    @property
    def memory_baseline_invoices(self) -> int:
        """The smaller month whose extract peak the big one is compared with (a tenth)."""
        return max(self.invoices // 10, 100)


def parse(argv: Sequence[str] | None = None) -> BenchConfig:
    p = argparse.ArgumentParser(prog="python -m fincome_dev.bench", description=__doc__)
    p.add_argument("--invoices", type=int, default=100_000, help="invoices in the month")
    p.add_argument("--smoke", action="store_true", help=f"a tiny pass ({SMOKE_INVOICES} invoices)")
    p.add_argument("--pg-url", default=BenchConfig.pg_url, help="PostgreSQL server (admin db)")
    p.add_argument("--erp-url", help="reuse this ERP database instead of building one")
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--load-requests", type=int, default=20_000, help="size of the load subset")
    p.add_argument("--naive-requests", type=int, default=400, help="naive client's sample")
    p.add_argument("--rate-limit", type=float, default=50.0)
    p.add_argument("--rate-requests", type=int, default=1_500)
    p.add_argument("--redis-url", default=BenchConfig.redis_url, help="shared budget's store")
    p.add_argument("--dag-parse-runs", type=int, default=7)
    p.add_argument(
        "--growth-invoices", type=int, default=100_000, help="invoices per month, state growth"
    )
    p.add_argument("--out", type=Path, default=Path("out"))
    p.add_argument(
        "--only",
        type=_lines,
        default=frozenset(),
        help=f"comma-separated lines to run, of {', '.join(SELECTABLE)} (default: every line)",
    )
    a = p.parse_args(argv)
    if a.smoke:
        return BenchConfig(
            invoices=SMOKE_INVOICES,
            pg_url=a.pg_url,
            erp_url=a.erp_url,
            latency_ms=a.latency_ms,
            load_requests=300,
            naive_requests=20,
            rate_requests=60,
            budget_invoices=40,
            budget_cost_requests=40,
            budget_cost_rounds=1,
            redis_url=a.redis_url,
            dag_parse_runs=1,
            dag_parse_warm=False,
            growth_invoices=30,
            page_rejects=2_000,
            out=a.out,
            smoke=True,
            only=a.only,
        )
    return BenchConfig(
        invoices=a.invoices,
        pg_url=a.pg_url,
        erp_url=a.erp_url,
        latency_ms=a.latency_ms,
        concurrency=a.concurrency,
        load_requests=a.load_requests,
        naive_requests=a.naive_requests,
        rate_limit=a.rate_limit,
        rate_requests=a.rate_requests,
        redis_url=a.redis_url,
        dag_parse_runs=a.dag_parse_runs,
        growth_invoices=a.growth_invoices,
        out=a.out,
        only=a.only,
    )


def _lines(value: str) -> frozenset[str]:
    lines = frozenset(v.strip() for v in value.split(",") if v.strip())
    if unknown := lines - set(SELECTABLE):
        raise argparse.ArgumentTypeError(f"unknown lines {sorted(unknown)}; of {SELECTABLE}")
    return lines
