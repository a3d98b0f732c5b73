"""The distribution works installed from its wheel (as the Dockerfile installs it), not only
from the working copy: everything the tasks read at run time is package data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from distkit import build_wheel, install_wheel

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

#: Runs in a fresh interpreter whose path starts with the installed wheel.
_EXTRACT_FROM_WHEEL = """
import datetime as dt, json, sys
import fincome_airflow
from fincome_airflow.db import erp_engine
from fincome_airflow.extract.run import extract_and_stage
from fincome_airflow.state.store import StateStore
from fincome_erp.cli import main as erp_main

erp, state = sys.argv[1], sys.argv[2]
assert erp_main(["demo", "--url", erp]) == 0
report = extract_and_stage(
    erp_engine(erp), StateStore.from_url(state), "wheel-run", "2026-10",
    now=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
)
print(json.dumps({"package": fincome_airflow.__file__, "counts": report.to_dict()["counts"]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_the_extraction_queries_and_the_state_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for query in ("customers", "subscriptions", "invoices"):
        assert f"fincome_airflow/sql/{query}.sql" in names
    migrations = REPO / "include/fincome_airflow/state/migrations"
    shipped = {
        path.relative_to(REPO / "include").as_posix()
        for path in migrations.rglob("*")
        if path.suffix in (".py", ".mako")
    }
    assert shipped and shipped <= names


def test_a_month_extracts_from_the_installed_wheel_without_the_working_copy(wheel, tmp_path):
    """The state database is migrated from the wheel's migrations on first use, too."""
    target = install_wheel(wheel, tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("FINCOME_SQL_DIR", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _EXTRACT_FROM_WHEEL,
            f"sqlite:///{tmp_path / 'erp.sqlite'}",
            f"sqlite:///{tmp_path / 'state.sqlite'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["package"]).is_relative_to(target)
    assert result["counts"]["invoices"]["valid"] > 0
    assert result["counts"]["customers"]["valid"] > 0
