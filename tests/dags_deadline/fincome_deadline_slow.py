"""Test-only DAG: its only task outlasts the deadline, so the deadline fires in a real scheduler.

The test sets ``FINCOME_DEADLINE_INTERVAL`` (seconds) and ``FINCOME_DEADLINE_RECORD_PATH`` (the
callback appends the run's identity there) in the environment of the dag-processor;
``FINCOME_TEST_SLEEP_SECONDS`` sets how long the task sleeps.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from airflow.sdk import dag, task

from fincome_airflow.deadline import deadline_alerts


@dag(
    dag_id="fincome_deadline_slow",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 0},
    deadline=deadline_alerts(),
    tags=["test"],
    doc_md=__doc__,
)
def fincome_deadline_slow() -> None:
    @task
    def outlast_the_deadline() -> None:
        time.sleep(float(os.environ.get("FINCOME_TEST_SLEEP_SECONDS", "30")))

    outlast_the_deadline()


fincome_deadline_slow()
