"""DAG integrity, in the Astronomer template's style: each DAG file (one case per file, parsed in
a DagBag of its own) imports cleanly and follows the house rules (tags, retries, timeouts, the
deadline), with nothing live at parse time."""

from __future__ import annotations

import functools
import itertools
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from support.paths import DAGS

DAG_FILES = sorted(path.name for path in DAGS.glob("*.py") if not path.name.startswith("_"))
MONTHLY_LOAD = "fincome_monthly_load.py"
INTRADAY_SYNC = "fincome_intraday_sync.py"


@functools.cache
def dag_bag_of(name: str):
    """The DagBag of the one file ``dags/<name>`` (its import errors are its own)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / name))


@pytest.fixture(params=DAG_FILES)
def dag_bag(request):
    return dag_bag_of(request.param)


@pytest.fixture
def monthly_load_bag():
    return dag_bag_of(MONTHLY_LOAD)


def test_the_dags_folder_holds_the_monthly_load_the_intraday_sync_and_the_maintenance_dag():
    assert {MONTHLY_LOAD, INTRADAY_SYNC, "fincome_state_maintenance.py"} <= set(DAG_FILES)


def test_the_dag_file_imports_without_errors_and_defines_a_dag(dag_bag):
    assert dag_bag.import_errors == {}, dag_bag.import_errors
    assert dag_bag.dags, f"{dag_bag.dag_folder} defines no DAG"


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


#: The chain both DAGs run; the monthly load reconciles before its audit.
LOAD_ORDER = [
    "prepare",
    "extract",
    "load.plan_products",
    "load.products",
    "load.plans",
    "load.customers",
    "load.subscriptions",
    "load.invoices",
    "load.credit_notes",
    "load.delete_cancelled_credit_notes",
    "load.delete_cancelled_invoices",
    "audit",
]


def assert_runs_in_order(dag, order: list[str]) -> None:
    for upstream, downstream in itertools.pairwise(order):
        assert upstream in dag.get_task(downstream).upstream_task_ids, (upstream, downstream)
    assert dag.get_task("audit").trigger_rule == "all_done"


def test_monthly_load_sends_parents_before_children(monthly_load_bag):
    dag = monthly_load_bag.dags["fincome_monthly_load"]
    assert_runs_in_order(dag, [*LOAD_ORDER[:-1], "reconcile", "audit"])


def test_intraday_sync_sends_parents_before_children_and_leaves_reconciling_to_the_monthly():
    dag = dag_bag_of(INTRADAY_SYNC).dags["fincome_intraday_sync"]
    assert_runs_in_order(dag, LOAD_ORDER)
    assert "reconcile" not in dag.task_ids
    assert dag.max_active_runs == 1
    assert set(dag.params) == {"dry_run", "max_reject_ratio"}


def test_monthly_load_declares_its_deadline(monthly_load_bag):
    from airflow.sdk import DeadlineReference

    dag = monthly_load_bag.dags["fincome_monthly_load"]
    deadlines = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert len(deadlines) == 1
    alert = deadlines[0]
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == timedelta(hours=6)
    assert alert.callback.path == "fincome_deadline.on_deadline_missed"


def test_monthly_load_loads_the_closed_month_of_its_data_interval(monthly_load_bag):
    from fincome_airflow.timetable import MonthlyLoadTimetable

    dag = monthly_load_bag.dags["fincome_monthly_load"]
    assert isinstance(dag.timetable, MonthlyLoadTimetable)
    assert set(dag.params) >= {"month", "dry_run", "full_resync", "resources", "max_reject_ratio"}


@pytest.mark.parametrize("name", DAG_FILES)
def test_the_dag_file_parses_with_network_and_databases_unreachable(name, tmp_path):
    """Parsing must not open a socket: connect() raises, and the import still succeeds."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import socket, runpy, sys\n"
        "def refuse(*a, **k):\n"
        "    raise RuntimeError('network access at DAG parse time')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        f"runpy.run_path({str(DAGS / name)!r})\n"
        "print('parsed')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    result = subprocess.run(
        [sys.executable, str(probe)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "parsed" in result.stdout
