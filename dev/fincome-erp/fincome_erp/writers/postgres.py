"""Write rows into PostgreSQL by ``COPY ... FROM STDIN (FORMAT csv)``, chunk after chunk.

Rows become CSV lines at once; a full chunk goes to a sender thread that streams it with
psycopg2's ``copy_expert`` while the generator goes on (the server parses on the other core).
All chunks share one transaction. The queue is bounded, so memory stays flat.
"""

from __future__ import annotations

import io
import queue
import re
import threading
from types import TracebackType
from typing import Any

from sqlalchemy.engine import Engine

from fincome_erp.tables import COLUMNS, TABLES, Row, Table

#: Rows per COPY chunk.
DEFAULT_CHUNK_ROWS = 50_000
_QUEUE_CHUNKS = 4
_READ_SIZE = 1 << 20
_NEEDS_QUOTES = re.compile(r'[",\r\n\\]')
_DONE = None


def csv_field(value: str | int | None) -> str:
    """One CSV field: NULL is an unquoted empty field, ``''`` a quoted one.

    Values with quotes, commas, line breaks or backslashes (``\\.`` ends COPY data) are quoted.
    """
    if value is None:
        return ""
    if value.__class__ is int:
        return str(value)
    if value == "" or _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _generic_line(row: Row) -> str:
    return ",".join(map(csv_field, row))


def _invoice_line(r: Row) -> str:
    # ids, dates, statuses, codes and amounts: never quotes, commas or empty strings
    return (
        f"{r[0]},{r[1]},{'' if r[2] is None else r[2]},{r[3]},{'' if r[4] is None else r[4]},"
        f"{r[5]},{r[6]},{r[7]},{r[8]},{r[9]}"
    )


def _invoice_line_line(r: Row) -> str:
    # only the description is free text
    return (
        f"{r[0]},{r[1]},{csv_field(r[2])},{r[3]},{'' if r[4] is None else r[4]},"
        f"{'' if r[5] is None else r[5]},{r[6]},{r[7]}"
    )


#: CSV line of a row, per table: the hot tables skip quoting where values cannot need it.
_FORMATTERS = {
    "customers": _generic_line,
    "contracts": _generic_line,
    "invoices": _invoice_line,
    "invoice_lines": _invoice_line_line,
    "products": _generic_line,
    "plans": _generic_line,
    "credit_notes": _generic_line,
    "credit_note_lines": _generic_line,
}


class PostgresWriter:
    """Bulk COPY writer for the ``erp`` schema of a PostgreSQL engine."""

    def __init__(self, engine: Engine, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.engine = engine
        self.chunk_rows = chunk_rows
        self._buffers: dict[Table, list[str]] = {table: [] for table in TABLES}
        self._sql = {
            table: f"COPY erp.{table} ({', '.join(COLUMNS[table])}) FROM STDIN WITH (FORMAT csv)"
            for table in TABLES
        }
        self._queue: queue.Queue[tuple[Table, list[str]] | None] = queue.Queue(_QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._raw: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PostgresWriter:
        self._raw = self.engine.raw_connection()
        with self._raw.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        self._thread = threading.Thread(target=self._send, name="erp-copy", daemon=True)
        self._thread.start()
        return self

    def add(self, table: Table, row: Row) -> None:
        """Queue one row (in column order)."""
        buffer = self._buffers[table]
        buffer.append(_FORMATTERS[table](row))
        if len(buffer) >= self.chunk_rows:
            self._put(table, buffer)
            self._buffers[table] = []

    def _put(self, table: Table, lines: list[str]) -> None:
        while True:
            if self._error is not None:
                raise RuntimeError("COPY into the ERP failed") from self._error
            try:
                self._queue.put((table, lines), timeout=0.5)
                return
            except queue.Full:
                continue

    def _send(self) -> None:
        cursor = self._raw.cursor()
        try:
            while (item := self._queue.get()) is not _DONE:
                if self._error is None:
                    table, lines = item
                    lines.append("")
                    data = io.StringIO("\n".join(lines))
                    cursor.copy_expert(self._sql[table], data, size=_READ_SIZE)
        except BaseException as exc:
            self._error = exc
            while self._queue.get() is not _DONE:  # drain, so that the producer never blocks
                pass
        finally:
            cursor.close()

    def _finish_sending(self) -> None:
        self._queue.put(_DONE)
        if self._thread is not None:
            self._thread.join()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                for table, buffer in self._buffers.items():
                    if buffer:
                        self._put(table, buffer)
                self._finish_sending()
                if self._error is not None:
                    raise RuntimeError("COPY into the ERP failed") from self._error
                self._raw.commit()
            else:
                self._finish_sending()
                self._raw.rollback()
        except BaseException:
            self._raw.rollback()
            raise
        finally:
            self._raw.close()
