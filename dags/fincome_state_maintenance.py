"""
### Fincome state maintenance

Keeps the sync-state database (connection `fincome_state`) bounded, once a day:

- removes the staged payloads of every run that can no longer resume: finished, superseded by a
  later load of the same month, or older than `FINCOME_RESUME_WINDOW` (default 7 days);
- removes runs older than `FINCOME_HISTORY_RETENTION` (default 395 days) with their audit,
  rejects, per-record outcomes, reconciliation and differences (the run holding the change
  watermark stays);
- in batches of `FINCOME_MAINTENANCE_BATCH` rows, one short transaction each (a running load is
  never locked out), then `VACUUM (ANALYZE)` on PostgreSQL.

The ledger (what Fincome confirmed), pending records and month locks are never touched. The task
log ends with one line saying what was removed; the same figures are its XCom.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

DAG_ID = "fincome_state_maintenance"
STATE_CONN_ID = "fincome_state"

with DAG(
    dag_id=DAG_ID,
    doc_md=__doc__,
    schedule="30 3 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(hours=1),
    },
    tags=["fincome", "maintenance"],
) as dag:

    @task(doc_md="Remove staged payloads that cannot be sent any more and history past retention.")
    def maintain(**_context):
        from fincome_airflow.tasks.maintenance import maintain_state

        return maintain_state(state_conn_id=STATE_CONN_ID)

    maintain()
