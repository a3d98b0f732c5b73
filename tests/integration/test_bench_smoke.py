"""The benchmark command's smoke pass: every figure is in its JSON (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PG_SERVER_URL = os.environ.get(
    "FINCOME_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)

SMOKE_ARGS = ("--pg-url", PG_SERVER_URL, "--out")
FIGURES = {
    "extract",
    "load_vs_naive",
    "load_vs_raw",
    "budget_alone",
    "budget_shared",
    "budget_cost",
    "rerun",
    "watermark_overlap",
    "intraday_extract",
    "state_growth",
    "rate_limit",
    "memory",
    "dag_parse",
    "ops_page",
    "chunking",
}
FIELDS = {"key", "label", "value", "baseline", "ratio", "target", "met", "note", "data"}


@pytest.mark.timeout(900)
def test_smoke_pass_writes_every_figure(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "fincome_dev.bench", "--smoke", *SMOKE_ARGS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "bench-smoke.json").read_text())
    assert set(report["figures"]) == FIGURES
    for key, figure in report["figures"].items():
        assert set(figure) == FIELDS, key
        assert figure["value"] and figure["baseline"] and figure["target"], key
    assert len(report["load_avg"]) == 3
    # the same-run baselines were measured, not left out
    data = report["figures"]["load_vs_naive"]["data"]
    assert data["naive"]["requests"] > 0 and data["raw"]["requests"] > 0
    assert data["ours"]["requests"] == data["raw"]["requests"]
    assert report["figures"]["rerun"]["data"]["rerun"]["requests"] == 0
    overlap = report["figures"]["watermark_overlap"]["data"]
    assert overlap["guarded"]["counts"] and overlap["bare"]["counts"]
    assert overlap["extra_records"] >= 0
    intraday = report["figures"]["intraday_extract"]["data"]
    extracted = {k: intraday[k]["counts"]["invoices"]["extracted"] for k in intraday}
    assert extracted["intraday"] <= extracted["monthly"], extracted
    growth = report["figures"]["state_growth"]["data"]
    assert growth["runs"] == 36 and growth["ledger_rows"] > 0
    assert growth["ledger_added_by_reruns_and_dry_runs"] == 0
    steps = report["figures"]["chunking"]["data"]["steps"]
    assert steps["invoices"]["chunks"] >= 1 and steps["invoices"]["records"] > 0
    page = report["figures"]["ops_page"]["data"]
    assert page["months"] == 36 and page["rejects"] > 0 and page["csv_bytes"] > 0
    # the printed table is the JSON's
    assert "| figure |" in done.stdout
    assert (tmp_path / "bench-smoke.md").read_text().startswith("| figure |")
