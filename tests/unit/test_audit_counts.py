from __future__ import annotations

from fincome_airflow.audit.revenue import month_revenue
from fincome_airflow.audit.summary import COUNT_KEYS, _resource_counts, balanced, readable
from fincome_airflow.tasks.audit import pull_step

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


def _summary(**changes):
    summary = {
        "month": "2026-10",
        "run_key": "fincome_monthly_load/manual__1",
        "dry_run": False,
        "resources": {"invoices": dict.fromkeys(COUNT_KEYS, 0)},
        "net_amount_extracted": {"CHF": "6707.00", "EUR": "12.5"},
        "net_amount_loaded": {"CHF": "1200.00"},
        "invoices_by_month": {
            "2026-09": {
                "loaded": 2,
                "loaded_net": {"EUR": "12.50"},
                "in_fincome": 0,
                "in_fincome_net": {},
            },
            "2026-10": {
                "loaded": 3,
                "loaded_net": {"CHF": "1200.00"},
                "in_fincome": 7,
                "in_fincome_net": {"CHF": "5507.00"},
            },
        },
        "reconciliation": {"verdict": "reconciled"},
    }
    return {**summary, **changes}


def test_readable_summary_formats_money_per_currency_never_as_a_python_repr():
    text = readable(_summary())
    assert "CHF 6,707.00 · EUR 12.50" in text
    assert "{" not in text and "'" not in text, text


def test_readable_summary_separates_loaded_this_run_from_already_in_fincome():
    text = readable(_summary())
    assert "loaded this run:      3 invoices, CHF 1,200.00" in text
    assert "already in Fincome:   7 invoices, CHF 5,507.00" in text


def test_readable_summary_counts_invoices_of_other_months_apart_as_late_changes():
    lines = readable(_summary()).splitlines()
    late = lines.index("  late changes, invoices of other months (not counted above):")
    assert lines[late + 1].startswith("    2026-09: loaded this run 2 invoices, EUR 12.50")
    assert all("2026-09" not in line for line in lines[:late])


def test_readable_summary_of_a_rerun_that_loaded_nothing_says_nothing_not_braces():
    nothing = {"2026-10": {"loaded": 0, "loaded_net": {}, "in_fincome": 7,
                           "in_fincome_net": {"CHF": "5507.00"}}}  # fmt: skip
    text = readable(_summary(invoices_by_month=nothing, net_amount_loaded={}))
    assert "loaded this run:      nothing" in text
    assert "late changes" not in text and "{}" not in text


def test_readable_summary_of_a_dry_run_says_it_loaded_nothing():
    text = readable(_summary(dry_run=True))
    assert text.startswith("Fincome dry run of 2026-10")
    assert "loaded this run:      nothing (dry run)" in text


def test_net_revenue_is_the_months_invoices_minus_its_credit_notes_per_currency():
    invoices = _summary()["invoices_by_month"]
    credit_notes = {
        "2026-09": {"loaded": 1, "loaded_net": {"EUR": "12.50"}, "in_fincome": 0,
                    "in_fincome_net": {}},
        "2026-10": {"loaded": 1, "loaded_net": {"CHF": "200.10"}, "in_fincome": 1,
                    "in_fincome_net": {"EUR": "0.01"}},
    }  # fmt: skip
    assert month_revenue(invoices, credit_notes, "2026-10") == {
        "gross": {"CHF": "6707.00"},
        "credited": {"CHF": "200.10", "EUR": "0.01"},
        "net": {"CHF": "6506.90", "EUR": "-0.01"},
    }
    assert month_revenue(invoices, None, "2026-10")["net"] == {"CHF": "6707.00"}


def test_readable_summary_shows_credit_notes_and_net_revenue_beside_the_gross():
    credit_notes = {"2026-10": {"loaded": 2, "loaded_net": {"CHF": "200.10"}, "in_fincome": 0,
                                "in_fincome_net": {}}}  # fmt: skip
    revenue = month_revenue(_summary()["invoices_by_month"], credit_notes, "2026-10")
    text = readable(_summary(credit_notes_by_month=credit_notes, revenue=revenue))
    lines = text.splitlines()
    notes = lines.index("  credit notes of 2026-10:")
    assert lines[notes + 1] == "    loaded this run:      2 credit notes, CHF 200.10"
    assert lines[notes + 2] == "    already in Fincome:   nothing"
    assert (
        "  revenue of 2026-10 in Fincome: gross CHF 6,707.00; credited CHF 200.10; net CHF 6,506.90"
    ) in lines


def test_readable_summary_without_credit_notes_says_nothing_of_them():
    text = readable(_summary(credit_notes_by_month={}))
    assert "credit note" not in text


class _XComs:
    """A task instance's ``xcom_pull`` over fixed XComs: ``{(task_id, map_index): value}``."""

    def __init__(self, values: dict) -> None:
        self.values = values

    def xcom_pull(self, task_ids: str, map_indexes=None):
        if map_indexes is None:
            return self.values.get((task_ids, None))
        return [self.values.get((task_ids, i)) for i in map_indexes]


def test_a_mapped_step_audit_sums_its_chunks():
    chunks = [{"label": "invoices 1/2"}, {"label": "invoices 2/2"}]
    ti = _XComs(
        {
            ("load.plan_invoices", None): chunks,
            ("load.invoices", 0): {"resource": "invoices", "created": 3, "requests": 3},
            ("load.invoices", 1): {"resource": "invoices", "created": 2, "requests": 4},
        }
    )
    merged = pull_step(ti, "load.invoices", "load.plan_invoices")
    assert (merged["created"], merged["requests"], merged["chunks"]) == (5, 7, 2)


def test_a_mapped_step_with_a_chunk_unfinished_or_never_planned_is_unfinished():
    chunks = [{"label": "invoices 1/2"}, {"label": "invoices 2/2"}]
    one_done = _XComs({("load.plan_invoices", None): chunks, ("load.invoices", 0): {"created": 3}})
    assert pull_step(one_done, "load.invoices", "load.plan_invoices") is None
    assert pull_step(_XComs({}), "load.invoices", "load.plan_invoices") is None
