"""Staging of a run's validated records and rejects in the sync-state database.

Deciding is the validation's job; this module only writes what it is given, in batches, keyed
by the run: ``fincome_staged`` (the canonical JSON payload, i.e. sorted keys and normalized
amounts, which is what is sent, and its SHA-256), the refusals (:mod:`.rejects`),
``fincome_pending`` (records refused and not yet confirmed, re-extracted by later runs) and the
run's ``max_updated_at`` (the watermark candidate: the highest ``updated_at`` seen, at most the
``ceiling`` the extraction sets; made the watermark only when the run ends ``done``). A
retried task restages cleanly: ``StateStore.start_run`` clears the run first.

On PostgreSQL the batches are written behind the extraction, by one thread with its own
connection (:mod:`.write_behind`): the extraction no longer waits for each COPY and commit,
and :class:`StagingWriter`'s exit returns once every batch is committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.engine import Connection

from fincome_airflow.contract import RESOURCES, Resource
from fincome_airflow.engines import on_psycopg2
from fincome_airflow.extract.rereads import watch_of
from fincome_airflow.stage.hashing import canonical_with_hash, canonical_with_hash_of_plain
from fincome_airflow.stage.write_behind import WriteBehind
from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore, utcnow
from fincome_airflow.validation.decisions import Decision

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

#: Rows per insert batch (one transaction each).
BATCH: Final = 5000
#: Batches that may wait for the background writer (one more is being written): the
#: extraction goes on while PostgreSQL writes, and memory stays flat.
WRITE_BEHIND_DEPTH: Final = 2
#: Bytes handed to ``COPY`` per read of its buffer.
_COPY_READ_SIZE: Final = 1 << 20
#: Ids per ``IN`` list when reading the ledger or the pending table.
ID_CHUNK: Final = 900
#: The columns of ``fincome_rejects`` a person reads, in the order of :data:`CSV_COLUMNS`.
REJECT_COLUMNS: Final = (
    "resource",
    "record_id",
    "outcome",
    "reason_code",
    "field",
    "message",
    "blocked_by",
)
#: The header of a rejects CSV (``record_id`` is written ``id``).
CSV_COLUMNS: Final = ("resource", "id", *REJECT_COLUMNS[2:])
#: The columns of a ``fincome_staged`` row, in the order of the writer's tuples.
STAGED_COLUMNS: Final = (
    "run_key",
    "resource",
    "record_id",
    "action",
    "payload",
    "payload_hash",
    "currency",
    "net_amount",
)


def id_chunks(ids: Sequence[str], size: int = ID_CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def confirmed_ids(store: StateStore, resource: Resource, ids: Sequence[str]) -> set[str]:
    """The ``ids`` of ``resource`` that Fincome confirmed and that are not deleted there."""
    led = schema.ledger
    found: set[str] = set()
    if not ids:
        return found
    with store.begin() as conn:
        for part in id_chunks(list(ids)):
            found.update(
                conn.execute(
                    select(led.c.record_id).where(
                        led.c.resource == resource,
                        led.c.record_id.in_(part),
                        led.c.deleted.is_(False),
                    )
                ).scalars()
            )
    return found


def pending_ids(store: StateStore, limit: int) -> dict[Resource, frozenset[str]]:
    """The pending records per resource, oldest first, at most ``limit`` per resource."""
    pend = schema.pending
    out: dict[Resource, frozenset[str]] = {}
    with store.begin() as conn:
        for resource in RESOURCES:
            rows = conn.execute(
                select(pend.c.record_id)
                .where(pend.c.resource == resource)
                .order_by(pend.c.since_run_key, pend.c.record_id)
                .limit(limit)
            ).scalars()
            out[resource] = frozenset(rows)
    return out


class StagingWriter:
    """Buffers a run's decisions and writes them in batches (use as a context manager)."""

    def __init__(
        self,
        store: StateStore,
        run_key: str,
        *,
        pending: Mapping[Resource, frozenset[str]] | None = None,
        track_pending: bool = True,
        drop_skipped: bool = False,
    ) -> None:
        """:param pending: the pending records the run reads again.
        :param drop_skipped: a skipped record leaves the pending list even if not in
            ``pending`` (the intraday sync reads a changed record without knowing it pending).
        """
        self.store = store
        self.run_key = run_key
        self.pending = pending or {}
        self.track_pending = track_pending
        self.drop_skipped = drop_skipped
        #: The refusals' time: a watched record confirmed after it makes them due again.
        self.started = utcnow()
        #: ``fincome_staged`` rows as tuples of :data:`STAGED_COLUMNS`.
        self._staged: list[tuple[Any, ...]] = []
        self._rejects: list[dict[str, Any]] = []
        self._pending_add: list[dict[str, Any]] = []
        self._pending_drop: list[tuple[str, str]] = []
        self.max_updated_at: dt.datetime | None = None
        #: No watermark above this (the horizon of changes still uncommitted), if known.
        self.ceiling: dt.datetime | None = None
        #: The background writer of the batches (PostgreSQL), while the context is open.
        self.behind: WriteBehind[Connection, _Batch] | None = None
        #: Whether the batches' staged rows are made COPY's text before they are handed.
        self._copy_ahead = False

    def __enter__(self) -> StagingWriter:
        self.store.ensure_schema()
        # SQLite stays synchronous: its writes are this process's own work (no server to wait
        # for; in WAL mode with synchronous=NORMAL a commit does not even wait for the disk),
        # and an in-memory SQLite database is one per connection, which a writer thread of its
        # own would not see.
        if self.store.engine.dialect.name == "postgresql":
            self.behind = WriteBehind(
                self.store.engine.connect,
                self._write_batch,
                name=f"staging writer of run {self.run_key}",
                depth=WRITE_BEHIND_DEPTH,
            )
            self._copy_ahead = on_psycopg2(self.store.engine.dialect)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        """Write what is left and return once every batch is committed; after an exception,
        stop the writer without writing more (the run restages from scratch when retried)."""
        behind, self.behind = self.behind, None
        if exc_type is not None:
            if behind is not None:
                behind.abort()
            return
        try:
            self._hand(self._take(last=True), behind)
        except BaseException:
            if behind is not None:
                behind.abort()
            raise
        if behind is not None:
            behind.close()
            log.info(
                "Run %s: %d batches written behind the extraction, which waited %.1f s for them",
                self.run_key,
                behind.written,
                behind.waited,
            )

    def add(self, d: Decision) -> None:
        """Record one decision (skips only move the watermark and leave the pending list)."""
        self._see(d.updated_at)
        if d.kind == "stage":
            assert d.payload is not None
            hashed = canonical_with_hash_of_plain if d.plain else canonical_with_hash
            canonical, digest = hashed(d.payload)
            self._staged.append(
                (
                    self.run_key,
                    d.resource,
                    d.record_id,
                    "upsert",
                    canonical,
                    digest,
                    d.currency,
                    d.net_amount,
                )
            )
        elif d.kind == "delete":
            self._staged.append(
                (self.run_key, d.resource, d.record_id, "delete", None, None, None, None)
            )
        elif d.kind == "reject":
            for seq, p in enumerate(d.problems):
                self._rejects.append(
                    {
                        "run_key": self.run_key,
                        "resource": d.resource,
                        "record_id": d.record_id,
                        "seq": seq,
                        "outcome": p.outcome,
                        "reason_code": p.reason_code,
                        "field": p.field,
                        "message": p.message,
                        "blocked_by": p.blocked_by,
                    }
                )
            if self.track_pending:
                self._pending_add.append(
                    {
                        "resource": d.resource,
                        "record_id": d.record_id,
                        **watch_of(d.problems).columns(self.run_key, self.started),
                    }
                )
        elif self.track_pending and (
            self.drop_skipped or d.record_id in self.pending.get(d.resource, ())
        ):
            # skipped (DRAFT, or CANCELLED and never sent): never to be sent, so not pending
            self._pending_drop.append((d.resource, d.record_id))
        if len(self._staged) + len(self._rejects) >= BATCH:
            self.flush()

    def drop_pending(self, resource: Resource, ids: Iterable[str]) -> None:
        """Forget pending records (e.g. gone from the ERP)."""
        if self.track_pending:
            self._pending_drop.extend((resource, i) for i in ids)

    @property
    def watermark_candidate(self) -> dt.datetime | None:
        """The highest ``updated_at`` seen, capped at the ``ceiling``."""
        if self.max_updated_at is None or self.ceiling is None:
            return self.max_updated_at
        return min(self.max_updated_at, self.ceiling)

    def _see(self, updated_at: Any) -> None:
        if type(updated_at) is not dt.datetime or updated_at.tzinfo is not None:
            updated_at = naive_timestamp(updated_at)  # anything but a naive datetime (rare)
        if updated_at is not None and (
            self.max_updated_at is None or updated_at > self.max_updated_at
        ):
            self.max_updated_at = updated_at

    def flush(self) -> None:
        """Write the buffered rows in one transaction: handed to the background writer on
        PostgreSQL (committed by the context's exit at the latest), else written now.

        :raise WriteBehindError: the background writer failed (the cause is its failure).
        """
        self._hand(self._take(last=False), self.behind)

    def _take(self, *, last: bool) -> _Batch:
        """The buffered rows as a batch, the buffers emptied.

        The background writer gets the staged rows as COPY's text, made here: in the writer's
        thread, this Python work would take turns with the extraction's for the GIL, each turn
        a wait, and the writer would fall behind (measured: the extraction waited for it two
        to four times longer).
        """
        batch = _Batch(
            _copy_lines(self._staged) if self._copy_ahead else self._staged,
            self._rejects,
            self._pending_add,
            self._pending_drop,
            self.watermark_candidate,
            last,
        )
        self._staged, self._rejects, self._pending_add, self._pending_drop = [], [], [], []
        return batch

    def _hand(self, batch: _Batch, behind: WriteBehind[Connection, _Batch] | None) -> None:
        if behind is not None:
            behind.put(batch)
            return
        with self.store.begin() as conn:
            self._write(conn, batch)

    def _write_batch(self, conn: Connection, batch: _Batch) -> None:
        """The background writer's transaction of one batch (on its own connection)."""
        with conn.begin():
            if not batch.last:
                # Durable at the exit all the same: the last batch commits synchronously, and a
                # synchronous commit waits for the WAL up to its own commit record, which holds
                # every earlier commit. A server crash before then fails the writer's next batch
                # (it keeps one connection, so nothing commits after a lost commit) and leaves
                # the run "extracting", which its retry restages from scratch
                # (``StateStore.start_run``).
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            self._write(conn, batch)

    def _write(self, conn: Connection, batch: _Batch) -> None:
        """Write ``batch`` in the transaction of ``conn``."""
        if batch.staged:
            _bulk_insert(conn, schema.staged, STAGED_COLUMNS, batch.staged)
        self.store.record_rejects(conn, batch.rejects)
        self.store.mark_pending(conn, batch.pending_add)
        for resource, ids in _group(batch.pending_drop).items():
            for part in id_chunks(ids):
                conn.execute(
                    delete(schema.pending).where(
                        schema.pending.c.resource == resource,
                        schema.pending.c.record_id.in_(part),
                    )
                )
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_key == self.run_key)
            .values(max_updated_at=batch.watermark)
        )


@dataclass(slots=True)
class _Batch:
    """One write transaction's rows (see :class:`StagingWriter`'s buffers)."""

    #: Tuples of :data:`STAGED_COLUMNS`, or these rows in COPY's text format already.
    staged: list[tuple[Any, ...]] | str
    rejects: list[dict[str, Any]]
    pending_add: list[dict[str, Any]]
    pending_drop: list[tuple[str, str]]
    #: The run's watermark candidate when the batch was taken.
    watermark: dt.datetime | None
    #: The run's last batch: committed synchronously (see ``StagingWriter._write_batch``).
    last: bool


def _bulk_insert(
    conn: Connection, table: Any, cols: Sequence[str], rows: list[tuple[Any, ...]] | str
) -> None:
    """Rows (tuples of ``cols``) by ``COPY`` on PostgreSQL with psycopg2 (several times
    faster), else executemany; on PostgreSQL ``rows`` may be COPY's text already (made by
    :meth:`StagingWriter._take` before a batch is written behind)."""
    if not on_psycopg2(conn.dialect):
        assert not isinstance(rows, str)
        conn.execute(insert(table), [dict(zip(cols, row, strict=True)) for row in rows])
        return
    from psycopg2.extensions import encodings

    raw = conn.connection.dbapi_connection
    # bytes in the connection's encoding, read in large pieces: psycopg2 reads a text file 8 kB
    # at a time and encodes each piece (0.3 s less CPU per 100,000 invoices)
    codec = encodings[raw.encoding]
    buf = io.BytesIO((rows if isinstance(rows, str) else _copy_lines(rows)).encode(codec))
    with raw.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table.name} ({', '.join(cols)}) FROM STDIN", buf, size=_COPY_READ_SIZE
        )


def _copy_lines(rows: Iterable[Sequence[Any]]) -> str:
    """Rows in COPY's text format."""
    return "".join([_copy_line(row) for row in rows])


def _copy_line(values: Sequence[Any]) -> str:
    """One row in COPY's text format: the values joined as they are when none needs escaping
    (the common case, checked once on the line: its only backslashes are its NULLs' and its only
    tabs the separators), else value by value (:func:`_copy_text`)."""
    line = "\t".join(["\\N" if v is None else v if type(v) is str else str(v) for v in values])
    if (
        line.count("\\") != values.count(None)
        or line.count("\t") != len(values) - 1
        or "\n" in line
        or "\r" in line
    ):
        line = "\t".join([_copy_text(v) for v in values])
    return line + "\n"


def _copy_text(value: Any) -> str:
    """A value in COPY's text format (``\\N`` is NULL)."""
    if value is None:
        return "\\N"
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for resource, record_id in pairs:
        out.setdefault(resource, []).append(record_id)
    return out


def rejects_query() -> Select:
    """The refused records' CSV columns, in file order; add ``where`` clauses to narrow it."""
    rej = schema.rejects
    return select(*(rej.c[column] for column in REJECT_COLUMNS)).order_by(
        rej.c.resource, rej.c.record_id, rej.c.seq
    )


def write_rejects_csv(store: StateStore, run_key: str, path: ObjectStoragePath | Path) -> int:
    """Write the run's rejects to a CSV a finance person opens in a spreadsheet; return rows.

    :param path: a local path or any ObjectStoragePath (the file is uploaded when it closes).
    """
    query = rejects_query().where(schema.rejects.c.run_key == run_key)
    count = 0
    with store.begin() as conn, path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for row in conn.execute(query):
            writer.writerow(["" if v is None else v for v in row])
            count += 1
    log.info("Wrote %d rejects of run %s to %s", count, run_key, path)
    return count


def naive_timestamp(value: Any) -> dt.datetime | None:
    """An ERP ``updated_at`` as a naive datetime (``None`` when missing or unreadable)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=None) if value.tzinfo is not None else value
