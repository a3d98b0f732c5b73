"""``make demo`` (``python -m fincome_dev.demo``): twice in a fresh AIRFLOW_HOME."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]


def demo(home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
    )
    return subprocess.run(
        [sys.executable, "-m", "fincome_dev.demo"],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _utc(stamp: str) -> datetime:
    value = datetime.fromisoformat(stamp)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def summaries(state_db: Path) -> list[dict]:
    with closing(sqlite3.connect(state_db)) as conn:
        rows = conn.execute("SELECT summary FROM fincome_runs ORDER BY created_at").fetchall()
    return [json.loads(summary) for (summary,) in rows]


def test_demo_loads_october_then_sends_nothing(tmp_path):
    home = tmp_path / ".airflow"
    before = datetime.now(UTC).replace(microsecond=0)
    first = demo(home)
    assert first.returncode == 0, first.stdout + first.stderr[-4000:]
    assert "Reference ERP: created" in first.stdout
    assert "reconciliation: reconciled" in first.stdout
    assert "POST /invoices x" in first.stdout
    assert "[info" not in first.stdout  # Airflow's log goes to the file, not the terminal
    logs = sorted((home / "logs").glob("demo-*.log"))
    assert len(logs) == 1 and "DagRun Finished" in logs[0].read_text()

    second = demo(home)
    assert second.returncode == 0, second.stdout + second.stderr[-4000:]
    assert "Sent to Fincome: nothing" in second.stdout, second.stdout
    assert "migrating" not in second.stdout
    assert "Reference ERP: created" not in second.stdout

    runs = summaries(home / "state.sqlite")
    with closing(sqlite3.connect(home / "state.sqlite")) as conn:
        # Each finished run's audit released its staged payloads.
        assert conn.execute("SELECT count(*) FROM fincome_staged").fetchone() == (0,)
    assert len(runs) == 2
    loaded, rerun = runs
    assert loaded["month"] == rerun["month"] == "2026-10"
    assert {r: c["created"] for r, c in loaded["resources"].items()} == {
        "customers": 88,
        "subscriptions": 104,
        "invoices": 166,
    }
    for counts in rerun["resources"].values():
        assert counts["created"] == counts["updated"] == counts["deleted"] == 0
        assert counts["unchanged"] == counts["valid"] > 0
        assert counts["balanced"]
    assert "Operations page: http://localhost:8080/fincome/" in first.stdout
    with closing(sqlite3.connect(home / "airflow.db")) as conn:
        dates = conn.execute("SELECT logical_date, start_date FROM dag_run").fetchall()
    # The runs are dated when they ran (not 2026-11-01): the UI shows their real durations.
    for logical, started in dates:
        assert before <= _utc(logical) <= _utc(started), (logical, started)
    holds = "Fincome sandbox holds: 88 customers, 104 subscriptions, 166 invoices"
    assert holds in first.stdout and holds in second.stdout
