"""Test-only DAG: one quick task, the project's deadline (``deadline_alerts()`` defaults).

Used to prove ``airflow dags test`` works on a DAG carrying the deadline, and that a normal
parse keeps it.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, get_current_context, task

from fincome_airflow.deadline import deadline_alerts


@dag(
    dag_id="fincome_deadline_probe",
    schedule="0 2 1 * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"month": None},
    default_args={"retries": 0},
    deadline=deadline_alerts(),
    tags=["test"],
    doc_md=__doc__,
)
def fincome_deadline_probe() -> None:
    @task
    def report_month() -> str | None:
        return get_current_context()["params"]["month"]

    report_month()


fincome_deadline_probe()
