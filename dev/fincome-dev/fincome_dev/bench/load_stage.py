"""The load figures: throughput beside a naive and a bare client, rerun, rate limit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from fincome_airflow.contract import RESOURCES
from fincome_dev import connections
from fincome_dev.bench import clients, subsets
from fincome_dev.bench.config import BenchConfig
from fincome_dev.bench.procs import run_stage
from fincome_dev.bench.table import Figure, Report
from fincome_sandbox.launcher import SandboxProcess

#: "No rate limit": a budget far above what the sandbox can serve.
UNLIMITED_RPS = 100_000.0


def connection_env(
    sandbox: SandboxProcess, rps: float, concurrency: int, *, budget_store: str = ""
) -> dict[str, str]:
    """``AIRFLOW_CONN_FINCOME_API`` for a child process (the task's connection); with
    ``budget_store``, the budget is shared through it (``FINCOME_BUDGET_STORE`` is unset)."""
    extra = {"requests_per_second": rps, "max_concurrency": concurrency, "timeout": 30,
             "budget_store": budget_store}  # fmt: skip
    api = connections.fincome_api(sandbox.base_url, sandbox.api_key, **extra)
    return {**connections.environ(api=api), "FINCOME_BUDGET_STORE": ""}


def load_tasks(
    state_url: str, run_key: str, env: dict[str, str], *, full_resync: bool = False
) -> dict[str, Any]:
    """One process per resource, in order, as the DAG's three load tasks run."""
    tasks = []
    for name in RESOURCES:
        args = {
            "state_url": state_url,
            "run_key": run_key,
            "resources": [name],
            "full_resync": full_resync,
        }
        tasks.append(run_stage("load", args, env))
    total: dict[str, Any] = {
        k: sum(t[k] for t in tasks)
        for k in ("seconds", "requests", "to_send", "created", "updated", "rejected", "failed")
    }
    total["rate_limited"] = sum(t["rate_limited"] for t in tasks)
    total["max_rss_mb"] = max(t["max_rss_mb"] for t in tasks)
    total["tasks"] = [{k: v for k, v in t.items() if k != "audits"} for t in tasks]
    return total


def measured_load(
    sandbox: SandboxProcess,
    state_url: str,
    run_key: str,
    rps: float,
    concurrency: int,
    *,
    full_resync: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the load tasks of ``run_key`` on a connection of ``rps`` and ``concurrency``.

    :return: the load totals (:func:`load_tasks`) and the sandbox's statistics after it.
    """
    env = connection_env(sandbox, rps, concurrency)
    out = load_tasks(state_url, run_key, env, full_resync=full_resync)
    return out, sandbox.stats()


def throughput(
    cfg: BenchConfig,
    report: Report,
    sandbox: SandboxProcess,
    state: Engine,
    state_url: str,
    src: str,
) -> dict[str, Any]:
    """Naive sample, bare concurrent client, then our load of the same subset."""
    invoices = max(cfg.load_requests // 3, 1)
    counts = subsets.load_subset(state, src, "bench-load", invoices, cfg.month)
    plan = clients.phases(state, "bench-load")
    sandbox.reset()
    naive = clients.naive(sandbox.base_url, sandbox.api_key, plan, cfg.naive_requests)
    sandbox.reset()
    raw = clients.bare_concurrent(sandbox.base_url, sandbox.api_key, plan, cfg.concurrency)
    sandbox.reset()
    ours, stats = measured_load(sandbox, state_url, "bench-load", UNLIMITED_RPS, cfg.concurrency)
    rate = ours["requests"] / ours["seconds"] if ours["seconds"] else 0.0
    subset = f"subset of {sum(counts.values()):,} records: {counts}"
    common = {"ours": ours, "naive": naive.__dict__, "raw": raw.__dict__, "sandbox": stats}
    report.add(
        Figure(
            key="load_vs_naive",
            label=f"load throughput, {cfg.latency_ms:g} ms latency, concurrency {cfg.concurrency}",
            value=f"{rate:,.0f} req/s",
            baseline=f"naive {naive.rate:,.1f} req/s ({naive.requests} requests)",
            ratio=rate / naive.rate if naive.rate else None,
            target=">= 10x naive",
            met=naive.rate > 0 and rate >= 10 * naive.rate,
            note=subset,
            data=common,
        )
    )
    report.add(
        Figure(
            key="load_vs_raw",
            label="load throughput vs raw capacity (bare concurrent client, same payloads)",
            value=f"{rate:,.0f} req/s",
            baseline=f"bare {raw.rate:,.0f} req/s ({raw.requests:,} requests)",
            ratio=rate / raw.rate if raw.rate else None,
            target=">= 0.7x raw",
            met=raw.rate > 0 and rate >= 0.7 * raw.rate,
            note="ledger writes included",
        )
    )
    return ours


def rerun(
    report: Report,
    sandbox: SandboxProcess,
    state: Engine,
    state_url: str,
    src: str,
    first: dict[str, Any],
    month: str,
    concurrency: int,
) -> None:
    """Load the re-extracted unchanged month (same subset ids): nothing must be sent."""
    subsets.same_ids(state, src, "bench-rerun-load", "bench-load", month)
    sandbox.reset_stats()
    again, stats = measured_load(sandbox, state_url, "bench-rerun-load", UNLIMITED_RPS, concurrency)
    writes = sum(n for method, n in (stats.get("by_method") or {}).items() if method != "GET")
    share = again["seconds"] / first["seconds"] if first["seconds"] else None
    report.add(
        Figure(
            key="rerun",
            label="rerun of the unchanged month: load tasks",
            value=f"{again['seconds']:.2f} s, {writes} API writes",
            baseline=f"first run {first['seconds']:.1f} s",
            ratio=share,
            target="0 writes, <= 0.05x",
            met=writes == 0 and again["requests"] == 0 and share is not None and share <= 0.05,
            note="month re-extracted; same subset ids",
            data={"rerun": again, "sandbox": stats},
        )
    )


def rate_limited(
    cfg: BenchConfig,
    report: Report,
    sandbox: SandboxProcess,
    state: Engine,
    state_url: str,
    src: str,
) -> dict[str, Any]:
    """The sandbox answers 429 above ``rate_limit``/s; the connection's budget is that rate."""
    subsets.load_subset(state, src, "bench-rate", max(cfg.rate_requests // 3, 1), cfg.month)
    sandbox.reset(rate_limit=cfg.rate_limit)
    out, stats = measured_load(
        sandbox, state_url, "bench-rate", cfg.rate_limit, cfg.concurrency, full_resync=True
    )
    total = int(stats["total_requests"])
    limited = int((stats.get("by_status") or {}).get("429", 0))
    rate = out["requests"] / out["seconds"] if out["seconds"] else 0.0
    share_429 = limited / total if total else 0.0
    report.add(
        Figure(
            key="rate_limit",
            label=f"load against a rate limit of {cfg.rate_limit:g} req/s",
            value=f"{rate:.1f} req/s sustained, {share_429:.2%} 429s",
            baseline=f"limit {cfg.rate_limit:g} req/s",
            ratio=rate / cfg.rate_limit,
            target=">= 0.9x, <= 1% 429",
            met=rate >= 0.9 * cfg.rate_limit and share_429 <= 0.01,
            note=f"{total:,} requests; sandbox max {stats.get('max_requests_per_second')} req/s",
            data={"load": out, "sandbox": stats},
        )
    )
    return out
