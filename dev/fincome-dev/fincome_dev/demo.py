"""``make demo``: load October 2026 end to end on an embedded default and print the audit.

Everything lives in AIRFLOW_HOME (``.airflow/`` under ``make``):

- ``airflow.db``: the SQLite Airflow metadata database (migrated on first use);
- ``erp.sqlite``: the reference ERP with the demo data set (created if missing);
- ``state.sqlite``: the sync-state database (what Fincome confirmed, runs, audits);
- ``sandbox.sqlite``: the records of the local Fincome sandbox, which the command starts and
  stops around the run;
- ``logs/demo-<time>.log``: the Airflow output of the run; ``fincome_reports/``: rejects and
  reconciliation CSVs.

The run is ``airflow dags test fincome_monthly_load <now>`` with the month in its conf and the
connections given as ``AIRFLOW_CONN_*`` variables. Running the command again prints a run that
sent nothing. The end names the URL of the operations page (README: the UI recipe).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select

from fincome_airflow.contract import RESOURCES
from fincome_dev import connections

DAG_ID: Final = "fincome_monthly_load"
DEFAULT_MONTH: Final = "2026-10"
#: The demo data set is 10% dirty on purpose (every defect kind): once the first load has moved
#: the watermark, a rerun refuses ~6% of what it reads, above the 5% default of the DAG.
DEMO_MAX_REJECT_RATIO: Final = 0.1
RUN_TIMEOUT: Final = 900.0
MIGRATED_MARKER: Final = ".demo-migrated"
#: The operations page once ``airflow standalone`` serves the UI (README's UI recipe).
PAGE_URL: Final = "http://localhost:8080/fincome/"


def _repo_dir(name: str, env_var: str) -> Path:
    """The project's ``dags``/``plugins`` folder: the Airflow setting, else next to the package."""
    if os.environ.get(env_var):
        return Path(os.environ[env_var]).resolve()
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        if (base / name).is_dir():
            return (base / name).resolve()
    raise SystemExit(f"cannot find the project's {name}/ folder: set {env_var}")


def _say(message: str) -> None:
    print(message, flush=True)


def ensure_erp(path: Path) -> bool:
    """Create the reference ERP with the demo data set unless it exists; True if created."""
    if path.exists():
        return False
    from fincome_airflow.engines import erp_engine
    from fincome_erp import populate
    from fincome_erp.presets import DEMO

    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = erp_engine(f"sqlite:///{partial}")
    try:
        populate(engine, DEMO, replace=True)
    finally:
        engine.dispose()
    partial.replace(path)
    return True


def _migrated(home: Path) -> bool:
    from airflow import __version__

    marker = home / MIGRATED_MARKER
    return (home / "airflow.db").exists() and marker.exists() and marker.read_text() == __version__


def _mark_migrated(home: Path) -> None:
    from airflow import __version__

    (home / MIGRATED_MARKER).write_text(__version__)


def _connections(home: Path, sandbox: Any) -> dict[str, str]:
    api = connections.fincome_api(
        sandbox.base_url, sandbox.api_key, requests_per_second=200, max_concurrency=8
    )
    return {
        **connections.environ(
            erp=f"sqlite:///{home / 'erp.sqlite'}",
            state=f"sqlite:///{home / 'state.sqlite'}",
            api=api,
        ),
        "FINCOME_REPORTS_URL": (home / "fincome_reports").as_uri(),
    }


def _run_keys(state_db: Path, month: str) -> list[str]:
    if not state_db.exists():
        return []
    from fincome_airflow.state import schema
    from fincome_airflow.state.store import StateStore

    store = StateStore.from_url(f"sqlite:///{state_db}")
    try:
        with store.begin() as conn:
            runs = schema.runs
            query = select(runs.c.run_key).where(runs.c.month == month)
            return list(conn.execute(query.order_by(runs.c.created_at)).scalars())
    finally:
        store.engine.dispose()


def _summary(state_db: Path, run_key: str) -> dict[str, Any] | None:
    from fincome_airflow.state.store import StateStore

    store = StateStore.from_url(f"sqlite:///{state_db}")
    try:
        row = store.run(run_key)
    finally:
        store.engine.dispose()
    return json.loads(row["summary"]) if row and row.get("summary") else None


def _sent(stats: dict[str, Any]) -> str:
    writes = {
        route: sum(statuses.values())
        for route, statuses in stats["requests"].items()
        if not route.startswith("GET ")
    }
    if not writes:
        return "nothing (every record unchanged since Fincome confirmed it)"
    return ", ".join(f"{route} x{count}" for route, count in sorted(writes.items()))


def run_demo(home: Path, month: str = DEFAULT_MONTH) -> int:
    """Run the demo in ``home``; return the exit status (0: the run succeeded)."""
    from fincome_airflow.audit.summary import readable
    from fincome_dev.airflow_env import airflow_runtime
    from fincome_sandbox.launcher import SandboxProcess

    home.mkdir(parents=True, exist_ok=True)
    (home / "logs").mkdir(exist_ok=True)
    if ensure_erp(home / "erp.sqlite"):
        _say(f"Reference ERP: created {home / 'erp.sqlite'} (demo data, 2026-08..2026-10)")
    state_db = home / "state.sqlite"
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = home / "logs" / f"demo-{stamp}.log"
    migrated = _migrated(home)
    with airflow_runtime(
        _repo_dir("dags", "AIRFLOW__CORE__DAGS_FOLDER"),
        plugins_folder=_repo_dir("plugins", "AIRFLOW__CORE__PLUGINS_FOLDER"),
        home=home,
        migrate=False,
        # Airflow imported once for the migration and the run (~4 s of CPU less than two
        # interpreters, each paying the import and its teardown).
        fork_commands=True,
    ) as airflow:
        if not migrated:
            _say("Airflow metadata database: migrating (first run only)...")
            airflow.cli("db", "migrate", timeout=600)
            _mark_migrated(home)
        # The demo loads Fincome's whole billing model: a subscription's plan must exist there.
        with SandboxProcess(
            api_key=secrets.token_urlsafe(24), db=str(home / "sandbox.sqlite"), require_plans=True
        ) as sandbox:
            _say(f"Fincome sandbox: {sandbox.base_url} (records kept in {sandbox.db})")
            before = set(_run_keys(state_db, month))
            conf = {"month": month, "max_reject_ratio": DEMO_MAX_REJECT_RATIO}
            _say(f"Running {DAG_ID} for {month} (airflow dags test)...")
            try:
                done = airflow.cli(
                    "dags", "test", DAG_ID, _now_iso(), "--conf", json.dumps(conf),
                    check=False, timeout=RUN_TIMEOUT, env=_connections(home, sandbox),
                )  # fmt: skip
                returncode, output = done.returncode, f"{done.stdout}\n{done.stderr}"
            except subprocess.TimeoutExpired:
                returncode, output = 1, f"airflow dags test still running after {RUN_TIMEOUT}s"
            log_path.write_text(output.replace(sandbox.api_key, "***"), encoding="utf-8")
            sent = _sent(sandbox.stats())
            held = {resource: len(records) for resource, records in sandbox.dump().items()}
    new = [key for key in _run_keys(state_db, month) if key not in before]
    summary = _summary(state_db, new[-1]) if new else None
    _say("")
    if summary is not None:
        _say(readable(summary))
        if not summary.get("reconciliation"):  # readable() prints the verdict when there is one
            _say("  reconciliation: not run")
    _say(f"Sent to Fincome: {sent}")
    _say("Fincome sandbox holds: " + ", ".join(f"{held.get(r, 0)} {r}" for r in RESOURCES))
    _say(f"Airflow log: {log_path}")
    _say(f"Operations page: {PAGE_URL} (in the Airflow UI: Fincome loads; start it as in the")
    _say("  README's 'Running the Airflow UI locally', with this AIRFLOW_HOME)")
    if returncode != 0:
        _say(f"The run FAILED (airflow dags test exit status {returncode}); see the log above.")
        return 1
    if sent.startswith("nothing"):
        _say("The run succeeded and sent nothing: Fincome already holds this month.")
    else:
        _say("The run succeeded. Run `make demo` again: the second run sends nothing.")
    return 0


def _now_iso() -> str:
    """The ``dags test`` logical date: now, so that the run's times in the UI are its own (a
    date in the past made a one-minute run look 28 days long); the month is in the conf."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fincome_dev.demo", description=__doc__)
    parser.add_argument("--month", default=DEFAULT_MONTH, help="billing month YYYY-MM")
    parser.add_argument(
        "--home",
        default=os.environ.get("AIRFLOW_HOME") or ".airflow",
        help="AIRFLOW_HOME holding every file of the demo (default: $AIRFLOW_HOME, .airflow)",
    )
    args = parser.parse_args(argv)
    return run_demo(Path(args.home).resolve(), args.month)


if __name__ == "__main__":
    sys.exit(main())
