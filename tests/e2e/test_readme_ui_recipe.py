"""The README's "Running the Airflow UI locally" block, run as written in a scratch checkout.

The scratch folder holds links to the repository's ``dags``, ``plugins`` and ``.venv`` (the
block uses ``$PWD``) and an empty ``.airflow``. Ports are the test's: the sandbox's ``8090`` is
replaced in the block, the api-server's comes from ``AIRFLOW__API__PORT`` in the environment.
What a person does in the browser afterwards (unpause, *Trigger*) is not automated.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.readme import recipe

from fincome_dev.airflow_env import free_port, query_sqlite, stop_process_tree, wait_for

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "fincome_monthly_load"
COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return json.load(response)
    except OSError:
        return None


def all_healthy(url: str) -> dict[str, Any] | None:
    health = get_json(url)
    healthy = health and all(
        (health.get(name) or {}).get("status") == "healthy" for name in COMPONENTS
    )
    return health if healthy else None


def dag_parsed(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        sql = "SELECT 1 FROM serialized_dag WHERE dag_id = ?"
        return bool(query_sqlite(db, sql, (DAG_ID,), timeout=5))
    except sqlite3.Error:  # not migrated yet
        return False


@pytest.fixture(scope="module")
def standalone(tmp_path_factory) -> dict[str, Any]:
    checkout = tmp_path_factory.mktemp("ui_checkout")
    for name in ("dags", "plugins"):
        (checkout / name).symlink_to(REPO / name)
    (checkout / ".venv").symlink_to(Path(sys.prefix))
    (checkout / ".airflow").mkdir()
    api_port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW__API__PORT"] = str(api_port)
    log = (checkout / "standalone.log").open("w")
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", recipe("ui", {"8090": str(sandbox_port)})],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )

    def diagnostics() -> str:
        return (checkout / "standalone.log").read_text(errors="replace")[-4000:]

    try:
        health = wait_for(
            lambda: all_healthy(f"http://127.0.0.1:{api_port}/api/v2/monitor/health"),
            timeout=180,
            what="airflow standalone's components to be healthy",
            diagnostics=diagnostics,
        )
        wait_for(
            lambda: dag_parsed(checkout / ".airflow" / "airflow.db"),
            timeout=120,
            what=f"{DAG_ID} parsed",
            diagnostics=diagnostics,
        )
        sandbox = get_json(f"http://127.0.0.1:{sandbox_port}/openapi.json")
    finally:
        stop_process_tree(process)
        log.close()
    return {"health": health, "sandbox": sandbox, "home": checkout / ".airflow"}


def test_ui_recipe_starts_every_airflow_component_healthy(standalone):
    assert {name: standalone["health"][name]["status"] for name in COMPONENTS} == dict.fromkeys(
        COMPONENTS, "healthy"
    )


def test_ui_recipe_starts_the_sandbox_on_the_port_of_its_fincome_connection(standalone):
    assert standalone["sandbox"] is not None and "/invoices" in str(standalone["sandbox"]["paths"])


def test_ui_recipe_keeps_the_admin_password_where_the_readme_says(standalone):
    assert (standalone["home"] / "simple_auth_manager_passwords.json.generated").exists()
