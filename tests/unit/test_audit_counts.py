from __future__ import annotations

from fincome_airflow.tasks.audit import COUNT_KEYS, _resource_counts, balanced, readable

STAGE = {"extracted": 10, "valid": 7, "rejected": 2, "blocked": 0, "skipped": 1, "to_delete": 1}


def test_counts_of_a_sending_run_add_up_with_api_rejects_and_deletions():
    outcomes = {"created": 3, "updated": 1, "rejected": 1, "deleted": 1}
    staged = {"upsert": 6, "delete": 1}
    load = {"created": 3}
    counts = _resource_counts(STAGE, outcomes, staged, load, {"never_sent": 0}, send=True)
    assert counts["unchanged"] == 1  # 7 staged, 6 handled
    assert counts["rejected"] == 3  # 2 by validation, 1 by Fincome
    assert balanced(counts), counts


def test_counts_of_a_dry_run_come_from_the_would_counts():
    load = {"would_create": 4, "would_update": 1, "unchanged": 1}
    counts = _resource_counts(STAGE, {}, {}, load, {"would_delete": 1}, send=False)
    assert (counts["created"], counts["updated"], counts["deleted"]) == (4, 1, 1)
    assert balanced(counts), counts


def test_a_failed_load_counts_nothing_as_unchanged_and_does_not_balance():
    counts = _resource_counts(STAGE, {"created": 2}, {"upsert": 6}, None, None, send=True)
    assert counts["unchanged"] == 0
    assert not balanced(counts)


def test_a_resource_left_out_of_the_run_counts_its_records_as_skipped():
    staged = {"upsert": 6, "delete": 1}
    counts = _resource_counts(STAGE, {}, staged, {"skipped": True}, None, send=True)
    assert counts["skipped"] == 8
    assert balanced(counts), counts


def test_readable_summary_names_month_and_counts():
    summary = {
        "month": "2026-10",
        "run_key": "r",
        "dry_run": False,
        "resources": {"invoices": dict.fromkeys(COUNT_KEYS, 0)},
        "net_amount_extracted": {},
        "net_amount_loaded": {},
        "reconciliation": {"verdict": "reconciled"},
    }
    text = readable(summary)
    assert "2026-10" in text and "reconciled" in text and "invoices" in text
