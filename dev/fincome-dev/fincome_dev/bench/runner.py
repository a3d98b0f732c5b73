"""The benchmark run: build, extract, load, and one table of figures with same-run baselines."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from fincome_airflow.engines import make_engine
from fincome_airflow.kinds import KIND_INTRADAY
from fincome_dev.bench import (
    chunking,
    cluster_budget,
    dagparse,
    extract_stage,
    load_stage,
    ops_page,
    procs,
    state_growth,
)
from fincome_dev.bench.config import BenchConfig
from fincome_dev.bench.databases import build_erp, throwaway
from fincome_dev.bench.table import Figure, Report
from fincome_sandbox.launcher import SandboxProcess

log = logging.getLogger(__name__)
API_KEY = "bench-sandbox-key"
MEMORY_CAP_MB = 300.0
MEMORY_GROWTH = 1.5


def _step(report: Report, name: str) -> None:
    """Log a step with the load average beside it (the machine is shared)."""
    load = os.getloadavg()
    report.meta.setdefault("steps", []).append({"step": name, "load_avg": list(load)})
    log.info("%s (load average %.2f %.2f %.2f)", name, *load)


def _memory(cfg: BenchConfig, report: Report, peaks: dict[str, float], small: float) -> None:
    """Every task under the cap; the extract (the one that sees the whole month) flat in size."""
    stage, peak = max(peaks.items(), key=lambda kv: kv[1])
    ratio = peaks["extract"] / small if small else None
    report.add(
        Figure(
            key="memory",
            label="peak RSS of any task (each stage its own process)",
            value=f"{peak:.0f} MB ({stage}); extract {peaks['extract']:.0f} MB",
            baseline=f"extract at {cfg.memory_baseline_invoices:,} invoices: {small:.0f} MB",
            ratio=ratio,
            target=f"<= {MEMORY_CAP_MB:.0f} MB, extract <= {MEMORY_GROWTH}x",
            met=peak <= MEMORY_CAP_MB and ratio is not None and ratio <= MEMORY_GROWTH,
            data={"peaks_mb": peaks, "baseline_mb": small},
        )
    )


def _dag_parse(cfg: BenchConfig, report: Report) -> None:
    m = dagparse.measure(cfg.dag_parse_runs, warm=cfg.dag_parse_warm)
    added, base = m["dag_added_s"] * 1000, m["airflow_import_s"] * 1000
    report.add(
        Figure(
            key="dag_parse",
            label="DAG file import added to Airflow's own import",
            value=f"{added:.0f} ms",
            baseline=f"import airflow.sdk {base:.0f} ms",
            ratio=added / base if base else None,
            target="<= 100 ms",
            met=added <= 100,
            note=f"median of {m['runs']} fresh processes",
            data=m,
        )
    )


def _erp_and_state(
    cfg: BenchConfig, report: Report, create: Callable[[str], str]
) -> tuple[str, str]:
    """The ERP (built unless ``--erp-url`` is given) and an empty state database."""
    erp_url = cfg.erp_url or create("erp")
    if not cfg.erp_url:
        _step(report, f"building the ERP ({cfg.invoices:,} invoices)")
        report.meta["erp_build"] = build_erp(erp_url, cfg.month, cfg.invoices)
    return erp_url, create("state")


def _intraday(
    cfg: BenchConfig, report: Report, erp_url: str, state_url: str, monthly: dict[str, Any]
) -> None:
    """The intraday sync's extract of the unchanged ERP, beside the ``monthly`` rerun's."""
    _step(report, "intraday sync: extract the unchanged ERP's changed rows")
    intraday = extract_stage.extract(cfg, erp_url, state_url, "bench-intraday", kind=KIND_INTRADAY)
    extract_stage.intraday_figure(report, intraday, monthly)


def _extract_lines(
    cfg: BenchConfig, report: Report, create: Callable[[str], str], erp_url: str, state_url: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The extract line beside the bare ``COPY``, and the extract of a tenth-size month that
    the memory line compares it with; returns both extracts' figures."""
    _step(report, "bare COPY of the extraction queries")
    copy = extract_stage.copy_baseline(cfg, erp_url)
    _step(report, "extract + validate + stage")
    first = extract_stage.extract(cfg, erp_url, state_url, "bench-first")
    extract_stage.figure(cfg, report, first, copy)
    _step(report, f"memory baseline: {cfg.memory_baseline_invoices:,} invoices")
    small_erp, small_state = create("erp_small"), create("state_small")
    build_erp(small_erp, cfg.month, cfg.memory_baseline_invoices)
    small = extract_stage.extract(cfg, small_erp, small_state, "bench-small")
    return first, small


def _selected(cfg: BenchConfig, report: Report) -> Report:
    """Only the lines of ``--only``, each with the stages it needs."""
    if "extract" in cfg.only:
        with throwaway(cfg.pg_url) as create:
            erp_url, state_url = _erp_and_state(cfg, report, create)
            first, small = _extract_lines(cfg, report, create, erp_url, state_url)
            _memory(cfg, report, {"extract": first["max_rss_mb"]}, small["max_rss_mb"])
    if "intraday" in cfg.only:
        with throwaway(cfg.pg_url) as create:
            erp_url, state_url = _erp_and_state(cfg, report, create)
            _step(report, "extract + validate + stage (the monthly run: the pending refusals)")
            extract_stage.extract(cfg, erp_url, state_url, "bench-first")
            _step(report, "rerun: extract again")
            again = extract_stage.extract(cfg, erp_url, state_url, "bench-rerun")
            _intraday(cfg, report, erp_url, state_url, again)
    if "budget" in cfg.only:
        with throwaway(cfg.pg_url) as create:
            erp_url, state_url = _erp_and_state(cfg, report, create)
            _step(report, "extract + validate + stage")
            extract_stage.extract(cfg, erp_url, state_url, "bench-first")
            state = make_engine(state_url)
            with SandboxProcess(api_key=API_KEY, latency_ms=cfg.latency_ms) as sandbox:
                _step(report, "load throughput (stages and loads what the budget lines need)")
                load_stage.throughput(cfg, report, sandbox, state, state_url, "bench-first")
                _step(report, "one API budget: a task alone, tasks at once, its cost")
                cluster_budget.measure(cfg, report, sandbox, state, state_url)
            state.dispose()
    if "dag_parse" in cfg.only:
        _step(report, "DAG file parse")
        _dag_parse(cfg, report)
    return report


def run(cfg: BenchConfig) -> Report:
    report = Report(cfg.invoices, cfg.month, os.getloadavg())
    if cfg.only:
        return _selected(cfg, report)
    peaks: dict[str, float] = {}
    with throwaway(cfg.pg_url) as create:
        erp_url, state_url = _erp_and_state(cfg, report, create)
        first, small = _extract_lines(cfg, report, create, erp_url, state_url)
        peaks["extract"] = first["max_rss_mb"]
        _step(report, "load chunks of the staged month")
        chunking.figure(report, state_url, "bench-first", first["seconds"])

        state = make_engine(state_url)
        with SandboxProcess(api_key=API_KEY, latency_ms=cfg.latency_ms) as sandbox:
            _step(report, "load throughput: naive, bare concurrent, ours")
            ours = load_stage.throughput(cfg, report, sandbox, state, state_url, "bench-first")
            peaks["load"] = ours["max_rss_mb"]
            _step(report, "one API budget: a task alone, tasks at once, its cost")
            shared = cluster_budget.measure(cfg, report, sandbox, state, state_url)
            peaks["shared-budget load"] = shared["max_rss_mb"]
            _step(report, "rerun: extract again without the watermark's overlap and horizon")
            bare = extract_stage.extract(
                cfg, erp_url, state_url, "bench-rerun-bare", extract_stage.NO_OVERLAP_ENV
            )
            _step(report, "rerun: extract again, load")
            again = extract_stage.extract(cfg, erp_url, state_url, "bench-rerun")
            report.meta["rerun_extract_s"] = round(again["seconds"], 2)
            extract_stage.overlap_figure(report, again, bare)
            peaks["rerun extract"] = again["max_rss_mb"]
            load_stage.rerun(
                report, sandbox, state, state_url, "bench-rerun", ours, cfg.month, cfg.concurrency
            )
            _intraday(cfg, report, erp_url, state_url, again)
            _step(report, "load against a rate limit")
            rl = load_stage.rate_limited(cfg, report, sandbox, state, state_url, "bench-first")
            peaks["rate-limited load"] = rl["max_rss_mb"]
        state.dispose()
        _memory(cfg, report, peaks, small["max_rss_mb"])
        _step(report, f"state growth: {state_growth.MONTHS} months, 3 runs each")
        growth = state_growth.measure(cfg, create("erp_growth"), create("state_growth"))
        state_growth.figure(cfg, report, growth)
        _step(report, f"operations page: 36 months, {cfg.page_rejects:,} rejects")
        ops_page.figure(report, create("state_page"), cfg.month, cfg.page_rejects)
    _step(report, "DAG file parse")
    _dag_parse(cfg, report)
    return report


def main(cfg: BenchConfig) -> dict[str, Any]:
    started = time.perf_counter()
    with procs.forked_stages() if cfg.smoke else contextlib.nullcontext():
        report = run(cfg)
    if cfg.smoke:  # its timings and peaks are not a fresh interpreter's (see forks.py)
        report.meta["stage_processes"] = "forked from one server that imported their code"
    report.meta["load_avg_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    report.meta["total_s"] = round(time.perf_counter() - started, 1)
    path = report.write(cfg.out / f"bench-{cfg.size_label}.json")
    text = report.markdown()
    (cfg.out / f"bench-{cfg.size_label}.md").write_text(text + "\n", "utf-8")
    print(text)
    print(f"\nwritten: {path}")
    return report.to_dict()
