"""The audit task: the run summary (:mod:`fincome_airflow.audit.summary`) written to the state
database and the ``audit`` XCom; the run fails there if a task before it did not finish.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fincome_airflow.audit.summary import build_summary, readable
from fincome_airflow.contract import DELETION_STEPS, RESOURCES
from fincome_airflow.load.chunks import merge_audits
from fincome_airflow.state.locks import release_all
from fincome_airflow.state.retention import release_finished, require_resumable
from fincome_airflow.state.store import StateStore

log = logging.getLogger(__name__)


def pull_step(ti: Any, task_id: str, chunks_task_id: str | None) -> Any:
    """The audit of one load step: its task's XCom, or with ``chunks_task_id`` (the step's
    planning task) its mapped instances' XComs merged; ``None`` when a chunk (or the plan) is
    missing."""
    if chunks_task_id is None:
        return ti.xcom_pull(task_ids=task_id)
    chunks = ti.xcom_pull(task_ids=chunks_task_id)
    if not chunks:
        return None
    audits = ti.xcom_pull(task_ids=task_id, map_indexes=list(range(len(chunks))))
    return merge_audits(audits)


def audit_run(
    context: Any,
    *,
    state_conn_id: str,
    load_task_ids: Mapping[str, str],
    delete_task_ids: Mapping[str, str],
    chunk_task_ids: Mapping[str, str] | None = None,
    reconcile_task_id: str | None = "reconcile",
) -> None:
    """Write the run summary to the state database and the ``audit`` XCom, then fail the run
    if a task before it did not finish (the summary is written first, whatever happened).

    ``delete_task_ids``: the task of each deletion step (``contract.DELETION_STEPS``).
    With ``chunk_task_ids`` (step: its planning task) the load steps are mapped over chunks;
    their month locks, left held by the chunks, are released here (nothing of the run sends any
    more). ``reconcile_task_id`` is ``None`` in a DAG that does not reconcile (the intraday
    sync: the monthly run reconciles the month).
    """
    from airflow.sdk.exceptions import AirflowFailException

    from fincome_airflow.reconcile.reconcile_month import stored_verdict

    ti = context["ti"]

    def pull(task_id: str) -> Any:
        return ti.xcom_pull(task_ids=task_id)

    plan = pull("prepare")
    if not plan:
        raise AirflowFailException("The run's prepare task did not finish: nothing to audit.")
    store = StateStore.from_connection(state_conn_id)
    planners = chunk_task_ids or {}
    if planners and plan["send"]:
        release_all(store, plan["run_key"])
    require_resumable(store, plan["run_key"])
    extracted = pull("extract")
    # A run stopped at the reject gate pushed no XCom: its report is in the state database.
    stage = extracted or store.stage_report(plan["run_key"])
    loads = {
        resource: pull_step(ti, task_id, planners.get(resource))
        for resource, task_id in load_task_ids.items()
    }
    deletions = {
        step: pull_step(ti, task_id, planners.get(step))
        for step, task_id in delete_task_ids.items()
    }
    reconciliation = stored_verdict(store, plan["run_key"])
    by_resource = {DELETION_STEPS[step]: value for step, value in deletions.items()}
    summary = build_summary(plan, stage, loads, by_resource, reconciliation, store)
    unfinished = [
        task_id
        for task_id, value in [
            ("extract", extracted),
            *((t, loads[r]) for r, t in load_task_ids.items()),
            *((t, deletions[step]) for step, t in delete_task_ids.items()),
        ]
        if value is None
    ]
    if (
        reconcile_task_id
        and (reconciliation is None or reconciliation.get("differences"))
        and pull(reconcile_task_id) is None
    ):
        unfinished.append(reconcile_task_id)
    summary["unfinished_tasks"] = unfinished
    loads_done = not any(t != reconcile_task_id for t in unfinished)
    # Only a run that loaded every resource moves the watermark (runs with status "done"): a
    # run limited to some resources is "partial", so the next full run still takes the records
    # of the other resources updated since the last full load.
    if not plan["send"]:
        status = "dry_run"
    elif not loads_done:
        status = "failed"
    else:
        status = "done" if set(plan["resources"]) >= set(RESOURCES) else "partial"
    store.save_summary(plan["run_key"], summary, status=status)
    log.info("%s", readable(summary))
    ti.xcom_push(key="audit", value=summary)
    if unfinished:
        raise AirflowFailException(
            f"Run {plan['run_key']} incomplete: {', '.join(unfinished)} did not succeed. "
            "The summary is saved; rerun or clear the failed tasks."
        )
    # Nothing of this run can be sent any more: its staged payloads go now, not at the next
    # maintenance (the summary above was computed from them first).
    release_finished(store, plan["run_key"], status)
