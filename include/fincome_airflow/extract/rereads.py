"""Which pending refusals an intraday sync reads again.

A monthly run reads every pending record again: it closes the month. A sync that did the same
every hour would spend its time on the ERP's old defects (at 200,000 invoices, 24,530 pending
refusals and the records they reference made an unchanged ERP's sync take 9.6 s). A refusal is
decided by the record's own row and by the records it refers to, so a sync reads a pending
refusal again only when one of them can have changed it:

* its row changed since the watermark: the queries read it as a change anyway;
* a record it refers to (the refused parent that blocks it, the missing record it names, the
  contract an invoice disagrees with) changed in the ERP since the watermark, is read again by
  this sync (its refusal may change, and its children's with it), or was confirmed by Fincome
  after the refusal;
* the day it may pass on has come (an invoice dated in the future).

Refusals that depend on anything else (the rest of the load: duplicates, cycles), failed sends
and rows older than this rule stay ``always``: every sync reads them, as before. The queries
read the parents of every pending record they are given, so a record read again is decided
against its parents' current refusal, as in a monthly run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from sqlalchemy.engine import Connection

from fincome_airflow.contract import RESOURCES, Resource
from fincome_airflow.extract.queries import stream_rows
from fincome_airflow.reasons import CLOCK, ROW_REASONS, Problem
from fincome_airflow.state.pending import (
    ALWAYS,
    REREAD_ON_CHANGE,
    PendingRecord,
    Watch,
    confirmation_times,
    pending_candidates,
)
from fincome_airflow.state.store import StateStore

#: The resources whose changes a sync can list before its queries, each by the query
#: ``changed_<resource>.sql`` (a refusal referring to another resource stays ``always``).
WATCHED: Final[tuple[Resource, ...]] = ("customers", "subscriptions")


def watch_of(problems: Sequence[Problem]) -> Watch:
    """When a record refused for ``problems`` must be read again by an intraday sync."""
    refs: dict[str, None] = {}
    for p in problems:
        if p.refers_to is not None and p.refers_to.partition("/")[0] in (*WATCHED, CLOCK):
            refs[p.refers_to] = None
        elif p.reason_code not in ROW_REASONS:
            return ALWAYS
    return Watch(REREAD_ON_CHANGE, tuple(refs)) if problems else ALWAYS


def changed_refs(conn: Connection, changed_since: dt.datetime) -> set[str]:
    """The watched records (``resource/id``) changed in the ERP after ``changed_since``."""
    return {
        f"{resource}/{row.record_id}"
        for resource in WATCHED
        for row in stream_rows(conn, f"changed_{resource}", {"watermark": changed_since})
    }


def choose_rereads(
    pending: Mapping[Resource, Sequence[PendingRecord]],
    changed: Iterable[str],
    confirmed_at: Mapping[str, dt.datetime],
    limit: int,
    today: dt.date,
) -> dict[Resource, frozenset[str]]:
    """The pending records to read again, per resource: at most ``limit``, oldest first.

    Parents before children (the order of :data:`RESOURCES`): a record read again counts as
    changed for the records it blocks, also within a resource (a customer hierarchy).
    """
    touched = set(changed)
    out: dict[Resource, frozenset[str]] = {}
    for resource in RESOURCES:
        due: dict[str, PendingRecord] = {}
        waiting = list(pending.get(resource, ()))
        while True:
            found = [r for r in waiting if _due(r, touched, confirmed_at, today)]
            if not found:
                break
            for record in found:
                due[record.record_id] = record
                touched.add(f"{resource}/{record.record_id}")
            waiting = [r for r in waiting if r.record_id not in due]
        first = sorted(due.values(), key=lambda r: (r.since_run_key, r.record_id))[:limit]
        out[resource] = frozenset(r.record_id for r in first)
    return out


def _due(
    record: PendingRecord,
    touched: set[str],
    confirmed_at: Mapping[str, dt.datetime],
    today: dt.date,
) -> bool:
    if record.reread != REREAD_ON_CHANGE:
        return True
    for ref in record.refs:
        kind, _, key = ref.partition("/")
        if ref in touched or (kind == CLOCK and key <= today.isoformat()):
            return True
        at = confirmed_at.get(ref)
        if at is not None and (record.refused_at is None or at >= record.refused_at):
            return True
    return False


def intraday_rereads(
    conn: Connection, store: StateStore, changed_since: dt.datetime, limit: int, today: dt.date
) -> dict[Resource, frozenset[str]]:
    """The pending records an intraday sync reads again (``conn``: the ERP, in the snapshot
    the extraction reads)."""
    pending = pending_candidates(store)
    refs = {
        ref
        for records in pending.values()
        for r in records
        for ref in r.refs
        if not ref.startswith(f"{CLOCK}/")
    }
    if not refs:
        return choose_rereads(pending, (), {}, limit, today)
    changed = changed_refs(conn, changed_since)
    return choose_rereads(pending, changed, confirmation_times(store, refs), limit, today)
