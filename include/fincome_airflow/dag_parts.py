"""The tasks the Fincome DAGs share, built inside a DAG's ``with`` block.

The monthly load (``fincome_monthly_load``) and the intraday sync (``fincome_intraday_sync``)
run the same chain: ``prepare`` → ``extract`` → ``load`` (chunked sends, parents before
children, then the deletions) → ``audit``; the monthly load adds ``reconcile`` before the audit.
Imported at parse time: only Airflow's authoring API and the operators (whose I/O waits for
``execute``); the task callables are imported inside the tasks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from airflow.sdk import TaskGroup, chain, task

from fincome_airflow.contract import DELETION_STEPS, DELETIONS, RESOURCES
from fincome_airflow.operators import FincomeDeleteOperator, FincomeLoadOperator

ERP_CONN_ID = "erp_db"
STATE_CONN_ID = "fincome_state"
FINCOME_CONN_ID = "fincome_api"
#: Pool shared by every task that calls the Fincome API (all runs of both DAGs, backfills too).
API_POOL = os.environ.get("FINCOME_API_POOL", "default_pool")
PLAN = "ti.xcom_pull(task_ids='prepare')"
#: Seconds before a failed task's first retry (then doubling); tests and drills set it low.
RETRY_DELAY = timedelta(seconds=float(os.environ.get("FINCOME_RETRY_DELAY_SECONDS", "60")))
#: ``execution_timeout`` of one load chunk; chunks are sized to send within half of it.
LOAD_TIMEOUT = timedelta(seconds=float(os.environ.get("FINCOME_LOAD_TIMEOUT_SECONDS", "7200")))
#: Chunks of one step sending at once (they share the API budget; chunks are sized for it).
PARALLEL_CHUNKS = int(os.environ.get("FINCOME_LOAD_PARALLEL_CHUNKS", "2"))

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-platform",
    "retries": 3,
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=2),
}


@dataclass(frozen=True)
class LoadTasks:
    """The ``load`` task group and the tasks the audit reads."""

    group: TaskGroup
    loads: list[Any]
    #: One per deletion step (``contract.DELETION_STEPS``), in their order.
    deletes: dict[str, Any]
    chunks: dict[str, Any]

    @property
    def delete_cancelled(self) -> Any:
        """The deletion of cancelled invoices (the last step of the group)."""
        return self.deletes[DELETIONS]


def prepare_task(kind: str) -> Any:
    """The ``prepare`` task of a run of ``kind`` (``monthly`` or ``intraday``)."""

    @task(doc_md="Resolve the billing month and validate the trigger input.", retries=0)
    def prepare(**context):
        from fincome_airflow.tasks.prepare import prepare_run

        return prepare_run(context, kind=kind)

    return prepare()


def extract_task(plan: Any) -> Any:
    @task(
        doc_md="Extract the run's records from the ERP (the month's and the changed ones, or "
        "only the changed ones intraday), validate them and stage them in the state database; "
        "writes the rejects file. Fails without retry above `max_reject_ratio`.",
    )
    def extract(plan: dict, **context):
        from fincome_airflow.lineage import attach_extract_lineage
        from fincome_airflow.tasks.extract import extract_month

        report = extract_month(plan, erp_conn_id=ERP_CONN_ID, state_conn_id=STATE_CONN_ID)
        attach_extract_lineage(context["task"], ERP_CONN_ID, report)
        return report

    return extract(plan)


def load_group(plan: Any) -> LoadTasks:
    """The ``load`` group: per step, a planning task and the load mapped over its chunks."""
    with TaskGroup("load", tooltip="Send to Fincome in chunks, parents before children") as group:

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
            for step in (*RESOURCES, *DELETION_STEPS)
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
        deletes = {
            step: FincomeDeleteOperator.partial(
                task_id=f"delete_cancelled_{resource}",
                resource=resource,
                enabled=f"{{{{ '{resource}' in {PLAN}['resources'] and "
                f"not {PLAN}['reconcile_only'] }}}}",
                doc_md=f"Remove the {resource} of one chunk cancelled in the ERP since they were "
                "sent to Fincome (credit notes go before the invoices they credit).",
                **common,
            ).expand(chunk=chunks[step])
            for step, resource in DELETION_STEPS.items()
        }
        chain(*loads, *deletes.values())
    return LoadTasks(group, loads, deletes, chunks)


def audit_task(load: LoadTasks, *, reconciles: bool) -> Any:
    """The ``audit`` task; ``reconciles``: the DAG has a ``reconcile`` task it must wait for."""

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
                resource: op.task_id for resource, op in zip(RESOURCES, load.loads, strict=True)
            },
            delete_task_ids={step: op.task_id for step, op in load.deletes.items()},
            chunk_task_ids={step: arg.operator.task_id for step, arg in load.chunks.items()},
            reconcile_task_id="reconcile" if reconciles else None,
        )

    return audit()
