"""Many months at once share one API budget: N load tasks run together against one sandbox.

The mechanism is Airflow's: every task calling the API runs in the pool ``fincome_api``, whose
slots bound how many run at once, and the ``fincome_api`` connection gives each task its share
of the API budget (``requests_per_second`` and ``max_concurrency`` = budget / slots). The
scheduler enforces the slots; each hook enforces its share; so the total stays within the
budget whatever the number of months queued. The baseline gives each task the whole budget.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from fincome_dev.bench import subsets
from fincome_dev.bench.config import BenchConfig
from fincome_dev.bench.load_stage import connection_env
from fincome_dev.bench.procs import run_stages
from fincome_dev.bench.table import Figure, Report
from fincome_sandbox.launcher import SandboxProcess


def _round(
    cfg: BenchConfig, sandbox: SandboxProcess, state_url: str, runs: list[str], *, split: bool
) -> dict[str, Any]:
    n = len(runs)
    rps = cfg.backfill_rps / n if split else cfg.backfill_rps
    conc = max(cfg.backfill_concurrency // n, 1) if split else cfg.backfill_concurrency
    env = connection_env(sandbox, rps, conc)
    sandbox.reset_stats()
    args = [
        ("load", {"state_url": state_url, "run_key": r, "resources": ["invoices"],
                  "full_resync": True}, env)
        for r in runs
    ]  # fmt: skip
    results = run_stages(args)
    stats = sandbox.stats()
    wall = max(r["wall_s"] for r in results)
    return {
        "per_task_rps": rps,
        "per_task_concurrency": conc,
        "requests": int(stats["total_requests"]),
        "wall_s": wall,
        "max_in_flight": int(stats["max_in_flight"]),
        "max_requests_per_second": int(stats["max_requests_per_second"]),
        "by_status": stats.get("by_status"),
        "max_rss_mb": max(r["max_rss_mb"] for r in results),
    }


def backfill(
    cfg: BenchConfig, report: Report, sandbox: SandboxProcess, state: Engine, state_url: str
) -> dict[str, Any]:
    """Split the loaded subset's first invoices over N runs; load them all at once, twice."""
    n = cfg.backfill_runs
    rounds: dict[str, list[str]] = {}
    for name in ("pooled", "whole"):  # a run's own confirmations are never resent: new keys
        rounds[name] = [f"bench-backfill-{name}-{i}" for i in range(n)]
        for i, run in enumerate(rounds[name]):
            subsets.invoice_share(state, "bench-load", run, i, n, cfg.month, cfg.backfill_invoices)
    pooled = _round(cfg, sandbox, state_url, rounds["pooled"], split=True)
    whole = _round(cfg, sandbox, state_url, rounds["whole"], split=False)
    within = (
        pooled["max_in_flight"] <= cfg.backfill_concurrency
        and pooled["max_requests_per_second"] <= cfg.backfill_rps
    )
    report.add(
        Figure(
            key="backfill",
            label=f"backfill: {n} load tasks at once, one budget of "
            f"{cfg.backfill_rps:g} req/s and {cfg.backfill_concurrency} in flight",
            value=f"max {pooled['max_requests_per_second']} req/s, "
            f"{pooled['max_in_flight']} in flight",
            baseline=f"whole budget per task: max {whole['max_requests_per_second']} req/s, "
            f"{whole['max_in_flight']} in flight",
            ratio=pooled["max_requests_per_second"] / cfg.backfill_rps,
            target="within the budget",
            met=within,
            note=f"pool fincome_api with {n} slots, budget / slots per task",
            data={"pooled": pooled, "whole_budget_each": whole},
        )
    )
    return pooled
