"""``airflow dags test`` on a DAG carrying the project's deadline (Airflow 3.3.2 bug workaround).

The helper omits the deadline only while ``airflow dags test`` parses the DAG; every other parse
(here ``airflow dags reserialize``, i.e. what the dag-processor writes) keeps it.
"""

from __future__ import annotations

import json

import pytest
from support.airflow import migrated_airflow
from support.paths import REPO

DAG_ID = "fincome_deadline_probe"
BUG = "'dict' object has no attribute 'hex'"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def af(tmp_path_factory, airflow_db_template):
    """A SQLite Airflow over ``tests/dags_deadline`` (no component running)."""
    home = tmp_path_factory.mktemp("dags_test") / "home"
    with migrated_airflow(airflow_db_template, home, REPO / "tests" / "dags_deadline") as runtime:
        yield runtime


def dags_test(af, run_after: str, **env: str):
    return af.cli(
        "dags", "test", DAG_ID, run_after, "--conf", json.dumps({"month": "2026-10"}),
        check=False, env=env,
    )  # fmt: skip


def test_dags_test_succeeds_when_dag_declares_deadline(af):
    result = dags_test(af, "2026-11-01")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Deadline alerts omitted for `airflow dags test`" in output
    rows = af.query(
        "SELECT state FROM dag_run WHERE dag_id = ? AND logical_date LIKE '2026-11-01%'",
        (DAG_ID,),
    )
    assert rows == [("success",)]
    xcom = af.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND task_id = 'report_month'", (DAG_ID,)
    )
    assert [json.loads(value) for (value,) in xcom] == ["2026-10"]


def test_dags_test_crashes_when_deadline_kept(af):
    """Canary: the upstream bug the helper works around. If this fails, Airflow fixed
    ``DAG.test()`` for deadlines and ``auto`` mode may stop omitting them."""
    result = dags_test(af, "2026-09-01", FINCOME_DEADLINE="on")
    assert result.returncode != 0
    assert BUG in result.stdout + result.stderr


def test_normal_parse_keeps_deadline_when_not_dags_test(af):
    af.cli("dags", "reserialize")
    (latest,) = af.query(
        "SELECT id FROM serialized_dag WHERE dag_id = ? ORDER BY created_at DESC LIMIT 1",
        (DAG_ID,),
    )[0]
    alerts = af.query(
        "SELECT name, interval, reference, callback_def FROM deadline_alert "
        "WHERE serialized_dag_id = ?",
        (latest,),
    )
    assert len(alerts) == 1
    name, interval, reference, callback = alerts[0]
    assert name == "fincome_sla"
    assert json.loads(interval)["__data__"] == 6 * 3600
    assert json.loads(reference)["reference_type"] == "DagRunQueuedAtDeadline"
    assert json.loads(callback)["__data__"]["path"] == "fincome_deadline.on_deadline_missed"
