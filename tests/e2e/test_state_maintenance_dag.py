"""``airflow dags test fincome_state_maintenance`` runs the maintenance as the schedule would:
a finished run's staged payloads go, a run still resumable keeps them, and the task's log line
says what was removed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from support.connections import sqlite_conn_json
from support.staging import record_run

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore

DAG_ID = "fincome_state_maintenance"


def test_dags_test_of_the_maintenance_removes_what_cannot_be_sent_and_says_so(airflow, tmp_path):
    path = tmp_path / "state.sqlite"
    store = StateStore.from_url(f"sqlite:///{path}")
    store.ensure_schema()
    now = dt.datetime.now(dt.UTC)
    record_run(store, "oct-done", "2026-10", "done", now=now, days_ago=1, records=7)
    record_run(store, "nov-failed", "2026-11", "failed", now=now, days_ago=0.5, records=3)

    done = airflow.cli(
        "dags",
        "test",
        DAG_ID,
        now.date().isoformat(),
        check=False,
        timeout=240,
        env={"AIRFLOW_CONN_FINCOME_STATE": sqlite_conn_json(path)},
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "staged payloads removed 7 rows (runs: 1 finished)" in output
    with store.begin() as conn:
        left = conn.execute(
            select(schema.staged.c.run_key, func.count()).group_by(schema.staged.c.run_key)
        ).all()
        marked = conn.execute(
            select(schema.runs.c.staged_removed_why).where(schema.runs.c.run_key == "oct-done")
        ).scalar()
    assert dict(left) == {"nov-failed": 3}
    assert marked == "finished"
