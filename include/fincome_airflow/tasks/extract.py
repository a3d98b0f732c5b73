"""The extract task: stage the month, write the rejects file, stop on too many rejects."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from fincome_airflow.engines import erp_engine_for_connection
from fincome_airflow.kinds import KIND_INTRADAY, KIND_MONTHLY
from fincome_airflow.reports.location import report_path
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.stage.staging import write_rejects_csv
from fincome_airflow.state.locks import months_to_lock
from fincome_airflow.state.retention import require_resumable
from fincome_airflow.state.store import STATUS_STAGED, StateStore

log = logging.getLogger(__name__)


class RejectRatioExceeded(AirflowFailException):
    """Too many records were refused: the run stops before sending anything (no retry)."""


def refused_ratio(counts: dict[str, dict[str, int]], known: int = 0) -> tuple[int, int, float]:
    """Refused (rejected + blocked) over the records that could be sent (DRAFTs excluded);
    ``known`` refusals (reported by an earlier run) are left out of both."""
    refused = sum(c["rejected"] + c["blocked"] for c in counts.values()) - known
    considered = sum(c["extracted"] - c["skipped"] for c in counts.values()) - known
    return refused, considered, (refused / considered if considered else 0.0)


def check_reject_ratio(
    report: dict[str, Any], max_ratio: float, rejects_file: str, *, known: int = 0
) -> None:
    """Fail the run before any send when the refused share is above ``max_ratio``.

    :param known: refusals left out of the share (the intraday sync: pending records refused
        again, unchanged since an earlier run reported them; a sync of a few changes would
        otherwise be stopped by every defect the ERP still holds).
    """
    refused, considered, ratio = refused_ratio(report["counts"], known)
    if ratio <= max_ratio:
        return
    reasons = ", ".join(f"{code} ({n})" for code, n in report["top_reasons"]) or "none"
    already = f"; {known} refusals reported by earlier runs not counted" if known else ""
    raise RejectRatioExceeded(
        f"{refused} of {considered} records refused ({ratio:.1%}, above the "
        f"{max_ratio:.1%} allowed{already}): nothing was sent. Most frequent reasons: {reasons}. "
        f"Details in {rejects_file}; fix the ERP or raise max_reject_ratio and rerun."
    )


def extract_month(
    plan: dict[str, Any],
    *,
    erp_conn_id: str,
    state_conn_id: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Extract, validate and stage the run's month (intraday: the changes only); return the
    stage report (a small XCom)."""
    store = StateStore.from_connection(state_conn_id)
    require_resumable(store, plan["run_key"], restage=True, now=now)
    engine = erp_engine_for_connection(erp_conn_id)
    try:
        report = extract_and_stage(
            engine,
            store,
            plan["run_key"],
            plan["month"],
            now=now or dt.datetime.now(dt.UTC),
            dry_run=not plan["send"],
            kind=plan.get("kind", KIND_MONTHLY),
        ).to_dict()
    finally:
        engine.dispose()
    rejects_file = report_path(plan["run_key"], "rejects")
    written = write_rejects_csv(store, plan["run_key"], rejects_file)
    log.info("%d rejected or blocked records written to %s", written, rejects_file)
    report["rejects_file"] = str(rejects_file)
    # Every month the run sends records of: its load tasks lock them (state/locks.py).
    report["lock_months"] = months_to_lock(
        plan["month"], report["invoice_months"], intraday=plan.get("kind") == KIND_INTRADAY
    )
    store.save_stage_report(plan["run_key"], report)
    known = report["known_refused"] if plan.get("kind") == KIND_INTRADAY else 0
    check_reject_ratio(report, plan["max_reject_ratio"], str(rejects_file), known=known)
    # Only now is the month staged whole: the loads refuse a run still 'extracting' (a crash or
    # a dropped ERP connection half-way leaves committed batches of part of the month).
    store.set_run_status(plan["run_key"], STATUS_STAGED)
    return report
