"""What importing the DAG file adds to Airflow's own import time (fresh processes)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

#: The repository's DAG file, found above this package wherever the package lives in it.
DAG_FILE = next(
    (
        base / "dags" / "fincome_monthly_load.py"
        for base in Path(__file__).resolve().parents
        if (base / "dags" / "fincome_monthly_load.py").is_file()
    ),
    Path("dags") / "fincome_monthly_load.py",
)

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
if sys.argv[1] == "dag":
    import importlib.util
    spec = importlib.util.spec_from_file_location("fincome_monthly_load_probe", sys.argv[2])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dag.dag_id
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1]))
"""


def _probe(mode: str, env: dict[str, str]) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, str(DAG_FILE)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(runs: int = 7, dag_file: Path = DAG_FILE, *, warm: bool = True) -> dict[str, Any]:
    """Median over ``runs`` fresh processes of ``import airflow.sdk`` and of the DAG file.

    :param warm: first run one probe unmeasured, to warm the OS file cache and byte-code (the
        smoke pass, which times nothing, goes without).
    """
    repo = dag_file.resolve().parents[1]
    env = {
        **os.environ,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dag_file.parent),
    }
    env.setdefault("AIRFLOW_HOME", str(repo / ".airflow"))
    if warm:
        _probe("dag", env)
    airflow_s, dag_s = [], []
    for _ in range(runs):
        a, _ = _probe("airflow", env)
        b, d = _probe("dag", env)
        airflow_s.append((a + b) / 2)
        dag_s.append(d)
    return {
        "airflow_import_s": statistics.median(airflow_s),
        "dag_added_s": statistics.median(dag_s),
        "runs": runs,
        "dag_added_all_s": [round(x, 4) for x in dag_s],
    }
