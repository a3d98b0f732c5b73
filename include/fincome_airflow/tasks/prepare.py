"""First task of a run: resolve the month, validate the trigger input, check the reports URL."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from fincome_airflow.kinds import KIND_MONTHLY
from fincome_airflow.month import month_from_context, open_month
from fincome_airflow.params import RunOptions
from fincome_airflow.reports.location import (
    ReportsLocationError,
    ReportsUnwritable,
    check_reports_location,
)

log = logging.getLogger(__name__)


def run_key_for(dag_id: str, run_id: str) -> str:
    """The key under which a run stages, audits and locks (stable across task retries)."""
    return f"{dag_id}/{run_id}"


def prepare_run(
    context: Any, now: dt.datetime | None = None, *, kind: str = KIND_MONTHLY
) -> dict[str, Any]:
    """Return the run's plan (a small XCom): run key, kind, month and the validated options.

    A monthly run loads the month of its Param or data interval; an intraday run (``kind``
    ``intraday``) sends the changes of any month and belongs to the open month (its lock).

    Bad trigger input and a misconfigured reports location fail the task without retries
    (retrying cannot fix them); a reports location that cannot be written now is retried.
    """
    try:
        month = (
            month_from_context(context, now) if kind == KIND_MONTHLY else open_month(context, now)
        )
        options = RunOptions.from_params(context.get("params") or {}, month)
    except ValueError as err:
        raise AirflowFailException(f"Invalid trigger input: {err}") from err
    check_reports(context)
    dag_id = context["dag"].dag_id
    return {
        "run_key": run_key_for(dag_id, context["run_id"]),
        "kind": kind,
        "month": str(options.month),
        "dry_run": options.dry_run,
        "full_resync": options.full_resync,
        "resources": list(options.resources),
        "max_reject_ratio": options.max_reject_ratio,
        "reconcile_only": options.reconcile_only,
        # Nothing is sent by a dry run or a reconciliation-only run.
        "send": not (options.dry_run or options.reconcile_only),
    }


def check_reports(context: Any) -> None:
    """Fail before anything is sent when the run's CSV reports could not be written."""
    try:
        where = check_reports_location()
    except ReportsUnwritable as err:
        raise AirflowException(f"Reports location unusable, nothing sent: {err}") from err
    except ReportsLocationError as err:
        raise AirflowFailException(f"Reports location unusable, nothing sent: {err}") from err
    log.info("Reports of run %s go to %s", context["run_id"], where)
