"""
### Fincome monthly load

Loads one billing month of the ERP (connection `erp_db`) into Fincome (connection `fincome_api`):
the month's invoices, the subscriptions and customers they reference, and every record changed
in the ERP since the last successful load.

**Order**: `prepare` → `extract` (validate and stage in the state database, connection
`fincome_state`) → `load.plan_<step>` → `load.customers` → `load.subscriptions` →
`load.invoices` → `load.delete_cancelled_invoices` → `reconcile` → `audit` → `publish`.

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

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, TaskGroup, chain, task

from fincome_airflow.assets import BILLING_MONTH
from fincome_airflow.contract import DELETIONS, RESOURCES
from fincome_airflow.deadline import deadline_alerts
from fincome_airflow.operators import FincomeDeleteOperator, FincomeLoadOperator
from fincome_airflow.params import dag_params
from fincome_airflow.timetable import MonthlyLoadTimetable

DAG_ID = "fincome_monthly_load"
ERP_CONN_ID = "erp_db"
STATE_CONN_ID = "fincome_state"
FINCOME_CONN_ID = "fincome_api"
#: Pool shared by every task that calls the Fincome API (all runs, backfills included).
API_POOL = os.environ.get("FINCOME_API_POOL", "default_pool")
PLAN = "ti.xcom_pull(task_ids='prepare')"
#: Seconds before a failed task's first retry (then doubling); tests and drills set it low.
RETRY_DELAY = timedelta(seconds=float(os.environ.get("FINCOME_RETRY_DELAY_SECONDS", "60")))
#: ``execution_timeout`` of one load chunk; chunks are sized to send within half of it.
LOAD_TIMEOUT = timedelta(seconds=float(os.environ.get("FINCOME_LOAD_TIMEOUT_SECONDS", "7200")))
#: Chunks of one step sending at once (they share the API budget; chunks are sized for it).
PARALLEL_CHUNKS = int(os.environ.get("FINCOME_LOAD_PARALLEL_CHUNKS", "2"))

default_args = {
    "owner": "data-platform",
    "retries": 3,
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=2),
}

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

    @task(doc_md="Resolve the billing month and validate the trigger input.", retries=0)
    def prepare(**context):
        from fincome_airflow.tasks.prepare import prepare_run

        return prepare_run(context)

    @task(
        doc_md="Extract the month from the ERP, validate it and stage it in the state "
        "database; writes the rejects file. Fails without retry above `max_reject_ratio`.",
    )
    def extract(plan: dict, **context):
        from fincome_airflow.lineage import attach_extract_lineage
        from fincome_airflow.tasks.extract import extract_month

        report = extract_month(plan, erp_conn_id=ERP_CONN_ID, state_conn_id=STATE_CONN_ID)
        attach_extract_lineage(context["task"], ERP_CONN_ID, report)
        return report

    plan = prepare()

    with TaskGroup("load", tooltip="Send to Fincome in chunks, parents before children") as load:

        @task(
            doc_md="Cut a load step of the staged month into chunks that send within half "
            "their execution_timeout at the connection's rate (XCom: bounds and counts).",
        )
        def plan_chunks(plan: dict, step: str):
            from fincome_airflow.tasks.chunks import plan_run_chunks

            return plan_run_chunks(
                plan,
                step,
                fincome_conn_id=FINCOME_CONN_ID,
                state_conn_id=STATE_CONN_ID,
                timeout_s=LOAD_TIMEOUT.total_seconds(),
                parallel=PARALLEL_CHUNKS,
            )

        chunks = {
            step: plan_chunks.override(task_id=f"plan_{step}")(plan, step)
            for step in (*RESOURCES, DELETIONS)
        }
        common = {
            "run_key": f"{{{{ {PLAN}['run_key'] }}}}",
            "month": f"{{{{ {PLAN}['month'] }}}}",
            "dry_run": f"{{{{ not {PLAN}['send'] }}}}",
            "fincome_conn_id": FINCOME_CONN_ID,
            "state_conn_id": STATE_CONN_ID,
            "erp_conn_id": ERP_CONN_ID,
            "pool": API_POOL,
            "execution_timeout": LOAD_TIMEOUT,
            "max_active_tis_per_dagrun": PARALLEL_CHUNKS,
            "map_index_template": FincomeLoadOperator.CHUNK_LABEL,
        }
        loads = [
            FincomeLoadOperator.partial(
                task_id=resource,
                resource=resource,
                full_resync=f"{{{{ {PLAN}['full_resync'] }}}}",
                enabled=f"{{{{ '{resource}' in {PLAN}['resources'] and "
                f"not {PLAN}['reconcile_only'] }}}}",
                doc_md=f"Send the staged {resource} of one chunk that changed since Fincome last "
                "confirmed them; each confirmation is recorded as it arrives, so a retry "
                "resends nothing confirmed.",
                **common,
            ).expand(chunk=chunks[resource])
            for resource in RESOURCES
        ]
        delete_cancelled = FincomeDeleteOperator.partial(
            task_id="delete_cancelled_invoices",
            resource="invoices",
            enabled=f"{{{{ 'invoices' in {PLAN}['resources'] and not {PLAN}['reconcile_only'] }}}}",
            doc_md="Delete from Fincome the invoices of one chunk cancelled in the ERP since "
            "they were sent.",
            **common,
        ).expand(chunk=chunks[DELETIONS])
        chain(*loads, delete_cancelled)

    @task(
        doc_md="Read the month back from Fincome and compare it with the ERP; differences "
        "fail the task (after the verdict is stored) unless FINCOME_RECONCILE_ON_DIFFERENCE=warn.",
        pool=API_POOL,
    )
    def reconcile(plan: dict):
        from fincome_airflow.tasks.reconcile import reconcile_run

        return reconcile_run(plan, fincome_conn_id=FINCOME_CONN_ID, state_conn_id=STATE_CONN_ID)

    @task(
        doc_md="Write the run summary (state database and XCom `audit`), whatever happened.",
        trigger_rule="all_done",
        retries=1,
    )
    def audit(**context):
        from fincome_airflow.tasks.audit import audit_run

        audit_run(
            context,
            state_conn_id=STATE_CONN_ID,
            load_task_ids={
                resource: op.task_id for resource, op in zip(RESOURCES, loads, strict=True)
            },
            delete_task_id=delete_cancelled.task_id,
            chunk_task_ids={step: arg.operator.task_id for step, arg in chunks.items()},
        )

    @task(
        doc_md="Emit the month's Asset event (partition key the month, extra the audit's "
        "figures) when it is loaded and reconciled; skips otherwise.",
        outlets=[BILLING_MONTH],
    )
    def publish(**context):
        from fincome_airflow.tasks.publish import publish_month

        publish_month(context)

    chain(plan, extract(plan), load, reconcile(plan), audit(), publish())
