"""The deadline fires in a real scheduler run and its callback receives the run's identity.

api-server + dag-processor + scheduler + triggerer run as processes on a migrated SQLite
metadata DB (LocalExecutor); the DAG's only task sleeps past a 5-second deadline.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from support.airflow import migrated_airflow
from support.paths import REPO

DAG_ID = "fincome_deadline_slow"

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def fired(tmp_path_factory, airflow_db_template) -> dict:
    """Trigger one run past its deadline; return its run id, callback records and final state."""
    work = tmp_path_factory.mktemp("deadline_scheduler")
    record = work / "missed.jsonl"
    env = {
        "FINCOME_DEADLINE_INTERVAL": "5s",
        "FINCOME_DEADLINE_RECORD_PATH": str(record),
        "FINCOME_TEST_SLEEP_SECONDS": "20",
    }
    dags = REPO / "tests" / "dags_deadline"
    with migrated_airflow(airflow_db_template, work / "home", dags, env=env) as af:
        af.start()
        af.wait_for_api()
        af.wait_for_dag(DAG_ID)
        af.unpause(DAG_ID)
        run_id = af.trigger(DAG_ID, conf={"month": "2026-10"})
        af.wait_for(
            lambda: record.exists() and record.read_text().strip(),
            timeout=120,
            what="the deadline callback's record",
        )
        state = af.wait_for_run(DAG_ID, run_id, timeout=120)
        callbacks = af.query("SELECT state, output FROM callback")
    lines = record.read_text().splitlines()
    return {
        "run_id": run_id,
        "records": [json.loads(line) for line in lines],
        "state": state,
        "callbacks": callbacks,
    }


def test_deadline_callback_fires_once_when_run_outlasts_deadline(fired):
    assert len(fired["records"]) == 1, fired["records"]


def test_deadline_callback_receives_run_identity_when_deadline_missed(fired):
    record = fired["records"][0]
    assert record["dag_id"] == DAG_ID
    assert record["run_id"] == fired["run_id"]
    assert record["run_type"] == "manual"
    assert record["month"] == "2026-10"
    assert record["state"] == "running"
    assert record["deadline_id"]
    assert record["queued_at"]


def test_deadline_time_is_queued_at_plus_interval_when_reference_is_queued_at(fired):
    record = fired["records"][0]
    queued_at = datetime.fromisoformat(record["queued_at"].replace("Z", "+00:00"))
    deadline_time = datetime.fromisoformat(record["deadline_time"])
    assert deadline_time - queued_at == timedelta(seconds=5)


def test_triggerer_stores_callback_success_when_callback_returns(fired):
    assert len(fired["callbacks"]) == 1
    state, output = fired["callbacks"][0]
    assert state == "success"
    assert fired["run_id"] in output


def test_run_still_succeeds_when_its_deadline_was_missed(fired):
    assert fired["state"] == "success"
