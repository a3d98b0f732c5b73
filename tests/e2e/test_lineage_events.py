"""OpenLineage offline: one ``airflow dags test`` of the demo month with the provider's file
transport, then the COMPLETE events read back: the extract task and the load operators name
the ERP tables they read and the Fincome resources they wrote, with the audit's counts."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from support.erp import fill_demo_erp

pytestmark = pytest.mark.timeout(600)

MONTH = "2026-10"
DAG_ID = "fincome_monthly_load"


def complete_events(path) -> dict[str, list[dict[str, Any]]]:
    """COMPLETE events per task (``load.invoices``...), one per (mapped) task instance."""
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event["eventType"] == "COMPLETE" and event["job"]["name"].startswith(f"{DAG_ID}."):
            events[event["job"]["name"].removeprefix(f"{DAG_ID}.")].append(event)
    return events


def rows(datasets: list[dict[str, Any]], facet: str) -> dict[str, int | None]:
    return {
        d["name"]: d.get(facet, {}).get(f"{facet[:-6]}Statistics", {}).get("rowCount")
        for d in datasets
    }


@pytest.fixture(scope="module")
def lineage(tmp_path_factory, airflow, sandbox_session) -> dict[str, Any]:
    from support.dag_runs import MonthlyLoad

    work = tmp_path_factory.mktemp("lineage")
    erp_url = f"sqlite:///{work / 'erp.sqlite'}"
    fill_demo_erp(erp_url)
    sandbox_session.reset()
    events_file = work / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}
    load = MonthlyLoad(
        airflow,
        erp_url,
        f"sqlite:///{work / 'state.sqlite'}",
        sandbox_session,
        work / "reports",
        env={"AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)},
    )
    result = load.run(MONTH, max_reject_ratio=0.1)
    assert result.returncode == 0, result.tail()
    return {
        "summary": result.summary,
        "events": complete_events(events_file),
        "text": events_file.read_text(),
        "api_key": sandbox_session.api_key,
        "base_url": sandbox_session.base_url,
        "erp_file": str(work / "erp.sqlite"),
    }


def test_extract_reports_erp_tables_read_with_extracted_counts(lineage):
    [event] = lineage["events"]["extract"]
    inputs = event["inputs"]
    assert {d["namespace"] for d in inputs} == {f"sqlite://{lineage['erp_file']}"}
    counts = rows(inputs, "inputFacets")
    resources = lineage["summary"]["resources"]
    assert counts["invoices"] == resources["invoices"]["extracted"]
    assert counts["contracts"] == resources["subscriptions"]["extracted"]
    assert counts["customers"] == resources["customers"]["extracted"]
    assert "invoice_lines" in counts


@pytest.mark.parametrize("resource", ["customers", "subscriptions", "invoices", "credit_notes"])
def test_load_reports_fincome_resource_written_with_the_audits_counts(lineage, resource):
    events = lineage["events"][f"load.{resource}"]
    assert events, sorted(lineage["events"])
    written = 0
    for event in events:
        [output] = event["outputs"]
        assert output["namespace"] == lineage["base_url"].rstrip("/")
        assert output["name"] == resource
        written += output["outputFacets"]["outputStatistics"]["rowCount"]
        assert event["inputs"], event
    counts = lineage["summary"]["resources"][resource]
    assert written == counts["created"] + counts["updated"] > 0


def test_delete_step_reports_fincome_invoices_with_the_audits_deletions(lineage):
    events = lineage["events"]["load.delete_cancelled_invoices"]
    assert events
    deleted = 0
    for event in events:
        [output] = event["outputs"]
        assert output["name"] == "invoices"
        deleted += output["outputFacets"]["outputStatistics"]["rowCount"]
    assert deleted == lineage["summary"]["resources"]["invoices"]["deleted"]


def test_lineage_events_hold_no_api_key(lineage):
    assert lineage["api_key"] not in lineage["text"]
