"""The pending list as the intraday sync reads it: each refusal with what can change it.

``fincome_pending`` holds the records refused or failed and not yet confirmed. Each row says
when it must be read again (``reread``, ``watch``, ``refused_at``: see ``schema.pending``);
the choice is :mod:`fincome_airflow.extract.rereads`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import or_, select

from fincome_airflow.contract import RESOURCES, Resource
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore, utcnow

#: Read again at every run (failed sends; refusals that depend on more than named records).
REREAD_ALWAYS: Final = "always"
#: Read again when the row or a watched record changed, or a watched record was confirmed.
REREAD_ON_CHANGE: Final = "on_change"
#: References per ``IN`` list when reading the ledger.
REF_CHUNK: Final = 900


@dataclass(frozen=True, slots=True)
class Watch:
    """When a refused record must be read again: always, or on a change of its row or refs."""

    reread: str = REREAD_ALWAYS
    #: The records (``resource/id``) whose change or confirmation can change the refusal, or
    #: the day it may pass on (``clock/YYYY-MM-DD``).
    refs: tuple[str, ...] = ()

    def columns(self, run_key: str, refused_at: dt.datetime) -> dict[str, Any]:
        """The ``fincome_pending`` columns of a record refused by ``run_key``."""
        return {
            "since_run_key": run_key,
            "reread": self.reread,
            "watch": " ".join(self.refs) or None,
            "refused_at": refused_at,
        }


ALWAYS: Final = Watch()


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """A pending record that may be due for reading again (``extract/rereads.py`` decides)."""

    record_id: str
    since_run_key: str
    reread: str
    refs: tuple[str, ...]
    refused_at: dt.datetime | None


def failed_rows(resource: Resource, ids: Iterable[str], run_key: str) -> list[dict[str, Any]]:
    """The pending rows of records whose send failed or Fincome refused: read again by every
    run (see ``StateStore.mark_pending``)."""
    now = utcnow()
    return [{"resource": resource, "record_id": r, **ALWAYS.columns(run_key, now)} for r in ids]


def pending_candidates(store: StateStore) -> dict[Resource, list[PendingRecord]]:
    """The pending records that some change could make due: every ``always`` one and every
    ``on_change`` one that watches other records (one refused for its own row alone is due
    only when its row changes, which the queries read anyway)."""
    pend = schema.pending
    out: dict[Resource, list[PendingRecord]] = {r: [] for r in RESOURCES}
    with store.begin() as conn:
        rows = conn.execute(
            select(
                pend.c.resource,
                pend.c.record_id,
                pend.c.since_run_key,
                pend.c.reread,
                pend.c.watch,
                pend.c.refused_at,
            ).where(or_(pend.c.reread != REREAD_ON_CHANGE, pend.c.watch.is_not(None)))
        )
        for row in rows:
            if row.resource in out:
                out[row.resource].append(
                    PendingRecord(
                        row.record_id,
                        row.since_run_key,
                        row.reread,
                        tuple((row.watch or "").split()),
                        as_utc(row.refused_at),
                    )
                )
    return out


def confirmation_times(store: StateStore, refs: Iterable[str]) -> dict[str, dt.datetime]:
    """When Fincome last confirmed each of ``refs`` (``resource/id``; absent: never, or
    deleted there)."""
    by_resource: dict[str, list[str]] = {}
    for ref in sorted(set(refs)):
        resource, _, record_id = ref.partition("/")
        by_resource.setdefault(resource, []).append(record_id)
    led = schema.ledger
    out: dict[str, dt.datetime] = {}
    with store.begin() as conn:
        for resource, ids in by_resource.items():
            for i in range(0, len(ids), REF_CHUNK):
                rows = conn.execute(
                    select(led.c.record_id, led.c.confirmed_at).where(
                        led.c.resource == resource,
                        led.c.record_id.in_(ids[i : i + REF_CHUNK]),
                        led.c.deleted.is_(False),
                    )
                )
                for record_id, at in rows:
                    out[f"{resource}/{record_id}"] = as_utc(at)
    return out


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A state-database timestamp as an aware UTC datetime (SQLite returns them naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
