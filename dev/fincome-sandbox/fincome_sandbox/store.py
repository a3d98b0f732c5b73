"""The record store: dicts in memory, written through to SQLite when a path is given."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from fincome_airflow.contract import BILLING_RESOURCES, RESOURCES

Record = dict[str, Any]
TIMESTAMP_FIELDS = ("created_at", "updated_at")
#: Every resource served, in load order.
SERVED = RESOURCES
#: Reference fields looked up backwards: ``(resource, field)`` -> ids of the records holding
#: each value (the credit notes of an invoice, without scanning them all).
INDEXED = (("credit_notes", "invoice_id"),)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    resource TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (resource, id)
)
"""


def _without_timestamps(record: Record) -> Record:
    return {key: value for key, value in record.items() if key not in TIMESTAMP_FIELDS}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RecordStore:
    """Records per resource, keyed and ordered by id.

    Every record is the stored request body plus ``created_at`` and ``updated_at``. With a
    ``path`` every write goes to a SQLite file too, and the records are loaded from it at start.
    """

    def __init__(self, path: str | None = None) -> None:
        self._records: dict[str, dict[str, Record]] = {name: {} for name in SERVED}
        self._ids: dict[str, list[str]] = {name: [] for name in SERVED}
        self._index: dict[tuple[str, str], dict[str, set[str]]] = {key: {} for key in INDEXED}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            for resource, record_id, body in self._db.execute(
                "SELECT resource, id, body FROM records"
            ):
                if resource in self._records:
                    self._records[resource][record_id] = json.loads(body)
            for resource, records in self._records.items():
                self._ids[resource] = sorted(records)
                for record in records.values():
                    self._indexed(resource, record, add=True)

    def close(self) -> None:
        """Close the SQLite file, if any."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def get(self, resource: str, record_id: str) -> Record | None:
        """Return one record, or ``None``."""
        return self._records[resource].get(record_id)

    def referencing(self, resource: str, field: str, value: str) -> list[Record]:
        """Return the records of ``resource`` whose ``field`` is ``value`` (an indexed pair)."""
        ids = self._index[resource, field].get(value, ())
        return [self._records[resource][record_id] for record_id in sorted(ids)]

    def _indexed(self, resource: str, record: Record, *, add: bool) -> None:
        for indexed, field in INDEXED:
            if indexed == resource:
                ids = self._index[resource, field].setdefault(record[field], set())
                if add:
                    ids.add(record["id"])
                else:
                    ids.discard(record["id"])

    def upsert(self, resource: str, body: Record) -> tuple[Record, bool]:
        """Store ``body`` under its ``id``; return the stored record and whether it is new.

        Re-sending an unchanged body keeps ``updated_at``.
        """
        records = self._records[resource]
        record_id = body["id"]
        previous = records.get(record_id)
        if previous is None:
            now = _now()
            record = {**body, "created_at": now, "updated_at": now}
            bisect.insort(self._ids[resource], record_id)
        elif _without_timestamps(previous) == body:
            return previous, False
        else:
            record = {**body, "created_at": previous["created_at"], "updated_at": _now()}
            self._indexed(resource, previous, add=False)
        records[record_id] = record
        self._indexed(resource, record, add=True)
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO records (resource, id, body) VALUES (?, ?, ?)",
                (resource, record_id, json.dumps(record)),
            )
        return record, previous is None

    def delete(self, resource: str, record_id: str) -> bool:
        """Delete one record; return whether it existed."""
        previous = self._records[resource].pop(record_id, None)
        if previous is None:
            return False
        self._indexed(resource, previous, add=False)
        ids = self._ids[resource]
        del ids[bisect.bisect_left(ids, record_id)]
        if self._db is not None:
            self._db.execute(
                "DELETE FROM records WHERE resource = ? AND id = ?", (resource, record_id)
            )
        return True

    def page(
        self,
        resource: str,
        limit: int,
        starting_after: str | None = None,
        keep: Callable[[Record], bool] | None = None,
    ) -> tuple[list[Record], bool]:
        """Return up to ``limit`` records with an id after ``starting_after``, and ``has_more``."""
        ids = self._ids[resource]
        records = self._records[resource]
        start = 0 if starting_after is None else bisect.bisect_right(ids, starting_after)
        found: list[Record] = []
        for position in range(start, len(ids)):
            record = records[ids[position]]
            if keep is None or keep(record):
                if len(found) == limit:
                    return found, True
                found.append(record)
        return found, False

    def dump(self) -> dict[str, dict[str, Record]]:
        """Return every record, per resource, keyed and ordered by id.

        The load's resources are always there; the billing model's only when they hold records
        (a dump of a sandbox the load alone wrote stays as it was before they existed).
        """
        return {
            resource: {record_id: self._records[resource][record_id] for record_id in ids}
            for resource, ids in self._ids.items()
            if ids or resource not in BILLING_RESOURCES
        }

    def clear(self) -> None:
        """Delete every record (in the SQLite file too)."""
        for resource in SERVED:
            self._records[resource].clear()
            self._ids[resource].clear()
        for index in self._index.values():
            index.clear()
        if self._db is not None:
            self._db.execute("DELETE FROM records")
