"""DAG integrity, in the Astronomer template's style: every DAG file imports cleanly and follows
the house rules (tags, retries, timeouts, the deadline), with nothing live at parse time."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dag_files_import_without_errors(dag_bag):
    assert dag_bag.import_errors == {}, dag_bag.import_errors
    assert "fincome_monthly_load" in dag_bag.dags


def test_every_dag_has_tags_owner_and_docs(dag_bag):
    for dag_id, dag in dag_bag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.catchup is False, f"{dag_id} catches up by default"
        for t in dag.tasks:
            assert t.owner != "airflow", f"{dag_id}.{t.task_id} has no owner"


def test_every_task_has_retries_and_a_timeout(dag_bag):
    for dag_id, dag in dag_bag.dags.items():
        for t in dag.tasks:
            if t.task_id != "prepare":  # bad trigger input is not retried
                assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"
            assert t.execution_timeout, f"{dag_id}.{t.task_id} has no execution_timeout"
            assert t.doc_md, f"{dag_id}.{t.task_id} has no doc_md"


def test_monthly_load_sends_parents_before_children(dag_bag):
    dag = dag_bag.dags["fincome_monthly_load"]
    order = [
        "prepare",
        "extract",
        "load.plan_customers",
        "load.customers",
        "load.subscriptions",
        "load.invoices",
        "load.delete_cancelled_invoices",
        "reconcile",
        "audit",
    ]
    for upstream, downstream in itertools.pairwise(order):
        assert upstream in dag.get_task(downstream).upstream_task_ids, (upstream, downstream)
    assert dag.get_task("audit").trigger_rule == "all_done"


def test_monthly_load_declares_its_deadline(dag_bag):
    from airflow.sdk import DeadlineReference

    dag = dag_bag.dags["fincome_monthly_load"]
    deadlines = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert len(deadlines) == 1
    alert = deadlines[0]
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == timedelta(hours=6)
    assert alert.callback.path == "fincome_deadline.on_deadline_missed"


def test_monthly_load_loads_the_closed_month_of_its_data_interval(dag_bag):
    from fincome_airflow.timetable import MonthlyLoadTimetable

    dag = dag_bag.dags["fincome_monthly_load"]
    assert isinstance(dag.timetable, MonthlyLoadTimetable)
    assert set(dag.params) >= {"month", "dry_run", "full_resync", "resources", "max_reject_ratio"}


def test_dag_file_parses_with_network_and_databases_unreachable(tmp_path):
    """Parsing must not open a socket: connect() raises, and the import still succeeds."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import socket, runpy, sys\n"
        "def refuse(*a, **k):\n"
        "    raise RuntimeError('network access at DAG parse time')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        f"runpy.run_path({str(DAGS / 'fincome_monthly_load.py')!r})\n"
        "print('parsed')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    result = subprocess.run(
        [sys.executable, str(probe)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "parsed" in result.stdout
