"""Children of root customers are decided as they stream by (memory stays flat)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from fincome_airflow.validation.pipeline import LoadValidator

UPDATED = dt.datetime(2026, 10, 2)


def _row(cust_no: str, parent: str | None, grandparent: str | None = None, name: str = "Co"):
    return SimpleNamespace(
        cust_no=cust_no,
        company_name=name,
        email=None,
        country_code="FR",
        postal_code="75001",
        parent_cust_no=parent,
        updated_at=UPDATED,
        ref_parent_cust_no=parent,
        ref_parent_parent_cust_no=grandparent,
    )


def _validator() -> LoadValidator:
    return LoadValidator(today=dt.date(2026, 11, 25), ledger_lookup=lambda r, ids: set())


def test_a_child_of_a_root_is_decided_before_the_stream_ends():
    read: list[str] = []

    def rows():
        for row in [_row("R1", None), *(_row(f"C{i}", "R1") for i in range(1000))]:
            read.append(row.cust_no)
            yield row

    decisions = _validator().customers(rows())
    assert next(decisions).record_id == "R1"
    first_child = next(decisions)
    assert (first_child.record_id, first_child.kind) == ("C0", "stage")
    assert len(read) < 10  # decided while streaming, not after reading all 1,001 customers


def test_a_child_of_a_refused_root_is_blocked_and_names_it():
    rows = [_row("R1", None, name=""), _row("C1", "R1"), _row("G1", "C1", "R1")]
    decisions = {d.record_id: d for d in _validator().customers(rows)}
    assert decisions["R1"].kind == "reject"
    assert decisions["C1"].kind == "reject"
    assert decisions["C1"].problems[0].reason_code == "parent_rejected"
    assert decisions["C1"].problems[0].blocked_by == "customers/R1"
    assert decisions["G1"].problems[0].reason_code == "parent_rejected"


def test_a_query_that_does_not_list_roots_first_is_refused_clearly():
    rows = [_row("C1", "R1"), _row("R1", None)]
    with pytest.raises(ValueError, match="root customers"):
        list(_validator().customers(rows))
