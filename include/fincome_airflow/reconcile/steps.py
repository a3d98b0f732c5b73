"""The comparison of one resource: a dated one (invoices, credit notes) for the whole month, a
referenced one (customers, subscriptions, plans, products) for the records the month names.

Each passes its differences to ``add`` and notes the ids its records reference in ``wanted``
(``reconcile.references``), for the resources compared after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fincome_airflow import contract
from fincome_airflow.month import BillingMonth
from fincome_airflow.reconcile.compare import CurrencyTotals, Difference, compare_pair
from fincome_airflow.reconcile.expected import (
    month_filter,
    month_records,
    refused,
    staged_payloads,
)
from fincome_airflow.reconcile.late import Reader, compare_late, sent_ids, sent_outside
from fincome_airflow.reconcile.merge import merge_by_id
from fincome_airflow.reconcile.references import References, note_references, self_references
from fincome_airflow.state.store import StateStore

Add = Callable[[Difference | None], None]


def compare_dated(
    hook: Reader,
    store: StateStore,
    run_key: str,
    month: BillingMonth,
    resource: contract.ApiResource,
    add: Add,
    wanted: References,
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Compare the month's records of ``resource`` (a merge of the run's staged records and
    Fincome's list of the month, both ordered by id), then those the run sent to other months.

    :return: the month's totals per currency (``CurrencyTotals.result``) and the other months
        whose records the run sent, oldest first.
    """
    refused_here = refused(store, run_key, resource)
    reported: set[str] = set()
    totals = CurrencyTotals()
    expected = month_records(store, run_key, resource, month)
    for record_id, want, have in merge_by_id(expected, hook.list(resource, **month_filter(month))):
        if want is not None:
            note_references(resource, want, wanted)
        totals.add(want, have)
        diff = compare_pair(resource, record_id, want, have, refused_here.get(record_id))
        if diff is not None and diff.kind == "refused":
            reported.add(record_id)
        add(diff)
    for record_id, reason in refused_here.items():
        if record_id not in reported:
            add(compare_pair(resource, record_id, None, None, reason))
    late = sent_outside(store, run_key, month, resource)
    other_months = compare_late(hook, store, run_key, late, month, add)
    for target, ids in late.references.items():
        wanted.setdefault(target, set()).update(ids)
    return totals.result(), other_months


def compare_referenced(
    hook: Reader,
    store: StateStore,
    run_key: str,
    resource: contract.ApiResource,
    add: Add,
    wanted: References,
) -> None:
    """Compare the records of ``resource`` that the records compared before name, that the run
    sent, and their parents (self-references, level by level); Fincome's others belong to other
    months and are not differences."""
    ids = wanted.get(resource, set()) | sent_ids(store, run_key, resource)
    expected = _staged(store, run_key, resource, ids)
    found = expected
    parent_fields = self_references(resource)
    while parents := _named(found.values(), parent_fields) - expected.keys():
        found = _staged(store, run_key, resource, parents)
        if not found:
            break
        expected.update(found)
    ids |= expected.keys()
    for payload in expected.values():
        note_references(resource, payload, wanted)
    refused_here = refused(store, run_key, resource)
    actual = {r["id"]: r for r in hook.list(resource) if r["id"] in ids}
    for record_id in sorted(ids):
        add(
            compare_pair(
                resource,
                record_id,
                expected.get(record_id),
                actual.get(record_id),
                refused_here.get(record_id),
                report_extra=False,
            )
        )


def _staged(
    store: StateStore, run_key: str, resource: str, ids: set[str]
) -> dict[str, dict[str, Any]]:
    return {rid: p for rid, p in staged_payloads(store, run_key, resource) if rid in ids}


def _named(payloads: Iterable[Mapping[str, Any]], fields: tuple[str, ...]) -> set[str]:
    """The ids that ``payloads`` name in ``fields``."""
    return {p[f] for p in payloads for f in fields if p.get(f)}
