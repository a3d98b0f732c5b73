"""One API budget for the whole cluster: load tasks in processes of their own, sharing a
budget kept in Redis (the connection's ``budget_store``), against one sandbox.

Three lines:

* ``budget_alone``: one load task alone gets the whole budget (>= 0.9x the limit); baseline:
  the same task with the in-process budget;
* ``budget_shared``: 4 load tasks at once, as 2 workers running 2 tasks each, every one
  configured with the whole budget, stay together within it (the sandbox's own max starts in
  one second, <= 1% 429); baseline: the same tasks with the in-process budget each;
* ``budget_cost``: one load task at 500 req/s with the shared budget beside the same load with
  the in-process one (<= 10% slower), best of two alternating rounds each (one in the smoke
  pass).
"""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy.engine import Engine

from fincome_dev.bench import subsets
from fincome_dev.bench.config import BenchConfig
from fincome_dev.bench.load_stage import connection_env
from fincome_dev.bench.procs import run_stages
from fincome_dev.bench.table import Figure, Report
from fincome_sandbox.launcher import SandboxProcess

#: Workers x load processes per worker of the ``budget_shared`` line.
WORKERS, PROCESSES_PER_WORKER = 2, 2


def _round(
    sandbox: SandboxProcess,
    state_url: str,
    runs: list[str],
    rps: float,
    concurrency: int,
    store: str,
    rate_limit: float | None,
) -> dict[str, Any]:
    """Load the staged invoices of ``runs`` at once, one process each, the same connection."""
    env = connection_env(sandbox, rps, concurrency, budget_store=store)
    sandbox.reset(clear_store=False, rate_limit=rate_limit)
    args = [
        ("load", {"state_url": state_url, "run_key": r, "resources": ["invoices"],
                  "full_resync": True}, env)
        for r in runs
    ]  # fmt: skip
    results = run_stages(args)
    stats = sandbox.stats()
    total = int(stats["total_requests"])
    limited = int((stats.get("by_status") or {}).get("429", 0))
    seconds = max(r["seconds"] for r in results)
    return {
        "store": "shared" if store else "in-process",
        "requests": total,
        "seconds": seconds,
        "rate": sum(r["requests"] for r in results) / seconds if seconds else 0.0,
        "max_requests_per_second": int(stats["max_requests_per_second"]),
        "max_in_flight": int(stats["max_in_flight"]),
        "share_429": limited / total if total else 0.0,
        "by_status": stats.get("by_status"),
        "max_rss_mb": max(r["max_rss_mb"] for r in results),
    }


def _stage(state: Engine, cfg: BenchConfig, name: str, shares: int, limit: int) -> list[str]:
    """New run keys (a run's own confirmations are never resent), each a share of the invoices."""
    runs = [f"bench-budget-{name}-{i}" for i in range(shares)]
    for i, run in enumerate(runs):
        subsets.invoice_share(state, "bench-load", run, i, shares, cfg.month, limit)
    return runs


def _forget(store: str, sandbox: SandboxProcess) -> None:
    """Delete the bench's budget keys (they are named after the API's base URL)."""
    client = redis.Redis.from_url(store)
    keys = list(client.scan_iter(f"fincome:budget:{{{sandbox.base_url}}}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def measure(
    cfg: BenchConfig, report: Report, sandbox: SandboxProcess, state: Engine, state_url: str
) -> dict[str, Any]:
    """The three lines; return the shared round (for the memory line)."""
    limit, conc, store = cfg.budget_rps, cfg.budget_concurrency, cfg.redis_url
    tasks = WORKERS * PROCESSES_PER_WORKER
    try:
        runs = _stage(state, cfg, "alone", 1, cfg.budget_invoices)
        alone = _round(sandbox, state_url, runs, limit, conc, store, limit)
        runs = _stage(state, cfg, "alone-in-process", 1, cfg.budget_invoices)
        alone_local = _round(sandbox, state_url, runs, limit, conc, "", limit)
        runs = _stage(state, cfg, "shared", tasks, cfg.budget_invoices)
        shared = _round(sandbox, state_url, runs, limit, conc, store, limit)
        runs = _stage(state, cfg, "each", tasks, cfg.budget_invoices)
        each = _round(sandbox, state_url, runs, limit, conc, "", None)
        cost: dict[str, list[dict[str, Any]]] = {"shared": [], "in-process": []}
        for i in range(cfg.budget_cost_rounds):
            for name, where in (("in-process", ""), ("shared", store)):
                runs = _stage(state, cfg, f"cost-{name}-{i}", 1, cfg.budget_cost_requests)
                rps, n = cfg.budget_cost_rps, cfg.concurrency
                cost[name].append(_round(sandbox, state_url, runs, rps, n, where, None))
    finally:
        _forget(store, sandbox)
    report.add(
        Figure(
            key="budget_alone",
            label=f"one load task alone, shared budget of {limit:g} req/s (sandbox limit the same)",
            value=f"{alone['rate']:.1f} req/s, {alone['share_429']:.2%} 429s",
            baseline=f"limit {limit:g} req/s; in-process budget {alone_local['rate']:.1f} req/s",
            ratio=alone["rate"] / limit,
            target=">= 0.9x",
            met=alone["rate"] >= 0.9 * limit,
            note=f"{alone['requests']:,} requests; sandbox max {alone['max_requests_per_second']}"
            " req/s",
            data={"shared": alone, "in_process": alone_local},
        )
    )
    within = shared["max_requests_per_second"] <= limit and shared["max_in_flight"] <= conc
    report.add(
        Figure(
            key="budget_shared",
            label=f"{tasks} load tasks at once ({WORKERS} workers x {PROCESSES_PER_WORKER} "
            f"processes), each given the whole budget of {limit:g} req/s and {conc} in flight",
            value=f"shared: max {shared['max_requests_per_second']} req/s, "
            f"{shared['max_in_flight']} in flight, {shared['share_429']:.2%} 429s",
            baseline=f"in-process budget each: max {each['max_requests_per_second']} req/s, "
            f"{each['max_in_flight']} in flight",
            ratio=shared["max_requests_per_second"] / limit,
            target="<= the limit, <= 1% 429",
            met=within and shared["share_429"] <= 0.01,
            note=f"sandbox limit {limit:g} req/s; {shared['requests']:,} requests",
            data={"shared": shared, "in_process_each": each},
        )
    )
    best = {name: max(r["rate"] for r in rounds) for name, rounds in cost.items()}
    overhead = 1 - best["shared"] / best["in-process"] if best["in-process"] else None
    report.add(
        Figure(
            key="budget_cost",
            label=f"one load task at {cfg.budget_cost_rps:g} req/s: shared budget (Redis) "
            "beside the in-process one",
            value=f"{best['shared']:.0f} req/s",
            baseline=f"in-process {best['in-process']:.0f} req/s",
            ratio=best["shared"] / best["in-process"] if best["in-process"] else None,
            target="cost <= 10%",
            met=overhead is not None and overhead <= 0.10,
            note=f"best of {cfg.budget_cost_rounds} rounds, "
            f"{cfg.budget_cost_requests:,} requests each, concurrency {cfg.concurrency}, "
            f"{cfg.latency_ms:g} ms latency",
            data=cost,
        )
    )
    return shared
