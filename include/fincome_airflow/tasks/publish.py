"""The publish task: one event of the month's Asset once the month is loaded and reconciled."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from fincome_airflow.assets import BILLING_MONTH, event_extra, not_publishable

log = logging.getLogger(__name__)


def publish_month(context: Any) -> None:
    """Emit the :data:`~fincome_airflow.assets.BILLING_MONTH` event of the run's month (partition
    key the month, extra the audit's figures), or skip: a skipped task emits no event.

    The task's only input is the audit's summary (XCom ``audit``), so it can run again alone.
    """
    summary = context["ti"].xcom_pull(task_ids="audit", key="audit")
    if not summary:
        raise AirflowSkipException("The audit saved no summary: nothing to publish.")
    if (reason := not_publishable(summary)) is not None:
        raise AirflowSkipException(f"Month {summary['month']} not published: {reason}.")
    event = context["outlet_events"][BILLING_MONTH]
    event.add_partitions(summary["month"])
    event.extra = event_extra(summary)
    log.info("Published %s, partition %s", BILLING_MONTH.name, summary["month"])
