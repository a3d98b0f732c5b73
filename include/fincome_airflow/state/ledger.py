"""The send side of the state database: what to send, and what Fincome confirmed.

* :meth:`Ledger.iter_to_send` anti-joins the records staged for a run against the ledger, so
  that only new or changed payloads go out, and reads them in keyset pages (short read
  transactions, a million rows never in memory, any worker can run it).
* :class:`OutcomeWriter` records each outcome in ``fincome_outcomes`` and each confirmation in
  ``fincome_ledger`` in small batches as they happen, so that a crashed or retried task never
  resends what Fincome already confirmed.
* Refused or failed records go to ``fincome_pending`` (extracted again by later runs) and leave
  it once confirmed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, and_, case, cast, delete, func, or_, select
from sqlalchemy.sql import ColumnElement, Select

from fincome_airflow.state import schema
from fincome_airflow.state.pending import failed_rows
from fincome_airflow.state.store import StateStore, utcnow
from fincome_airflow.state.upsert import upsert

if TYPE_CHECKING:
    from fincome_airflow.hooks.send_result import SendResult

UPSERT = "upsert"
DELETE = "delete"

#: Records of these resources are chunked by the field naming their hierarchy's root, so that
#: a chunk holds whole trees (its parents sent before its children, within the chunk).
TREE_FIELDS = {"customers": "root_parent_id"}


@dataclass(frozen=True, slots=True)
class KeyRange:
    """The records of one chunk: chunk keys after ``after`` (exclusive) up to ``upto``
    (inclusive); ``None`` leaves that side open."""

    after: str | None = None
    upto: str | None = None


@dataclass(frozen=True, slots=True)
class StagedRecord:
    record_id: str
    payload: str | None
    payload_hash: str | None


class Ledger:
    """The staged records of one run and one resource, seen against the ledger."""

    def __init__(
        self, store: StateStore, run_key: str, resource: str, chunk: KeyRange | None = None
    ) -> None:
        self.store = store
        self.run_key = run_key
        self.resource = resource
        self.chunk = chunk

    # -- reads --------------------------------------------------------------------------------

    def chunk_key(self, action: str = UPSERT) -> ColumnElement[Any]:
        """What chunks are cut on: the id, or for upserts of a resource with a hierarchy the
        root's id (the record's own id when it has no parent)."""
        s = schema.staged
        field = TREE_FIELDS.get(self.resource)
        if field is None or action != UPSERT:
            return s.c.record_id
        if self.store.engine.dialect.name == "postgresql":
            parent = func.json_extract_path_text(cast(s.c.payload, JSON), field)
        else:
            parent = func.json_extract(s.c.payload, f"$.{field}")
        return func.coalesce(parent, s.c.record_id)

    def _staged_joined(self, action: str) -> Select[Any]:
        s, led = schema.staged, schema.ledger
        joined = s.outerjoin(
            led, and_(led.c.resource == s.c.resource, led.c.record_id == s.c.record_id)
        )
        query = (
            select(s.c.record_id, s.c.payload, s.c.payload_hash)
            .select_from(joined)
            .where(s.c.run_key == self.run_key, s.c.resource == self.resource, s.c.action == action)
        )
        if self.chunk is not None:
            key = self.chunk_key(action)
            if self.chunk.after is not None:
                query = query.where(key > self.chunk.after)
            if self.chunk.upto is not None:
                query = query.where(key <= self.chunk.upto)
        return query

    def iter_chunk_keys(self, *, full_resync: bool = False, action: str = UPSERT) -> Iterator[Any]:
        """``(key, records)`` of what this ledger would send (upserts) or delete, by key order,
        streamed: what a planner cuts chunks from."""
        query = self._to_send(full_resync) if action == UPSERT else self._to_delete()
        key = self.chunk_key(action).label("key")
        grouped = query.with_only_columns(key, func.count()).group_by(key).order_by(key)
        with self.store.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=10_000).execute(grouped)
            yield from result

    def iter_parents(self, *, full_resync: bool = False) -> Iterator[tuple[str, str]]:
        """``(record_id, parent id)`` of the records to send that name a parent (same resource)."""
        s = schema.staged
        key = self.chunk_key()
        query = self._to_send(full_resync).with_only_columns(s.c.record_id, key)
        with self.store.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
                query.where(key != s.c.record_id)
            )
            yield from ((row[0], row[1]) for row in result)

    def _to_send(self, full_resync: bool) -> Select[Any]:
        s, led = schema.staged, schema.ledger
        differs = or_(
            led.c.record_id.is_(None),
            led.c.deleted.is_(True),
            led.c.payload_hash.is_distinct_from(s.c.payload_hash),
        )
        if full_resync:
            # Everything, except what this very run already had confirmed (a task retry).
            differs = or_(differs, led.c.run_key.is_distinct_from(self.run_key))
        return self._staged_joined(UPSERT).where(differs)

    def _to_delete(self) -> Select[Any]:
        led = schema.ledger
        return self._staged_joined(DELETE).where(led.c.deleted.is_(False))

    def _count(self, query: Select[Any]) -> int:
        with self.store.begin() as conn:
            return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar())

    def _pages(self, query: Select[Any], page_size: int) -> Iterator[StagedRecord]:
        record_id = schema.staged.c.record_id
        last: str | None = None
        while True:
            page_query = query if last is None else query.where(record_id > last)
            with self.store.begin() as conn:
                rows = conn.execute(page_query.order_by(record_id).limit(page_size)).all()
            for row in rows:
                yield StagedRecord(row.record_id, row.payload, row.payload_hash)
            if len(rows) < page_size:
                return
            last = rows[-1].record_id

    def count_staged(self, action: str = UPSERT) -> int:
        return self._count(self._staged_joined(action))

    def count_to_send(self, *, full_resync: bool = False) -> int:
        return self._count(self._to_send(full_resync))

    def iter_to_send(
        self, *, full_resync: bool = False, page_size: int = 1000
    ) -> Iterator[StagedRecord]:
        """Staged upserts whose payload hash differs from the ledger, ordered by id."""
        return self._pages(self._to_send(full_resync), page_size)

    def count_to_delete(self) -> int:
        return self._count(self._to_delete())

    def iter_to_delete(self, *, page_size: int = 1000) -> Iterator[str]:
        """Ids staged for deletion that the ledger shows as sent and not yet deleted."""
        return (r.record_id for r in self._pages(self._to_delete(), page_size))

    def plan(self) -> dict[str, int]:
        """Dry-run counts of the staged upserts: would_create, would_update, unchanged."""
        s, led = schema.staged, schema.ledger
        new = or_(led.c.record_id.is_(None), led.c.deleted.is_(True))
        changed = led.c.payload_hash.is_distinct_from(s.c.payload_hash)
        kind = case((new, "would_create"), (changed, "would_update"), else_="unchanged")
        query = self._staged_joined(UPSERT).with_only_columns(kind.label("kind"), func.count())
        counts = {"would_create": 0, "would_update": 0, "unchanged": 0}
        with self.store.begin() as conn:
            for row in conn.execute(query.group_by(kind)):
                counts[row[0]] = int(row[1])
        return counts

    # -- writes -------------------------------------------------------------------------------

    def record(self, batch: Sequence[tuple[SendResult, str | None]]) -> None:
        """Write one batch of ``(outcome, payload_hash)`` in a single transaction."""
        if not batch:
            return
        now = utcnow()
        outcome_rows, ledger_rows, refused, confirmed = [], [], [], []
        for outcome, payload_hash in batch:
            outcome_rows.append(
                {
                    "run_key": self.run_key,
                    "resource": self.resource,
                    "record_id": outcome.record_id,
                    "outcome": outcome.kind,
                    "http_status": outcome.http_status,
                    "reason": outcome.reason,
                    "at": now,
                }
            )
            if outcome.kind in ("created", "updated", "deleted", "absent"):
                gone = outcome.kind in ("deleted", "absent")
                ledger_rows.append(
                    {
                        "resource": self.resource,
                        "record_id": outcome.record_id,
                        "payload_hash": None if gone else payload_hash,
                        "deleted": gone,
                        "run_key": self.run_key,
                        "confirmed_at": now,
                    }
                )
                confirmed.append(outcome.record_id)
            else:
                refused.append(outcome.record_id)
        with self.store.begin() as conn:
            upsert(conn, schema.outcomes, outcome_rows, ["run_key", "resource", "record_id"])
            upsert(conn, schema.ledger, ledger_rows, ["resource", "record_id"])
            pending = schema.pending
            if confirmed:
                conn.execute(
                    delete(pending).where(
                        pending.c.resource == self.resource, pending.c.record_id.in_(confirmed)
                    )
                )
            self.store.mark_pending(conn, failed_rows(self.resource, refused, self.run_key))

    def writer(self, batch_size: int = 200, max_age: float = 1.0) -> OutcomeWriter:
        return OutcomeWriter(self, batch_size=batch_size, max_age=max_age)


class OutcomeWriter:
    """Buffer outcomes and write them every ``batch_size`` records or ``max_age`` seconds (a
    confirmation is durable within about a second, so a SIGKILL resends little).

    Used as a context manager: what is buffered is written on exit, also when a
    :class:`~fincome_airflow.exceptions.FincomeConfigError` stops the load half-way.
    """

    def __init__(self, ledger: Ledger, *, batch_size: int = 200, max_age: float = 1.0) -> None:
        self.ledger = ledger
        self.batch_size = batch_size
        self.max_age = max_age
        self._batch: list[tuple[SendResult, str | None]] = []
        self._since = time.monotonic()
        self.written = 0

    def add(self, outcome: SendResult, payload_hash: str | None = None) -> None:
        self._batch.append((outcome, payload_hash))
        if len(self._batch) >= self.batch_size or time.monotonic() - self._since >= self.max_age:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            self.ledger.record(self._batch)
            self.written += len(self._batch)
            self._batch = []
        self._since = time.monotonic()

    def __enter__(self) -> OutcomeWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.flush()
