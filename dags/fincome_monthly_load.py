"""
### Fincome monthly load

Loads one billing month of the ERP (connection `erp_db`) into Fincome (connection `fincome_api`):
the month's invoices and credit notes, the invoices they credit, the subscriptions, plans,
products and customers these reference, and every record changed in the ERP since the last
successful load.

**Order**: `prepare` → `extract` (validate and stage in the state database, connection
`fincome_state`) → `load.plan_<step>` → `load.products` → `load.plans` → `load.customers` →
`load.subscriptions` → `load.invoices` → `load.credit_notes` →
`load.delete_cancelled_credit_notes` → `load.delete_cancelled_invoices` → `reconcile` →
`audit` → `publish`.

**Downstream DAGs**: `publish` emits an event of the Asset `fincome_billing_month` when the month
is loaded and reconciled (never for a dry run, a run of some resources, differences or a failed
run), partition key the month (`2026-10`) and the audit's figures as its extra; schedule on it
with `PartitionedAssetTimetable(assets=BILLING_MONTH)` (`fincome_airflow.assets`).

**Chunks**: each load step is mapped over chunks of the staged month (named `invoices 3/12` in
the task's *Mapped Tasks* tab), each sized to send within half its `execution_timeout`
(`FINCOME_LOAD_TIMEOUT_SECONDS`) at the connection's `requests_per_second`, shared by up to
`FINCOME_LOAD_PARALLEL_CHUNKS` chunks at once. A customer's chunk holds its whole hierarchy.
A failed chunk retries alone and resends only its unconfirmed records.

**Rerun a month** (the ERP was corrected): *Trigger DAG* with `month` = `YYYY-MM`. Only records
whose payload changed since Fincome last confirmed them are sent; `full_resync` sends them all
(repairs edits made by hand in Fincome). `dry_run` reports what would happen and sends nothing.
Two runs of one month never send at once: the second waits for the first.

**Rejects**: records the ERP holds wrongly are not sent; each is listed with a reason code and
a plain message in the run's rejects file (path in the `extract` task's XCom and in the audit),
and records that depend on them are *blocked*. Fix them in the ERP: the next run sends them.
Above `max_reject_ratio` refused, the run stops before sending anything.

**Backfill** history: `python -m fincome_airflow.backfill --from 2024-01 --to 2026-10 --unpause`
runs `airflow backfill create ... --max-active-runs 1` (one month at a time, oldest first) and
unpauses the DAG: the scheduler starts no run of a paused DAG, backfill runs included.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, chain, task

from fincome_airflow.assets import BILLING_MONTH
from fincome_airflow.dag_parts import (
    API_POOL,
    DEFAULT_ARGS,
    FINCOME_CONN_ID,
    STATE_CONN_ID,
    audit_task,
    extract_task,
    load_group,
    prepare_task,
)
from fincome_airflow.deadline import deadline_alerts
from fincome_airflow.kinds import KIND_MONTHLY
from fincome_airflow.params import dag_params
from fincome_airflow.timetable import MonthlyLoadTimetable

DAG_ID = "fincome_monthly_load"
default_args = DEFAULT_ARGS

with DAG(
    dag_id=DAG_ID,
    doc_md=__doc__,
    # The run whose data interval is October starts once October is closed (1 November, 00:00);
    # its id names the month: scheduled__2026-10__2026-11-01T00:00:00+00:00.
    schedule=MonthlyLoadTimetable("0 0 1 * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    params=dag_params(),
    default_args=default_args,
    deadline=deadline_alerts(),
    render_template_as_native_obj=True,
    tags=["fincome", "billing", "erp"],
) as dag:
    plan = prepare_task(KIND_MONTHLY)
    load = load_group(plan)

    @task(
        doc_md="Read the month back from Fincome and compare it with the ERP; differences "
        "fail the task (after the verdict is stored) unless FINCOME_RECONCILE_ON_DIFFERENCE=warn.",
        pool=API_POOL,
    )
    def reconcile(plan: dict):
        from fincome_airflow.tasks.reconcile import reconcile_run

        return reconcile_run(plan, fincome_conn_id=FINCOME_CONN_ID, state_conn_id=STATE_CONN_ID)

    @task(
        doc_md="Emit the month's Asset event (partition key the month, extra the audit's "
        "figures) when it is loaded and reconciled; skips otherwise.",
        outlets=[BILLING_MONTH],
    )
    def publish(**context):
        from fincome_airflow.tasks.publish import publish_month

        publish_month(context)

    chain(
        plan,
        extract_task(plan),
        load.group,
        reconcile(plan),
        audit_task(load, reconciles=True),
        publish(),
    )
