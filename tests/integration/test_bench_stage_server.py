"""The smoke pass's stage server (``fincome_dev.bench.forks``): a stage forked from it gives
what the stage run as its own process gives, with its environment, errors and exit status."""

from __future__ import annotations

import psutil
import pytest

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore
from fincome_dev.bench import procs

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def state_url(create_pg_database) -> str:
    url = create_pg_database("bench_forks")
    store = StateStore.from_url(url)
    store.ensure_schema()
    # run "staged-<n>" has n staged records: each stage's answer names its run
    rows = [{"run_key": f"staged-{n}", "resource": "invoices", "record_id": f"INV-{i}",
             "action": "upsert"} for n in (1, 2, 3) for i in range(n)]  # fmt: skip
    store.insert_rows(schema.staged, rows)
    store.engine.dispose()
    return url


def _args(state_url: str, run_key: str = "bench-forks") -> dict[str, str]:
    return {"state_url": state_url, "run_key": run_key}


def test_a_forked_stage_gives_the_figures_of_the_stage_run_as_its_own_process(state_url):
    alone = procs.run_stage("count", _args(state_url))
    with procs.forked_stages():
        forked = procs.run_stage("count", _args(state_url))
    assert forked["staged"] == alone["staged"] == 0
    assert set(forked) == set(alone) == {"seconds", "staged", "max_rss_mb", "wall_s"}
    assert forked["max_rss_mb"] > 0


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_stages_forked_at_once_answer_in_order_and_the_server_ends_with_the_block(state_url):
    before = _children()  # a session's sandbox, say
    with procs.forked_stages():
        assert procs._server is not None and procs._server.pid in _children()
        runs = [("count", _args(state_url, f"staged-{n}"), None) for n in (3, 1, 2)]
        results = procs.run_stages(runs)
        again = procs.run_stage("count", _args(state_url))  # the server still serves
    assert [r["staged"] for r in results] == [3, 1, 2] and again["staged"] == 0
    assert procs._server is None
    assert _children() <= before


def test_a_forked_stage_takes_its_environment_and_its_failure_raises_with_its_error(state_url):
    env = {"PGOPTIONS": "-c fincome_no_such_setting=1"}  # libpq reads it in the stage
    with procs.forked_stages(), pytest.raises(procs.StageFailed) as failed:
        procs.run_stage("count", _args(state_url), env)
    assert "stage count exited 1" in str(failed.value)
    assert "fincome_no_such_setting" in str(failed.value)
