"""Write rows into a SQLite ERP (attached as ``erp``) by batched ``executemany``."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy.engine import Engine

from fincome_erp.ddl import table_name
from fincome_erp.tables import COLUMNS, TABLES, Row, Table

DEFAULT_BATCH_ROWS = 5_000
# table and column names are constants of this package; values are bound
_INSERT = "INSERT INTO {table} ({columns}) VALUES ({marks})"


class SqliteWriter:
    """Batched-insert writer for an engine from :func:`fincome_airflow.engines.erp_engine`."""

    #: The driver's placeholder.
    mark = "?"

    def __init__(self, engine: Engine, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.engine = engine
        self.batch_rows = batch_rows
        self._buffers: dict[Table, list[Row]] = {table: [] for table in TABLES}
        self._sql = {
            table: _INSERT.format(
                table=table_name(engine, table),
                columns=", ".join(COLUMNS[table]),
                marks=", ".join(self.mark for _ in COLUMNS[table]),
            )
            for table in TABLES
        }
        self._raw: Any = None

    def __enter__(self) -> Self:
        self._raw = self.engine.raw_connection()
        return self

    def add(self, table: Table, row: Row) -> None:
        """Queue one row (in column order); a full batch is inserted at once."""
        buffer = self._buffers[table]
        buffer.append(row)
        if len(buffer) >= self.batch_rows:
            self._flush(table)

    def _flush(self, table: Table) -> None:
        cursor = self._raw.cursor()
        try:
            cursor.executemany(self._sql[table], self._buffers[table])
        finally:
            cursor.close()
        self._buffers[table] = []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                for table in TABLES:
                    if self._buffers[table]:
                        self._flush(table)
                self._raw.commit()
            else:
                self._raw.rollback()
        finally:
            self._raw.close()
