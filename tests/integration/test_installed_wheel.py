"""The production distribution works installed from its wheel, as an Airflow image installs it,
not only from the working copy: everything the tasks read at run time is package data, and the
wheel carries only what production runs (no demo, benchmark, reliability runner, test harness,
sandbox or reference ERP: those are the dev/ distributions).

The end-to-end test builds a fresh venv with Airflow and the wheel only (its declared
dependencies, pinned by constraints.txt), copies the project's ``dags/`` and ``plugins/`` into a
scratch folder as a deployment would, and runs ``airflow dags test`` there: the repository is on
no path, ``FINCOME_SQL_DIR`` is unset. The reference ERP and the sandbox it loads into run from
the repository's venv, as outside services.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.dist import fresh_venv

from fincome_airflow.contract import RESOURCES
from fincome_dev import connections
from fincome_erp.cli import main as erp_main

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_VERSION = "3.3.2"
#: What the production wheel may hold at its top level.
PRODUCTION_PACKAGES = {"fincome_airflow"}
#: Development modules that once lived inside fincome_airflow, and the dev distributions' packages.
DEV_ONLY = (
    "fincome_airflow/demo.py",
    "fincome_airflow/airflow_env.py",
    "fincome_airflow/bench/",
    "fincome_airflow/reliability/",
    "fincome_airflow/extract/erp_rows.py",
    "fincome_dev/",
    "fincome_sandbox/",
    "fincome_erp/",
)


@pytest.fixture(scope="module")
def production_venv(fincome_wheel, tmp_path_factory) -> Path:
    """A fresh venv holding Airflow and the wheel with its declared dependencies, nothing else."""
    venv = tmp_path_factory.mktemp("production") / "venv"
    done = fresh_venv(
        venv, f"apache-airflow=={AIRFLOW_VERSION}", str(fincome_wheel), env=scrubbed_environ()
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def scrubbed_environ() -> dict[str, str]:
    """This environment without the repository's venv, Python path or Airflow settings."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "FINCOME_SQL_DIR", "AIRFLOW_CONFIG"}
        and not key.startswith(("AIRFLOW__", "_AIRFLOW", "AIRFLOW_CONN_", "FINCOME_"))
    }


def test_the_wheel_holds_the_extraction_queries_and_the_state_migrations(fincome_wheel):
    names = set(zipfile.ZipFile(fincome_wheel).namelist())
    for query in RESOURCES:
        assert f"fincome_airflow/extract/sql/{query}.sql" in names
    migrations = REPO / "include/fincome_airflow/state/migrations"
    shipped = {
        path.relative_to(REPO / "include").as_posix()
        for path in migrations.rglob("*")
        if path.suffix in (".py", ".mako")
    }
    assert shipped and shipped <= names


def test_the_wheel_carries_no_demo_bench_reliability_or_test_support_module(fincome_wheel):
    archive = zipfile.ZipFile(fincome_wheel)
    names = archive.namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == PRODUCTION_PACKAGES
    assert [name for name in names if name.startswith(DEV_ONLY)] == []
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    requires = [
        line.split(":", 1)[1].strip().lower()
        for line in archive.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert requires and not [r for r in requires if r.startswith(("psutil", "fincome", "uvicorn"))]


@pytest.mark.timeout(1800)
def test_the_dag_runs_end_to_end_from_the_installed_wheel_alone(production_venv, sandbox, tmp_path):
    python = production_venv / "bin" / "python"
    erp, state, reports = tmp_path / "erp.sqlite", tmp_path / "state.sqlite", tmp_path / "reports"
    assert erp_main(["demo", "--url", f"sqlite:///{erp}"]) == 0
    deployed = tmp_path / "deployment"
    for folder in ("dags", "plugins"):
        shutil.copytree(REPO / folder, deployed / folder, ignore=shutil.ignore_patterns("__py*"))
    env = {
        **scrubbed_environ(),
        "PATH": os.pathsep.join([str(python.parent), os.environ.get("PATH", "")]),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(deployed / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(deployed / "plugins"),
        **connections.environ(
            erp=f"sqlite:///{erp}",
            state=f"sqlite:///{state}",
            api=connections.fincome_api(sandbox.base_url, sandbox.api_key, requests_per_second=500),
        ),
        "FINCOME_REPORTS_URL": reports.as_uri(),
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv, cwd=deployed, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        return done

    where = json.loads(
        run(
            str(python),
            "-c",
            "import importlib.util as u, json, sys, fincome_airflow; print(json.dumps({"
            "'package': fincome_airflow.__file__, 'path': sys.path, 'dev': [m for m in "
            "('fincome_dev', 'fincome_sandbox', 'fincome_erp') if u.find_spec(m)]}))",
        ).stdout.splitlines()[-1]
    )
    assert Path(where["package"]).is_relative_to(production_venv)
    assert [p for p in where["path"] if p and Path(p).resolve().is_relative_to(REPO)] == []
    assert where["dev"] == []

    run(str(python.parent / "airflow"), "db", "migrate")
    conf = json.dumps({"month": "2026-10", "max_reject_ratio": 0.1})
    done = run(
        str(python.parent / "airflow"),
        "dags",
        "test",
        "fincome_monthly_load",
        "2026-11-01",
        "--conf",
        conf,
    )
    log = done.stdout + done.stderr
    assert "state=success" in log, log[-4000:]
    assert str(REPO) not in log  # no module of the working copy ran

    engine = create_engine(f"sqlite:///{state}")
    with engine.connect() as conn:
        status, summary = conn.execute(text("SELECT status, summary FROM fincome_runs")).one()
    engine.dispose()
    summary = json.loads(summary)
    assert status == "done"
    created = {r: c["created"] for r, c in summary["resources"].items()}
    held = {resource: len(records) for resource, records in sandbox.dump().items()}
    assert created == {r: held.get(r, 0) for r in created} and created["invoices"] > 0
    assert summary["rejects_file"].startswith(reports.as_uri())
    assert Path(summary["rejects_file"].removeprefix("file://")).is_file()
