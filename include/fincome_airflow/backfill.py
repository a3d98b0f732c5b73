"""``python -m fincome_airflow.backfill --from 2024-01 --to 2026-10``: a backfill that runs.

Airflow 3.3's scheduler starts no run of a paused DAG, backfill runs included, and every new DAG
starts paused: ``airflow backfill create`` on a paused DAG creates runs that stay queued for
ever. This command reads the DAG's pause state first (``airflow dags details``), says what
unpausing would start, and refuses a paused DAG unless ``--unpause`` is given. It then runs
``airflow backfill create`` with ``--max-active-runs 1`` (Airflow's default for a backfill is 10
runs at once; the DAG's ``max_active_runs=1`` does not apply to backfill runs), so the months
run one after another, oldest first, and unpauses the DAG after the backfill exists: a month
the backfill holds is never started a second time as a scheduled run.

Needs the environment of the ``airflow`` CLI (``AIRFLOW_HOME``, the metadata database); it
talks to Airflow only through that CLI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fincome_airflow.airflow_cli import airflow_argv
from fincome_airflow.month import BillingMonth

DAG_ID: Final = "fincome_monthly_load"
REPROCESS_CHOICES: Final = ("none", "failed", "completed")
#: What to do when ``airflow backfill create`` fails with the key in its output.
ADVICE: Final = {
    # a second backfill of the DAG
    "Another backfill is running": (
        "Airflow runs one backfill per DAG at a time, and marks a finished one complete within "
        "30 s: wait for it (`airflow dags list-runs`), then rerun this command."
    ),
    # SQLite refused a write while another process wrote
    "database is locked": (
        "The SQLite metadata database was busy (one writer at a time; the scheduler and "
        "dag-processor write too). Airflow may have kept an empty backfill, which its scheduler "
        "marks complete after 2 minutes: rerun this command then (months that already have a "
        "run are skipped). A PostgreSQL metadata database has no such limit."
    ),
}

#: Runs ``airflow <args>``; returns (exit status, stdout, stderr). Replaced in unit tests.
Airflow = Callable[..., tuple[int, str, str]]


@dataclass(frozen=True)
class DagState:
    """What ``airflow dags details`` says about the DAG."""

    is_paused: bool
    #: The month of the run the scheduler creates next, and when it becomes due.
    next_month: BillingMonth | None
    next_due: dt.datetime | None

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> DagState:
        logical = details.get("next_dagrun_logical_date")
        due = details.get("next_dagrun_run_after")
        return cls(
            is_paused=str(details.get("is_paused")).lower() == "true",
            next_month=BillingMonth.containing(_timestamp(logical).date()) if logical else None,
            next_due=_timestamp(due) if due else None,
        )


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text))


def backfill_args(
    first: BillingMonth,
    last: BillingMonth,
    *,
    reprocess: str = "none",
    conf: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> list[str]:
    """The ``airflow backfill create`` arguments loading ``first``..``last``, one month at a time.

    A month's run has the month as its data interval: its logical date is the month's first day.
    """
    args = ["backfill", "create", "--dag-id", DAG_ID]
    args += ["--from-date", first.start.isoformat(), "--to-date", last.start.isoformat()]
    args += ["--max-active-runs", "1"]
    if reprocess != "none":
        args += ["--reprocess-behavior", reprocess]
    if conf:
        args += ["--dag-run-conf", json.dumps(dict(conf))]
    if dry_run:
        args.append("--dry-run")
    return args


def unpause_effect(
    state: DagState, first: BillingMonth, last: BillingMonth, now: dt.datetime
) -> str:
    """One sentence: what unpausing the DAG starts besides the backfill."""
    month, due = state.next_month, state.next_due
    if month is None or due is None:
        return "Unpausing starts no scheduled run (the DAG has no next run)."
    if due > now:
        return f"Unpausing starts no other run now; the next scheduled run loads {month} on {due}."
    if first <= month <= last:
        return (
            f"Unpausing starts no other run: the backfill holds {month}, the month the scheduler "
            "would start first (catchup is off, so it starts no older month)."
        )
    return (
        f"Unpausing also starts the scheduled run of {month} (due since {due:%Y-%m-%d}; catchup "
        "is off, so no older month), beside the backfill."
    )


def run_airflow(*args: str) -> tuple[int, str, str]:
    """Run ``airflow <args>`` with this interpreter's Airflow; capture its output."""
    done = subprocess.run(airflow_argv(*args), capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def read_state(airflow: Airflow) -> DagState:
    """The DAG's pause state and next run, from ``airflow dags details``.

    :raise SystemExit: the DAG is not in the metadata database (not parsed yet).
    """
    code, out, err = airflow("dags", "details", DAG_ID, "--output", "json")
    if code != 0:
        raise SystemExit(
            f"`airflow dags details {DAG_ID}` failed ({err.strip()[-500:]}).\n"
            "Is the dag-processor running and has it parsed the DAG? "
            "(`airflow dags reserialize` parses it once.)"
        )
    # Warnings (e.g. about graphviz) may precede the JSON on stdout.
    document = next(line for line in reversed(out.splitlines()) if line.startswith("[{"))
    return DagState.from_details(json.loads(document)[0])


def closed_month(now: dt.datetime) -> BillingMonth:
    """The last month that has ended at ``now``."""
    return BillingMonth.containing(now.date()).previous()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fincome_airflow.backfill",
        description="Backfill fincome_monthly_load month by month, oldest first.",
    )
    parser.add_argument("--from", dest="first", required=True, help="first month, YYYY-MM")
    parser.add_argument("--to", dest="last", required=True, help="last month, YYYY-MM")
    parser.add_argument(
        "--unpause",
        action="store_true",
        help="unpause the DAG if it is paused (it must be, for any run to start)",
    )
    parser.add_argument(
        "--reprocess-behavior",
        choices=REPROCESS_CHOICES,
        default="none",
        help="months that already have a run: skip them (none), rerun the failed ones, or all",
    )
    parser.add_argument("--conf", help='Params for every month, JSON (e.g. {"dry_run": true})')
    parser.add_argument("--dry-run", action="store_true", help="list the runs, create nothing")
    return parser.parse_args(argv)


def _conf(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as err:
        raise SystemExit(f"--conf is not JSON: {err}") from err
    if not isinstance(conf, dict):
        raise SystemExit("--conf must be a JSON object of Params")
    if conf.get("month"):
        raise SystemExit("--conf must not set month: each run loads the month of its interval")
    return conf


def backfill(
    argv: Sequence[str] | None = None,
    *,
    airflow: Airflow = run_airflow,
    now: dt.datetime | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """Check, explain, create the backfill and unpause if asked; return the exit status."""
    args = parse_args(argv)
    now = now or dt.datetime.now(dt.UTC)
    try:
        first, last = BillingMonth.parse(args.first), BillingMonth.parse(args.last)
    except ValueError as err:
        raise SystemExit(str(err)) from err
    if last < first:
        raise SystemExit(f"--to {last} is before --from {first}")
    if last > closed_month(now):
        raise SystemExit(f"{last} has not ended yet: the last closed month is {closed_month(now)}")
    conf = _conf(args.conf)
    state = read_state(airflow)
    say(f"Backfill of {DAG_ID}: {first} to {last}, one month at a time, oldest first.")
    if state.is_paused:
        say(
            f"{DAG_ID} is paused: Airflow's scheduler starts no run of a paused DAG, backfill "
            "runs included. " + unpause_effect(state, first, last, now)
        )
    else:
        say(f"{DAG_ID} is unpaused: the backfill runs beside its scheduled runs.")
    if state.is_paused and not (args.unpause or args.dry_run):
        say("Nothing created. Rerun with --unpause, or unpause the DAG first.")
        return 2
    create = backfill_args(
        first, last, reprocess=args.reprocess_behavior, conf=conf, dry_run=args.dry_run
    )
    say("$ airflow " + " ".join(create))
    code, out, err = airflow(*create)
    say(out.rstrip() if code == 0 else f"{out}\n{err}".strip())
    for marker, advice in ADVICE.items():
        if marker in out + err:
            say(advice)
    if code != 0 or args.dry_run:
        return code
    if state.is_paused:
        say(f"$ airflow dags unpause {DAG_ID}")
        code, out, err = airflow("dags", "unpause", DAG_ID)
        if code != 0:
            say(f"{out}\n{err}".strip())
            return code
    say(
        f"Created. Follow it with `airflow dags list-runs {DAG_ID}`; each month's audit is "
        "its row in the state database's fincome_runs table."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return backfill(argv)


if __name__ == "__main__":
    sys.exit(main())
