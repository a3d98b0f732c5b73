"""When the intraday sync reads a pending refusal again (``extract/rereads.py``)."""

from __future__ import annotations

import datetime as dt

from fincome_airflow.contract import RESOURCES
from fincome_airflow.extract.rereads import choose_rereads, watch_of
from fincome_airflow.reasons import blocked, problem
from fincome_airflow.state.pending import REREAD_ALWAYS, REREAD_ON_CHANGE, PendingRecord

REFUSED_AT = dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)
TODAY = REFUSED_AT.date()


def record(record_id: str, *refs: str, since: str = "run-1", always: bool = False):
    reread = REREAD_ALWAYS if always else REREAD_ON_CHANGE
    return PendingRecord(record_id, since, reread, refs, REFUSED_AT)


def test_a_refusal_for_its_own_row_waits_for_the_row_to_change():
    watch = watch_of([problem("unknown_country", "country_code", "XX")])
    assert (watch.reread, watch.refs) == (REREAD_ON_CHANGE, ())


def test_a_blocked_or_orphan_record_watches_the_record_it_names():
    blocked_watch = watch_of([blocked("subscriptions", "K1", "contract_no")])
    orphan = problem("reference_not_found", "cust_no", "C9", refers_to="customers/C9")
    assert blocked_watch.refs == ("subscriptions/K1",)
    assert watch_of([orphan, problem("negative_amount", "total_net", -1)]).refs == ("customers/C9",)


def test_refusals_that_depend_on_the_rest_of_the_load_are_always_read_again():
    for code in ("duplicate_id", "parent_cycle", "issue_date_in_future", "currency_mismatch"):
        assert watch_of([problem(code, None, "x")]).reread == REREAD_ALWAYS, code  # no ref
    # a reference to a record whose changes the sync cannot list
    plan = problem("reference_not_found", "plan_code", "P", refers_to="plans/P")
    assert watch_of([plan]).reread == REREAD_ALWAYS
    assert watch_of([]).reread == REREAD_ALWAYS


def test_an_invoice_dated_in_the_future_is_read_again_once_its_day_has_come():
    future = problem("issue_date_in_future", "invoice_date", "x", refers_to="clock/2026-12-01")
    assert watch_of([future]).refs == ("clock/2026-12-01",)
    pending = {"invoices": [record("I1", "clock/2026-12-01"), record("I2", "clock/2026-11-30")]}
    chosen = choose_rereads(pending, changed=(), confirmed_at={}, limit=10, today=TODAY)
    assert chosen["invoices"] == {"I2"}


def test_nothing_is_read_again_when_no_watched_record_changed_or_was_confirmed():
    pending = {"subscriptions": [record("K1", "customers/C1")], "invoices": [record("I1")]}
    chosen = choose_rereads(
        pending, changed={"customers/C2"}, confirmed_at={}, limit=10, today=TODAY
    )
    assert chosen == dict.fromkeys(RESOURCES, frozenset())


def test_a_change_reaches_the_children_of_the_records_it_makes_due_down_to_the_invoices():
    pending = {
        "customers": [record("C2", "customers/C1"), record("C3", "customers/C2")],
        "subscriptions": [record("K3", "customers/C3"), record("K9", "customers/C9")],
        "invoices": [record("I3", "subscriptions/K3"), record("I9", "subscriptions/K9")],
    }
    chosen = choose_rereads(
        pending, changed={"customers/C1"}, confirmed_at={}, limit=10, today=TODAY
    )
    assert chosen == dict.fromkeys(RESOURCES, frozenset()) | {
        "customers": {"C2", "C3"},
        "subscriptions": {"K3"},
        "invoices": {"I3"},
    }


def test_a_watched_record_confirmed_after_the_refusal_makes_it_due_and_not_one_before():
    pending = {"invoices": [record("I1", "customers/C1"), record("I2", "customers/C2")]}
    confirmed = {
        "customers/C1": REFUSED_AT + dt.timedelta(minutes=5),
        "customers/C2": REFUSED_AT - dt.timedelta(minutes=5),
    }
    chosen = choose_rereads(pending, changed=(), confirmed_at=confirmed, limit=10, today=TODAY)
    assert chosen["invoices"] == {"I1"}


def test_always_records_are_due_and_the_oldest_go_first_within_the_limit():
    pending = {
        "invoices": [
            record("I3", since="run-3", always=True),
            record("I1", since="run-1", always=True),
            record("I2", "customers/C1", since="run-2"),
        ]
    }
    chosen = choose_rereads(
        pending, changed={"customers/C1"}, confirmed_at={}, limit=2, today=TODAY
    )
    assert chosen["invoices"] == {"I1", "I2"}
