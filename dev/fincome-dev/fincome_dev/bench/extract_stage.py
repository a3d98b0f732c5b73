"""Extract + validate + stage, beside a bare ``COPY (query) TO STDOUT`` of the same rows."""

from __future__ import annotations

from typing import Any

from fincome_airflow.extract.watermark import DEFAULT_OVERLAP, ENV_HORIZON, ENV_OVERLAP
from fincome_airflow.kinds import KIND_MONTHLY
from fincome_dev.bench.config import BenchConfig
from fincome_dev.bench.procs import run_stage
from fincome_dev.bench.table import Figure, Report

TARGET_1M_S = 60.0
#: The intraday sync's extract on an unchanged ERP, whatever the month's size (issue 14).
TARGET_INTRADAY_S = 5.0


def extract(
    cfg: BenchConfig,
    erp_url: str,
    state_url: str,
    run_key: str,
    env: dict[str, str] | None = None,
    kind: str = KIND_MONTHLY,
) -> dict[str, Any]:
    args = {
        "kind": kind,
        "erp_url": erp_url,
        "state_url": state_url,
        "run_key": run_key,
        "month": cfg.month,
        "now": cfg.now,
    }
    return run_stage("extract", args, env)


#: The rerun of an unchanged month without the watermark's guards (see extract/watermark.py).
NO_OVERLAP_ENV = {ENV_OVERLAP: "0", ENV_HORIZON: "off"}


def _records(ext: dict[str, Any]) -> int:
    counts = ext.get("counts") or {}
    return sum(int(c.get("extracted", 0)) for c in counts.values() if isinstance(c, dict))


def overlap_figure(report: Report, guarded: dict[str, Any], bare: dict[str, Any]) -> None:
    """The rerun of the unchanged month with the default overlap and horizon, beside without."""
    extra = _records(guarded) - _records(bare)
    report.add(
        Figure(
            key="watermark_overlap",
            label=f"rerun extract of the unchanged month, {DEFAULT_OVERLAP} overlap + horizon",
            value=f"{guarded['seconds']:.1f} s, {_records(guarded):,} records",
            baseline=f"{bare['seconds']:.1f} s, {_records(bare):,} records without them",
            ratio=guarded["seconds"] / bare["seconds"] if bare["seconds"] else None,
            target="<= 1.10x",
            met=bare["seconds"] > 0 and guarded["seconds"] <= 1.10 * bare["seconds"],
            note=f"{extra:,} records re-read by the overlap; none sent",
            data={"guarded": guarded, "bare": bare, "extra_records": extra},
        )
    )


def intraday_figure(report: Report, intraday: dict[str, Any], monthly: dict[str, Any]) -> None:
    """The intraday sync's extract of the unchanged ERP, beside the monthly rerun's extract."""
    report.add(
        Figure(
            key="intraday_extract",
            label="intraday sync extract of the unchanged ERP (changed rows only)",
            value=f"{intraday['seconds']:.1f} s, {_records(intraday):,} records",
            baseline=f"{monthly['seconds']:.1f} s, {_records(monthly):,} records, monthly rerun",
            ratio=intraday["seconds"] / monthly["seconds"] if monthly["seconds"] else None,
            target=f"<= {TARGET_INTRADAY_S:.0f} s",
            met=intraday["seconds"] <= TARGET_INTRADAY_S,
            note=f"{intraday.get('pending_reextracted', 0):,} pending refusals read again; "
            f"the rest read by the {DEFAULT_OVERLAP} overlap",
            data={"intraday": intraday, "monthly": monthly},
        )
    )


def copy_baseline(cfg: BenchConfig, erp_url: str) -> dict[str, Any]:
    return run_stage("copy", {"erp_url": erp_url, "month": cfg.month})


def figure(cfg: BenchConfig, report: Report, ext: dict[str, Any], copy: dict[str, Any]) -> None:
    target = TARGET_1M_S * cfg.invoices / 1_000_000
    counts = ext.get("counts") or {}
    records = sum(sum(int(v) for v in c.values()) for c in counts.values() if isinstance(c, dict))
    report.add(
        Figure(
            key="extract",
            label="extract + validate + stage, from PostgreSQL",
            value=f"{ext['seconds']:.1f} s",
            baseline=f"{copy['seconds']:.1f} s COPY of {copy['rows']:,} rows",
            ratio=ext["seconds"] / copy["seconds"] if copy["seconds"] else None,
            target=f"<= {target:.1f} s (60 s per 1M)",
            met=ext["seconds"] <= target,
            note=f"{records:,} records; {ext.get('cpu_seconds', 0.0):.1f} s of CPU in the task",
            data={"extract": ext, "copy": copy, "target_s": target},
        )
    )
