"""``python -m fincome_airflow.backfill``: what it checks, says and runs (the Airflow CLI faked).

The end-to-end proof under a real scheduler is ``tests/e2e/test_readme_recipes.py``.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from support.readme import commands, recipe

from fincome_airflow.backfill import DAG_ID, DagState, backfill, backfill_args, unpause_effect
from fincome_airflow.month import BillingMonth

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
SEP, OCT = BillingMonth(2026, 9), BillingMonth(2026, 10)


def details(*, paused: bool, next_logical: str = "2026-10-01", due: str = "2026-11-01") -> str:
    """stdout of ``airflow dags details -o json`` (a warning line first, as Airflow prints)."""
    document = [
        {
            "dag_id": DAG_ID,
            "is_paused": str(paused),
            "next_dagrun_logical_date": f"{next_logical} 00:00:00+00:00",
            "next_dagrun_run_after": f"{due} 00:00:00+00:00",
        }
    ]
    return "2026-11-29T12:00:00Z [warning  ] Could not import graphviz.\n" + json.dumps(document)


class FakeAirflow:
    """Answers ``airflow dags details`` with ``details_out`` and ``backfill create`` with
    ``create``; records every command."""

    def __init__(
        self, details_out: str, details_code: int = 0, create: tuple[int, str, str] = (0, "", "")
    ) -> None:
        self.details_out = details_out
        self.details_code = details_code
        self.create = create
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.calls.append(args)
        if args[:2] == ("dags", "details"):
            return self.details_code, self.details_out, "DAG does not exist"
        if args[:2] == ("backfill", "create"):
            return self.create
        return 0, "", ""

    def commands(self) -> list[tuple[str, ...]]:
        return [call[:2] for call in self.calls]


def run(argv: list[str], airflow: FakeAirflow) -> tuple[int, str]:
    said: list[str] = []
    code = backfill(argv, airflow=airflow, now=NOW, say=said.append)
    return code, "\n".join(said)


def test_backfill_args_run_one_month_at_a_time_from_each_month_first_day():
    assert backfill_args(BillingMonth(2024, 1), OCT) == [
        "backfill", "create", "--dag-id", DAG_ID,
        "--from-date", "2024-01-01", "--to-date", "2026-10-01",
        "--max-active-runs", "1",
    ]  # fmt: skip


def test_backfill_args_pass_reprocess_conf_and_dry_run_when_asked():
    args = backfill_args(SEP, OCT, reprocess="failed", conf={"dry_run": True}, dry_run=True)
    assert args[-5:] == [
        "--reprocess-behavior", "failed", "--dag-run-conf", '{"dry_run": true}', "--dry-run",
    ]  # fmt: skip


def test_readme_backfill_by_hand_is_the_command_the_backfill_module_runs():
    create, unpause = commands(recipe("backfill-by-hand"))
    assert create == ["airflow", *backfill_args(BillingMonth(2024, 1), OCT)]
    assert unpause == ["airflow", "dags", "unpause", DAG_ID]


def test_readme_backfill_recipe_covers_the_by_hand_months():
    assert commands(recipe("backfill")) == [
        ["python", "-m", "fincome_airflow.backfill", "--from", "2024-01", "--to", "2026-10",
         "--unpause"],
    ]  # fmt: skip


def test_backfill_refuses_paused_dag_and_creates_nothing_when_unpause_not_given():
    airflow = FakeAirflow(details(paused=True))
    code, said = run(["--from", "2026-09", "--to", "2026-10"], airflow)
    assert code == 2
    assert airflow.commands() == [("dags", "details")]
    assert "is paused" in said and "--unpause" in said


def test_backfill_creates_the_backfill_before_unpausing_when_paused_and_unpause_given():
    airflow = FakeAirflow(details(paused=True))
    code, said = run(["--from", "2026-09", "--to", "2026-10", "--unpause"], airflow)
    assert code == 0, said
    assert airflow.commands() == [("dags", "details"), ("backfill", "create"), ("dags", "unpause")]
    assert airflow.calls[1] == tuple(backfill_args(SEP, OCT))


def test_backfill_leaves_pause_alone_when_dag_already_runs_on_schedule():
    airflow = FakeAirflow(details(paused=False))
    code, said = run(["--from", "2026-09", "--to", "2026-10", "--unpause"], airflow)
    assert code == 0
    assert airflow.commands() == [("dags", "details"), ("backfill", "create")]
    assert "beside its scheduled runs" in said


def test_backfill_dry_run_lists_runs_of_paused_dag_without_unpausing():
    airflow = FakeAirflow(details(paused=True))
    code, said = run(["--from", "2026-09", "--to", "2026-10", "--dry-run"], airflow)
    assert code == 0
    assert airflow.calls[1][-1] == "--dry-run"
    assert ("dags", "unpause") not in airflow.commands()
    assert "starts no other run" in said


@pytest.mark.parametrize(
    ("refusal", "advice"),
    [
        pytest.param(
            (1, "", "AlreadyRunningBackfill: Another backfill is running for Dag x."),
            "within 30 s",
            id="another-backfill-running",
        ),
        pytest.param(
            (1, "sqlite3.OperationalError: database is locked [SQL: INSERT INTO dag_run", ""),
            "after 2 minutes",
            id="sqlite-locked",
        ),
    ],
)
def test_backfill_advises_and_does_not_unpause_when_airflow_refuses_the_backfill(refusal, advice):
    airflow = FakeAirflow(details(paused=True), create=refusal)
    code, said = run(["--from", "2026-09", "--to", "2026-10", "--unpause"], airflow)
    assert code == 1
    assert advice in said
    assert ("dags", "unpause") not in airflow.commands()


def test_backfill_explains_unparsed_dag_when_dags_details_fails():
    airflow = FakeAirflow("", details_code=1)
    with pytest.raises(SystemExit, match="dag-processor"):
        run(["--from", "2026-09", "--to", "2026-10"], airflow)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--from", "2026-10", "--to", "2026-09"], id="to-before-from"),
        pytest.param(["--from", "2026-10", "--to", "2026-11"], id="month-not-ended"),
        pytest.param(["--from", "2026-9", "--to", "2026-10"], id="not-yyyy-mm"),
        pytest.param(
            ["--from", "2026-09", "--to", "2026-10", "--conf", '{"month": "2026-10"}'],
            id="month-in-conf",
        ),
        pytest.param(["--from", "2026-09", "--to", "2026-10", "--conf", "{"], id="conf-not-json"),
    ],
)
def test_backfill_refuses_bad_input_before_asking_airflow(argv):
    airflow = FakeAirflow(details(paused=False))
    with pytest.raises(SystemExit):
        run(argv, airflow)
    assert airflow.calls == []


@pytest.mark.parametrize(
    ("next_logical", "due", "expected"),
    [
        pytest.param("2026-10-01", "2026-11-01", "starts no other run", id="backfill-holds-it"),
        pytest.param("2026-08-01", "2026-09-01", "scheduled run of 2026-08", id="before-range"),
        pytest.param("2026-11-01", "2026-12-01", "no other run now", id="next-run-not-due"),
    ],
)
def test_unpause_effect_names_the_scheduled_run_unpausing_starts(next_logical, due, expected):
    state = DagState.from_details(
        json.loads(details(paused=True, next_logical=next_logical, due=due).splitlines()[-1])[0]
    )
    assert expected in unpause_effect(state, SEP, OCT, NOW)
